//! Sleep/wake and network changes (`scripts/test power`): the real app in a
//! window under Xvfb, in a call with a real server and the Python peer,
//! told of a sleep by a fake logind on a private system bus and moved to
//! another address mid-call. Needs root (namespaces, cuts, addresses).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rtcstack_bot_audio::analysis::spectrum_peak;
use rtcstack_testbench::fake_logind::FakeLogind;
use rtcstack_testbench::netchange::{self, wall_ms, AppCall, Far};
use rtcstack_testbench::signal_proxy::SignalProxy;

const SECS: fn(u64) -> Duration = Duration::from_secs;
const BANNER_1: &str = "Connection lost — reconnecting (attempt 1)";

/// Whether the app's speaker plays `hz` (±5 Hz), listening up to `within`.
async fn hears(call: &AppCall, hz: f64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let samples = match call.far.pulse.record_speaker(0.5) {
            Ok(s) => s,
            Err(_) => continue,
        };
        if spectrum_peak(&samples).is_some_and(|p| (p.hz - hz).abs() <= 5.0 && p.level_db > -40.0) {
            return true;
        }
    }
    false
}

/// The machine sleeps through a cut longer than the server keeps our
/// session, and longer than our token lives; logind says "sleep" and
/// "woke". The app releases its inhibitor lock before the sleep, recovers
/// at once after the wake (refreshing its token first), shows the banner
/// from attempt 1, and the peer's new tone is heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_and_wake_recover_at_once_with_a_refreshed_token() {
    let logind = FakeLogind::start().await.unwrap();
    let far = Far::start("power-sleep").await.unwrap();
    // In-band refreshed tokens withheld: the app's own 30 s token expires
    // while it sleeps, as it would against a server that does not re-mint.
    // Beside the server in its namespace, so the cut cuts it too.
    let listener = far.server.link().unwrap().listen_tcp().unwrap();
    let proxy = SignalProxy::start_on(listener, &far.server.url()).unwrap();
    let mut call = AppCall::join(
        far,
        &proxy.url(),
        &[
            ("DBUS_SYSTEM_BUS_ADDRESS", logind.address()),
            ("RTCSTACK_TOKEN_TTL_SECS", "30"),
        ],
    )
    .await
    .unwrap();
    logind
        .wait_locks("the app's delay inhibitor", SECS(10), |l| {
            l.iter()
                .any(|l| l.released_at.is_none() && l.mode == "delay" && l.what == "sleep")
        })
        .await
        .unwrap();
    assert!(
        hears(&call, 440.0, SECS(20)).await,
        "the peer's tone before the sleep"
    );
    assert!(
        proxy.dropped_refreshes() >= 1,
        "the server sent no in-band token"
    );

    // Going to sleep: the app is told, and lets go of its lock.
    let said_sleep = Instant::now();
    logind.prepare_for_sleep(true).await.unwrap();
    logind
        .wait_locks("the inhibitor released", SECS(2), |l| {
            l.iter().all(|l| l.released_at.is_some())
        })
        .await
        .unwrap();
    let released_in = said_sleep.elapsed();
    call.wait_log("os hint Sleep", SECS(2)).await.unwrap();
    let token_before = call
        .views()
        .await
        .unwrap()
        .iter()
        .rev()
        .find_map(|v| v.token_expires_at_ms)
        .expect("the view carries the token's expiry");
    // The kernel freezes the app (as a suspend does); the network goes.
    let pid = Pid::from_raw(call.app.app_pid().expect("the app's pid") as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    call.far.server.link().unwrap().cut().unwrap();
    // The far peer changes its tone, so what we hear after is new audio.
    call.far
        .peer
        .send(serde_json::json!({"cmd": "tone", "hz": 660}))
        .await
        .unwrap();
    tokio::time::sleep(SECS(40)).await;
    assert!(
        wall_ms() > token_before,
        "the token outlived the sleep: the test proves nothing about refresh"
    );

    // Waking: the network is back, the app runs again, logind says so.
    call.far.server.link().unwrap().restore().unwrap();
    kill(pid, Signal::SIGCONT).unwrap();
    let woke = wall_ms();
    logind.prepare_for_sleep(false).await.unwrap();
    // (A view may still say "connected" as the app thaws: the call learns
    // of the outage from the wake, or its own timers, a moment later.)
    let lost = call
        .wait_view("reconnecting after the wake", woke, SECS(20), |v| {
            v.state == "reconnecting"
        })
        .await
        .unwrap();
    let back = call
        .wait_view("connected after the wake", lost.sent_at_ms, SECS(20), |v| {
            v.state == "connected"
        })
        .await
        .unwrap();
    let took = (back.sent_at_ms - woke) / 1000.0;
    let views: Vec<_> = call
        .views()
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.sent_at_ms >= woke && v.sent_at_ms <= back.sent_at_ms)
        .collect();
    eprintln!(
        "sleep: inhibitor released {released_in:?} after PrepareForSleep(true); \
         wake → connected {took:.2} s; views {:?}",
        views
            .iter()
            .map(|v| (v.state.as_str(), v.banner.as_deref()))
            .collect::<Vec<_>>()
    );
    assert!(
        took <= 2.0,
        "connected {took:.2} s after the wake (goal ≤ 2 s)"
    );
    assert!(
        views.iter().any(|v| v.banner.as_deref() == Some(BANNER_1)),
        "the banner never showed attempt 1: {views:?}"
    );
    assert!(
        views
            .iter()
            .all(|v| v.banner.is_none() || v.banner.as_deref() == Some(BANNER_1)),
        "a later attempt was needed: {views:?}"
    );
    // (The page records the banner's words only when it rendered it.)
    assert!(
        views
            .iter()
            .all(|v| v.state == "reconnecting" || v.banner.is_none()),
        "the banner was rendered outside reconnecting: {views:?}"
    );
    call.app
        .wait_gone("reconnect-banner", SECS(5))
        .await
        .unwrap();
    // The token: refreshed before the attempt that brought the call back,
    // which the server then accepted with the old token long expired.
    let fresh = back
        .token_expires_at_ms
        .expect("the view carries the token's expiry");
    assert!(fresh > woke, "the call came back on an expired token");
    // In the app's log since it was told of the sleep: the refresh done
    // before the first attempt. (It may start as the app thaws, before the
    // wake signal is read: either way, before any attempt.)
    let log = call.log();
    let asleep = &log[log
        .rfind("os hint Sleep")
        .expect("the sleep reached the call")..];
    let at = |needle: &str| {
        asleep
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} after the sleep in the app's log"))
    };
    assert!(
        at("refreshing the token") < at("token refreshed")
            && at("token refreshed") < at("reconnect attempt 1"),
        "the token was not refreshed before attempt 1:\n{asleep}"
    );
    assert!(asleep.contains("reconnect attempt 1: Rejoin"), "{asleep}");
    assert!(
        hears(&call, 660.0, SECS(20)).await,
        "the peer's new tone after the wake"
    );
    if let Ok(dir) = rtcstack_testbench::app::artifacts_dir() {
        let _ = std::fs::write(dir.join("power-sleep.log"), call.log());
    }
    // And a new lock, for the next sleep.
    logind
        .wait_locks("a new inhibitor after the wake", SECS(5), |l| {
            l.len() >= 2 && l.last().is_some_and(|l| l.released_at.is_none())
        })
        .await
        .unwrap();
    call.app.close().await.unwrap();
}

