//! Our engine's debug lines, kept for one test and printed if it fails:
//! where a test sees only what came out (a peer's picture sizes), these
//! say which rule of ours acted (an uplink cut after loss, or after the
//! estimate). Lines are kept per thread: a `#[tokio::test]` runs its
//! engine's tasks on its own thread, so tests side by side in one process
//! keep apart.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// This thread's lines while a [`Kept`] lives.
struct Lines {
    since: Instant,
    /// The targets kept (each with its modules below).
    targets: Vec<String>,
    /// Each: seconds in, target, message.
    lines: Vec<String>,
}

thread_local! {
    static KEPT: RefCell<Option<Lines>> = const { RefCell::new(None) };
}

/// Whether `target` is `module` or one of its modules.
fn within(target: &str, module: &str) -> bool {
    target
        .strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

struct Keeper;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Keeper {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        KEPT.with(|kept| {
            let mut kept = kept.borrow_mut();
            let Some(kept) = kept.as_mut() else {
                return;
            };
            let target = event.metadata().target();
            if !kept.targets.iter().any(|t| within(target, t)) {
                return;
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            kept.lines.push(format!(
                "{:7.3} s {target}: {}",
                kept.since.elapsed().as_secs_f64(),
                message.0
            ));
        });
    }
}

/// This thread's engine lines of `targets` (each with its modules below)
/// from now on, printed to stderr if the thread panics (a test failing)
/// while this lives, or always with `RTCSTACK_ENGINE_LINES` set. The process's subscriber, installed by the first
/// caller, takes our crates' debug lines; each thread keeps its own
/// targets of them.
pub fn keep(targets: &[&str]) -> Kept {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let ours = Targets::new().with_target("rtcstack", tracing::Level::DEBUG);
        tracing_subscriber::registry()
            .with(Keeper.with_filter(ours))
            .try_init()
            .is_ok()
    });
    KEPT.with(|kept| {
        *kept.borrow_mut() = Some(Lines {
            since: Instant::now(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            lines: Vec::new(),
        })
    });
    Kept(())
}

/// See [`keep`].
pub struct Kept(());

impl Drop for Kept {
    fn drop(&mut self) {
        let Some(Lines { lines, .. }) = KEPT.with(|kept| kept.borrow_mut().take()) else {
            return;
        };
        // RTCSTACK_ENGINE_LINES=1 prints them for a test that passes too.
        if std::thread::panicking() || std::env::var_os("RTCSTACK_ENGINE_LINES").is_some() {
            eprintln!("our engine's lines ({}):", lines.len());
            for line in lines {
                eprintln!("  {line}");
            }
        }
    }
}
