//! A child process's JSON lines (the Python peer's, our `call` example's),
//! kept as a history that tests wait on with deadlines.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

/// One line a process printed.
#[derive(Debug, Clone)]
pub struct Line(pub Value);

impl Line {
    /// What the line reports: its `event` (the peer) or `type` (our CLI).
    pub fn kind(&self) -> &str {
        self.str("event").or_else(|| self.str("type")).unwrap_or("")
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(Value::as_str)
    }

    pub fn f64(&self, field: &str) -> Option<f64> {
        self.0.get(field).and_then(Value::as_f64)
    }

    pub fn bool(&self, field: &str) -> Option<bool> {
        self.0.get(field).and_then(Value::as_bool)
    }

    /// The peer saw a remote track become `muted` (or not): a mute change,
    /// or a track (re)published already in that state (after a rejoin).
    pub fn shows_muted(&self, muted: bool) -> bool {
        match self.kind() {
            "track_muted" => muted,
            "track_unmuted" => !muted,
            "track_published" | "track_subscribed" => self.bool("muted") == Some(muted),
            _ => false,
        }
    }

    /// An audio report of `from`, audible (above -40 dBFS).
    pub fn is_audible(&self, from: &str) -> bool {
        self.kind() == "audio"
            && self.str("identity") == Some(from)
            && self.level_db().is_some_and(|l| l > -40.0)
    }

    /// An audible report of `from` at `hz` ± `tolerance`.
    pub fn is_tone(&self, from: &str, hz: f64, tolerance: f64) -> bool {
        self.is_audible(from) && self.f64("hz").is_some_and(|h| (h - hz).abs() <= tolerance)
    }

    /// A report of `from` below -60 dBFS.
    pub fn is_silence(&self, from: &str) -> bool {
        self.kind() == "audio"
            && self.str("identity") == Some(from)
            && self.level_db().is_some_and(|l| l < -60.0)
    }

    fn level_db(&self) -> Option<f64> {
        self.f64("level_db").or_else(|| self.f64("levelDb"))
    }
}

#[derive(Default)]
struct History {
    lines: Vec<Line>,
    closed: bool,
}

/// Why a wait ended without a match.
#[derive(Debug)]
pub enum WaitError {
    /// The process closed its output first.
    Closed,
    TimedOut,
}

/// The lines read so far, and a way to wait for more.
#[derive(Clone)]
pub struct Lines {
    history: Arc<Mutex<History>>,
    changed: watch::Receiver<usize>,
}

impl Lines {
    /// Reads `output` line by line in the background.
    pub fn follow(output: impl AsyncRead + Unpin + Send + 'static) -> Self {
        let history = Arc::new(Mutex::new(History::default()));
        let (tx, changed) = watch::channel(0usize);
        let sink = Arc::clone(&history);
        tokio::spawn(async move {
            let mut lines = BufReader::new(output).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                // Anything that is not JSON (a stray print) is kept as text.
                let value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| serde_json::json!({"event": "text", "text": text}));
                let n = {
                    let mut h = sink.lock().expect("lines lock");
                    h.lines.push(Line(value));
                    h.lines.len()
                };
                tx.send_replace(n);
            }
            sink.lock().expect("lines lock").closed = true;
            // Wake every waiter so it sees the process is gone.
            tx.send_modify(|_| {});
        });
        Lines { history, changed }
    }

    /// A position in the history, to wait for lines after it.
    pub fn mark(&self) -> usize {
        self.history.lock().expect("lines lock").lines.len()
    }

    pub fn all(&self) -> Vec<Line> {
        self.history.lock().expect("lines lock").lines.clone()
    }

    /// The last `n` lines, one per line of text.
    pub fn last(&self, n: usize) -> String {
        let h = self.history.lock().expect("lines lock");
        h.lines[h.lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.0.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for a line matching `pred` at or after `mark`.
    pub async fn wait_after(
        &self,
        mark: usize,
        pred: impl Fn(&Line) -> bool,
        within: Duration,
    ) -> Result<Line, WaitError> {
        let deadline = Instant::now() + within;
        let mut changed = self.changed.clone();
        let mut from = mark;
        loop {
            changed.borrow_and_update();
            {
                let h = self.history.lock().expect("lines lock");
                if let Some(l) = h.lines.iter().skip(from).find(|l| pred(l)) {
                    return Ok(l.clone());
                }
                from = from.max(h.lines.len());
                if h.closed {
                    return Err(WaitError::Closed);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, changed.changed()).await.is_err() {
                return Err(WaitError::TimedOut);
            }
        }
    }

    /// Like [`wait_after`](Self::wait_after), with an error that says what
    /// was awaited from whom and what came last.
    pub async fn expect_after(
        &self,
        who: &str,
        mark: usize,
        what: &str,
        pred: impl Fn(&Line) -> bool,
        within: Duration,
    ) -> Result<Line> {
        match self.wait_after(mark, pred, within).await {
            Ok(l) => Ok(l),
            Err(WaitError::Closed) => bail!("{who} exited while waiting for {what}"),
            Err(WaitError::TimedOut) => bail!(
                "{who}: no {what} within {within:?}; last lines:\n{}",
                self.last(15)
            ),
        }
    }
}
