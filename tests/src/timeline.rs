//! Our engine's timeline as the benchmarks read it: every mark the engine
//! records under `rtcstack::timeline` (see the engine's `timeline` module),
//! stamped on the monotonic clock the moment it happens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use tokio::sync::watch;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::stats::mono;

const TARGET: &str = "rtcstack::timeline";

/// One milestone: when (CLOCK_MONOTONIC seconds), which, of which session.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: f64,
    pub name: String,
    pub session: u64,
}

/// The marks recorded so far, and a way to wait for more.
#[derive(Clone)]
pub struct Timeline {
    marks: Arc<Mutex<Vec<Mark>>>,
    count: watch::Receiver<usize>,
}

struct Recorder {
    marks: Arc<Mutex<Vec<Mark>>>,
    count: watch::Sender<usize>,
}

#[derive(Default)]
struct Fields {
    name: Option<String>,
    session: Option<u64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "mark" {
            self.name = Some(value.to_string());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "session" {
            self.session = Some(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let at = mono();
        let mut f = Fields::default();
        event.record(&mut f);
        if let (Some(name), Some(session)) = (f.name, f.session) {
            let n = {
                let mut marks = self.marks.lock().expect("timeline lock");
                marks.push(Mark { at, name, session });
                marks.len()
            };
            self.count.send_replace(n);
        }
    }
}

impl Timeline {
    /// Installs the process's tracing subscriber: it listens to the
    /// timeline's target only, so the engine's other logging costs nothing.
    pub fn install() -> Result<Timeline> {
        let marks = Arc::new(Mutex::new(Vec::new()));
        let (tx, count) = watch::channel(0);
        let recorder = Recorder {
            marks: Arc::clone(&marks),
            count: tx,
        };
        let only = Targets::new().with_target(TARGET, Level::DEBUG);
        // RUST_LOG, when set, also prints what it selects (to look closer
        // at a slow step); unset, nothing else is even evaluated.
        let log = std::env::var("RUST_LOG").ok().map(|_| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        });
        tracing_subscriber::registry()
            .with(recorder.with_filter(only))
            .with(log)
            .try_init()?;
        Ok(Timeline { marks, count })
    }

    /// A position, to look at marks after it.
    pub fn position(&self) -> usize {
        self.marks.lock().expect("timeline lock").len()
    }

    /// The marks after `position`.
    pub fn since(&self, position: usize) -> Vec<Mark> {
        let marks = self.marks.lock().expect("timeline lock");
        marks.get(position..).unwrap_or_default().to_vec()
    }

    /// Waits for the first mark named `name` after `position`.
    pub async fn wait_for(&self, position: usize, name: &str, within: Duration) -> Result<Mark> {
        let mut count = self.count.clone();
        let found = tokio::time::timeout(within, async {
            loop {
                if let Some(m) = self.since(position).into_iter().find(|m| m.name == name) {
                    return Some(m);
                }
                if count.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match found {
            Ok(Some(m)) => Ok(m),
            Ok(None) => bail!("the timeline closed before {name}"),
            Err(_) => bail!(
                "no {name} on our engine's timeline within {within:?}; saw {:?}",
                self.since(position)
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
            ),
        }
    }
}
