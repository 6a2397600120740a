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

thread_local! {
    /// This thread's lines while a [`Kept`] lives: since when, and each
    /// (seconds in, target, message).
    static KEPT: RefCell<Option<(Instant, Vec<String>)>> = const { RefCell::new(None) };
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
            if let Some((since, lines)) = kept.borrow_mut().as_mut() {
                let mut message = Message(String::new());
                event.record(&mut message);
                lines.push(format!(
                    "{:7.3} s {}: {}",
                    since.elapsed().as_secs_f64(),
                    event.metadata().target(),
                    message.0
                ));
            }
        });
    }
}

/// This thread's engine lines of `targets` (each with its modules below)
/// from now on, printed to stderr if the thread panics (a test failing)
/// while this lives. The process's subscriber is installed by the first
/// caller; its targets stay those asked then.
pub fn keep(targets: &[&str]) -> Kept {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let only = targets.iter().fold(Targets::new(), |t, target| {
            t.with_target(target.to_string(), tracing::Level::DEBUG)
        });
        tracing_subscriber::registry()
            .with(Keeper.with_filter(only))
            .try_init()
            .is_ok()
    });
    KEPT.with(|kept| *kept.borrow_mut() = Some((Instant::now(), Vec::new())));
    Kept(())
}

/// See [`keep`].
pub struct Kept(());

impl Drop for Kept {
    fn drop(&mut self) {
        let Some((_, lines)) = KEPT.with(|kept| kept.borrow_mut().take()) else {
            return;
        };
        if std::thread::panicking() {
            eprintln!("our engine's lines ({}):", lines.len());
            for line in lines {
                eprintln!("  {line}");
            }
        }
    }
}
