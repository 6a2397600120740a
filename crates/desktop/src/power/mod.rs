//! Sleep and wake: the OS's own signal (one file per OS) and, beside it, a
//! clock-jump fallback that needs no OS signal. Both become hints
//! (`Sleep`, `Wake`) for the call; see `crate::monitors`.

mod clock_jump;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

use std::time::Duration;

use crate::hint::{self, Hint, HintSender};

pub use clock_jump::ClockJump;

/// How often the clocks are compared; a wake is noticed this soon at worst.
const CLOCK_TICK: Duration = Duration::from_secs(2);
/// Less than this between the clocks is not a sleep.
const CLOCK_THRESHOLD: Duration = Duration::from_secs(5);

/// Starts the OS's sleep/wake monitor and the clock-jump fallback, unless
/// `RTCSTACK_POWER_MONITOR=off`.
pub fn start(tx: HintSender) {
    if hint::monitor_off("RTCSTACK_POWER_MONITOR") {
        tracing::info!("power monitor off: RTCSTACK_POWER_MONITOR=off");
        return;
    }
    #[cfg(target_os = "linux")]
    tokio::spawn(linux::watch(tx.clone()));
    #[cfg(target_os = "macos")]
    macos::watch(tx.clone());
    #[cfg(windows)]
    self::windows::watch(tx.clone());
    tokio::spawn(watch_clocks(tx));
}

/// The fallback: a jump between the clocks means the machine slept.
async fn watch_clocks(tx: HintSender) {
    let mut jump = ClockJump::new(CLOCK_THRESHOLD);
    let mut tick = tokio::time::interval(CLOCK_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some((through_sleep, awake)) = clocks() else {
            tracing::info!("clock-jump sleep detection off: the clocks cannot be read");
            return;
        };
        if let Some(slept) = jump.sample(through_sleep, awake) {
            tracing::info!(
                "the machine slept for about {} s (clock jump)",
                slept.as_secs()
            );
            if tx.send(Hint::Wake).is_err() {
                return;
            }
        }
    }
}

/// (a clock that runs through sleep, one that stops during it).
#[cfg(target_os = "linux")]
fn clocks() -> Option<(Duration, Duration)> {
    use nix::time::{clock_gettime, ClockId};
    let read = |id| {
        clock_gettime(id)
            .ok()
            .map(|t| Duration::new(t.tv_sec().max(0) as u64, t.tv_nsec().max(0) as u32))
    };
    Some((
        read(ClockId::CLOCK_BOOTTIME)?,
        read(ClockId::CLOCK_MONOTONIC)?,
    ))
}

/// (the wall clock, `Instant`, which stops while the machine sleeps on
/// macOS; on Windows it may not, and the OS signal carries the load).
#[cfg(not(target_os = "linux"))]
fn clocks() -> Option<(Duration, Duration)> {
    use std::sync::OnceLock;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    Some((wall, start.elapsed()))
}