/// A network switch mid-call (the app's address moves): with the monitor,
/// recovery begins within a second; without it (`RTCSTACK_NETWORK_MONITOR
/// =off`), only after a timeout. Both come back. And with no system bus at
/// all, the app joins and says once why its power monitor is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_move_is_acted_on_at_once_and_without_the_monitor_only_after_a_timeout() {
    let (with, fast) = netchange::measure("power-net-on", true).await.unwrap();
    let log = with.log();
    assert_eq!(
        log.matches("power monitor off: no system D-Bus").count(),
        1,
        "the app says once why its power monitor is off:\n{log}"
    );
    let AppCall { far, app } = with;
    app.close().await.unwrap();
    drop(far); // its server and namespace go before the next run's
    let (without, slow) = netchange::measure("power-net-off", false).await.unwrap();
    let AppCall { far, app } = without;
    app.close().await.unwrap();
    drop(far);
    eprintln!(
        "address move → reconnecting / connected: with the monitor {fast:?}, without {slow:?}"
    );
    assert!(
        fast.to_reconnecting <= SECS(1),
        "with the monitor, recovery began {:?} after the move (goal ≤ 1 s)",
        fast.to_reconnecting
    );
    assert!(
        slow.to_reconnecting >= Duration::from_millis(2000),
        "without the monitor the move was noticed in {:?}: the comparison shows nothing",
        slow.to_reconnecting
    );
    assert!(fast.to_connected < slow.to_connected);
}
