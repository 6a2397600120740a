//! Network changes: the OS's notifications (one file per OS) tell us that
//! something changed; after a short quiet period the path to the call's
//! server is read again (`path`), and only if it moved, or the call's local
//! address went away, is the call told (`network_changed()`: an ICE
//! restart now instead of after a timeout). A desktop sees plenty of
//! network news that does not concern the call (containers, VPN clients'
//! routes elsewhere, other programs' namespaces): that is filtered here.

mod path;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::hint::{self, Hint, HintSender};
use path::{Verdict, Watch};

/// The URL of the server the current call is on, if any.
pub type Target = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// The OS's "something changed" (no detail: the path is read afterwards).
pub type ChangeSender = mpsc::UnboundedSender<()>;

/// A burst of OS events is over when none came for this long...
const QUIET: Duration = Duration::from_millis(120);
/// ...or, in a steady stream of them, after this long anyway (so a call
/// hears of a change well within a second even on a noisy machine).
const MAX_BURST: Duration = Duration::from_millis(400);
/// How soon a new call's path is first read (its baseline).
const LOOK: Duration = Duration::from_secs(1);

/// Starts the monitor, unless `RTCSTACK_NETWORK_MONITOR=off`.
pub fn start(tx: HintSender, target: Target) {
    if hint::monitor_off("RTCSTACK_NETWORK_MONITOR") {
        tracing::info!("network monitor off: RTCSTACK_NETWORK_MONITOR=off");
        return;
    }
    // Inside the runtime: the OS watcher may register its socket with it.
    tokio::spawn(async move {
        let (changes, rx) = mpsc::unbounded_channel();
        match watch_os(changes) {
            Ok(how) => {
                tracing::info!("network monitor on: {how}");
                watch_path(rx, tx, target).await;
            }
            Err(why) => tracing::warn!("network monitor off: {why}"),
        }
    });
}

#[cfg(target_os = "linux")]
fn watch_os(changes: ChangeSender) -> Result<&'static str, String> {
    linux::watch(changes)
}

#[cfg(target_os = "macos")]
fn watch_os(changes: ChangeSender) -> Result<&'static str, String> {
    macos::watch(changes)
}

#[cfg(windows)]
fn watch_os(changes: ChangeSender) -> Result<&'static str, String> {
    self::windows::watch(changes)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn watch_os(_changes: ChangeSender) -> Result<&'static str, String> {
    Err("no network change notifications on this OS".into())
}

/// The server's address from the call's URL (`ws://host:port/...`).
async fn resolve(url: String) -> Option<SocketAddr> {
    let parsed = url::Url::parse(&url).ok()?;
    let host = parsed
        .host_str()?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = parsed.port_or_known_default()?;
    // Name lookups block: off the async threads.
    tokio::task::spawn_blocking(move || (host.as_str(), port).to_socket_addrs().ok()?.next())
        .await
        .ok()
        .flatten()
}

/// Follows the OS's change notifications for as long as the app runs and
/// tells the call when the path to its server moved.
async fn watch_path(mut os: mpsc::UnboundedReceiver<()>, tx: HintSender, target: Target) {
    let mut watch = Watch::default();
    // The last URL and what it resolved to: a lookup per call, not per event.
    let mut resolved: Option<(String, Option<SocketAddr>)> = None;
    let mut look = tokio::time::interval(LOOK);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = os.recv() => {
                if event.is_none() {
                    tracing::warn!("network monitor stopped: the OS watcher ended");
                    return;
                }
                let began = Instant::now();
                settle(&mut os, began).await;
                let Some(addr) = server(&target, &mut resolved).await else {
                    continue;
                };
                let gone = path::gone(watch.local());
                let now = path::read(addr);
                match watch.after_event(addr, now, gone) {
                    Verdict::Changed(what) => {
                        tracing::info!(
                            "network changed ({what}); told the call {} ms after the first event",
                            began.elapsed().as_millis()
                        );
                        if tx.send(Hint::NetworkChanged).is_err() {
                            return;
                        }
                    }
                    Verdict::Baseline => watching(addr, &now),
                    Verdict::Same => {}
                }
            }
            _ = look.tick() => {
                let addr = server(&target, &mut resolved).await;
                if let (Some(addr), Some(now)) = (addr, watch.look(addr, path::read)) {
                    watching(addr, &now);
                }
            }
        }
    }
}

fn watching(server: SocketAddr, path: &path::Fingerprint) {
    tracing::debug!(
        "network monitor: watching the path to {server} (from {:?})",
        path.to_server
    );
}

/// The current call's server, resolved once per URL.
async fn server(
    target: &Target,
    resolved: &mut Option<(String, Option<SocketAddr>)>,
) -> Option<SocketAddr> {
    let url = target()?;
    if resolved.as_ref().is_none_or(|(u, _)| *u != url) {
        let addr = resolve(url.clone()).await;
        *resolved = Some((url, addr));
    }
    resolved.as_ref().and_then(|(_, a)| *a)
}

/// Waits until a burst of OS events is over: `QUIET` with none, or
/// `MAX_BURST` since it began.
async fn settle(os: &mut mpsc::UnboundedReceiver<()>, began: Instant) {
    let cap = began + MAX_BURST;
    loop {
        let until = (Instant::now() + QUIET).min(cap);
        match tokio::time::timeout_at(until, os.recv()).await {
            Ok(Some(())) if Instant::now() < cap => continue,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_settles_after_a_quiet_spell_or_the_cap() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let began = Instant::now();
        // Three events 50 ms apart, then quiet: over 120 ms after the last.
        let sender = tx.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = sender.send(());
            }
        });
        settle(&mut rx, began).await;
        assert_eq!(began.elapsed(), Duration::from_millis(150 + 120));

        // A steady stream every 30 ms: cut off at the cap.
        let began = Instant::now();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(30)).await;
                if tx.send(()).is_err() {
                    return;
                }
            }
        });
        settle(&mut rx, began).await;
        assert_eq!(began.elapsed(), MAX_BURST);
    }

    #[tokio::test]
    async fn the_server_address_comes_from_the_join_url() {
        assert_eq!(
            resolve("ws://10.213.0.2:7880".into()).await,
            "10.213.0.2:7880".parse().ok()
        );
        assert_eq!(
            resolve("wss://127.0.0.1/rtc".into()).await,
            "127.0.0.1:443".parse().ok()
        );
        assert_eq!(
            resolve("ws://[::1]:7880".into()).await,
            "[::1]:7880".parse().ok()
        );
        assert_eq!(resolve("not a url".into()).await, None);
    }
}
