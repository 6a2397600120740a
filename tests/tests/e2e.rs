//! The product end to end (`scripts/test e2e`): the real app, built with
//! its UI, in a real window under Xvfb driven by tauri-driver, joined to a
//! real livekit-server with LiveKit's Python SDK on the far side, checked
//! by what a person would see. Needs root (the server's namespace, cuts).
//! Screenshots of each state land in `artifacts/`.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::netns::Netem;
use rtcstack_testbench::notifications::NotificationServer;
use rtcstack_testbench::peer::{PeerOptions, PythonPeer};
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;

const SECS: fn(u64) -> Duration = Duration::from_secs;

struct Rig {
    server: LiveKitServer,
    peer: PythonPeer,
    app: AppSession,
    _pulse: PulseServer,
}

/// The app started against `server` with its key (the secret by
/// environment, as the demo does).
async fn app_for(server: &LiveKitServer, room: &str, secret: &str) -> AppSession {
    let url = server.url();
    let app = AppSession::start(&[
        ("RTCSTACK_SERVER_URL", url.as_str()),
        ("RTCSTACK_API_KEY", server.api_key()),
        ("RTCSTACK_API_SECRET", secret),
        ("RTCSTACK_ROOM", room),
        ("RUST_LOG", "warn,rtcstack=debug,rtcstack_desktop=debug"),
    ])
    .await
    .unwrap();
    app.wait_ready(SECS(20)).await.unwrap();
    app
}

impl Rig {
    /// The app joined to `room`, where a Python peer plays 440 Hz.
    async fn joined(room: &str) -> Rig {
        // A virtual microphone, so the app publishes a real device.
        let pulse = PulseServer::start().unwrap();
        let server = LiveKitServer::start().await.unwrap();
        let peer = server
            .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
            .await
            .unwrap();
        let app = app_for(&server, room, server.api_secret()).await;
        let rig = Rig {
            server,
            peer,
            app,
            _pulse: pulse,
        };
        rig.type_into("join-name", "Ada").await;
        rig.click("join-button").await;
        // Media up, not only the list (which comes with the signal's join
        // answer, before the peer connections).
        rig.until("connected", SECS(20), async |r| {
            r.text("connection-state").await == "connected"
        })
        .await;
        rig.peer_listed(SECS(20)).await.unwrap();
        rig
    }

    /// The peer sees our microphone muted (or not) after `mark`. On failure,
    /// the connection states the page showed say whether a reconnect
    /// happened meanwhile.
    async fn peer_sees_us_muted(&self, mark: usize, muted: bool) {
        let what = if muted { "muted" } else { "unmuted" };
        if let Err(e) = self
            .peer
            .wait_for_after(mark, what, |e| e.shows_muted(muted), SECS(10))
            .await
        {
            let states = self
                .app
                .client
                .execute(
                    "return [...new Set(window.__rtcstackShown.map((v) => v.state))];",
                    vec![],
                )
                .await;
            panic!("{e:#}\nconnection states the page showed: {states:?}");
        }
    }

    /// The sequence number of the last view the page rendered.
    async fn last_view(&self) -> u64 {
        self.app
            .client
            .execute("return window.__rtcstackShown.at(-1)?.seq ?? 0;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    }

    async fn click(&self, id: &str) {
        self.app.click(id).await.unwrap();
    }

    async fn type_into(&self, id: &str, text: &str) {
        self.app.type_into(id, text).await.unwrap();
    }

    async fn shown(&self, id: &str) -> bool {
        self.app.shown(id).await
    }

    async fn text(&self, id: &str) -> String {
        self.app.text(id).await
    }

    async fn until(&self, what: &str, within: Duration, mut ok: impl AsyncFnMut(&Rig) -> bool) {
        let deadline = Instant::now() + within;
        while !ok(self).await {
            assert!(
                Instant::now() < deadline,
                "{what}: not seen within {within:?}; page state {:?}, banner {:?}, failure {:?}",
                self.text("connection-state").await,
                self.text("banner-text").await,
                self.text("failure-text").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The peer in the list, with a quality icon that has a label.
    async fn peer_listed(&self, within: Duration) -> Result<String> {
        let deadline = Instant::now() + within;
        loop {
            let js = "const q = document.querySelector('li[data-identity=\"py-440\"] .quality'); \
                      return q ? q.getAttribute('aria-label') : null;";
            if let Ok(v) = self.app.client.execute(js, vec![]).await {
                if let Some(label) = v.as_str() {
                    return Ok(label.to_string());
                }
            }
            if Instant::now() > deadline {
                bail!("the peer is not listed with a quality icon");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn attempt_shown(&self) -> u32 {
        let t = self.text("banner-text").await;
        t.rsplit("attempt ")
            .next()
            .and_then(|s| s.trim_end_matches(')').parse().ok())
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn a_cut_shows_the_banner_with_attempts_and_a_restore_hides_it() {
    let rig = Rig::joined("e2e-banner").await;
    let label = rig.peer_listed(SECS(5)).await.unwrap();
    assert!(label.starts_with("Connection quality: "), "{label}");
    // The peer's quality arrives from the server within seconds.
    rig.until("the peer's quality", SECS(15), async |r| {
        !r.peer_listed(SECS(1)).await.unwrap().ends_with("Unknown")
    })
    .await;
    rig.app.screenshot_window("e2e-connected").unwrap();

    rig.server.link().unwrap().cut().unwrap();
    rig.until("the banner at attempt 1", SECS(15), async |r| {
        r.shown("reconnect-banner").await && r.attempt_shown().await >= 1
    })
    .await;
    assert_eq!(
        rig.text("banner-text").await,
        "Connection lost — reconnecting (attempt 1)"
    );
    rig.until("a higher attempt", SECS(20), async |r| {
        r.attempt_shown().await >= 2
    })
    .await;
    rig.app.screenshot_window("e2e-reconnecting").unwrap();

    rig.server.link().unwrap().restore().unwrap();
    rig.until("the banner gone", SECS(20), async |r| {
        !r.shown("reconnect-banner").await && r.text("connection-state").await == "connected"
    })
    .await;
    rig.peer_listed(SECS(5)).await.unwrap();
    rig.app.close().await.unwrap();
}

#[tokio::test]
async fn a_long_cut_says_please_rejoin_and_rejoin_brings_the_call_back() {
    let rig = Rig::joined("e2e-fail").await;
    rig.server.link().unwrap().cut().unwrap();
    // The policy gives up 60 s into the outage (detection adds ~3 s).
    rig.until("the failure message", SECS(80), async |r| {
        r.shown("failure").await
    })
    .await;
    assert_eq!(
        rig.text("failure-text").await,
        "Could not reconnect. Please rejoin."
    );
    assert!(!rig.shown("reconnect-banner").await);
    rig.app.screenshot_window("e2e-failed").unwrap();

    rig.server.link().unwrap().restore().unwrap();
    rig.click("rejoin").await;
    rig.until("connected again", SECS(20), async |r| {
        r.text("connection-state").await == "connected" && !r.shown("failure").await
    })
    .await;
    rig.peer_listed(SECS(10)).await.unwrap();
    rig.app.close().await.unwrap();
}

#[tokio::test]
async fn mute_by_button_and_shortcut_is_seen_by_the_peer() {
    let rig = Rig::joined("e2e-mute").await;
    // Our virtual microphone's track reaches the peer first.
    rig.peer
        .wait_for("our track", |e| e.kind() == "track_subscribed", SECS(20))
        .await
        .unwrap();
    let mark = rig.peer.mark();
    rig.click("mute").await;
    // The app took the click (a failure here is the UI's, not the network's).
    rig.until("the button says Unmute", SECS(5), async |r| {
        r.text("mute").await == "Unmute"
    })
    .await;
    rig.peer_sees_us_muted(mark, true).await;
    let mark = rig.peer.mark();
    // The keyboard shortcut, on the page body.
    rig.app
        .client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("m")
        .await
        .unwrap();
    rig.until("the button says Mute", SECS(5), async |r| {
        r.text("mute").await == "Mute"
    })
    .await;
    rig.peer_sees_us_muted(mark, false).await;

    // A press whose release comes after a view update still clicks: the
    // update must not replace what is under the pointer (it did, and a
    // click now and then did nothing).
    let mark = rig.peer.mark();
    let button = rig
        .app
        .client
        .find(Locator::Css("[data-testid=mute]"))
        .await
        .unwrap();
    rig.app
        .client
        .perform_actions(
            MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: button,
                    duration: None,
                    x: 0.0,
                    y: 0.0,
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                }),
        )
        .await
        .unwrap();
    let seen = rig.last_view().await;
    // The same state again: a new view, nothing changed.
    rig.app
        .invoke("set_muted", serde_json::json!({ "muted": false }))
        .await
        .unwrap();
    rig.until("a view rendered during the press", SECS(5), async |r| {
        r.last_view().await > seen
    })
    .await;
    rig.app
        .client
        .perform_actions(MouseActions::new("mouse".into()).then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        }))
        .await
        .unwrap();
    rig.app.client.release_actions().await.unwrap();
    rig.until("the button says Unmute", SECS(5), async |r| {
        r.text("mute").await == "Unmute"
    })
    .await;
    rig.peer_sees_us_muted(mark, true).await;
    rig.app.close().await.unwrap();
}

#[tokio::test]
async fn poor_quality_shows_the_warning() {
    let rig = Rig::joined("e2e-poor").await;
    rig.server
        .link()
        .unwrap()
        .degrade(Netem {
            loss_percent: 25.0,
            delay_ms: 0,
            jitter_ms: 0,
        })
        .unwrap();
    rig.until("the poor-connection warning", SECS(40), async |r| {
        r.shown("local-warning").await
    })
    .await;
    let label = rig.text("local-quality").await;
    assert!(label.contains("Poor") || label.contains("Lost"), "{label}");
    rig.app.screenshot_window("e2e-poor-quality").unwrap();
    rig.server.link().unwrap().clear_degrade().unwrap();
    rig.app.close().await.unwrap();
}

#[tokio::test]
async fn a_cut_posts_a_notification_when_the_window_is_not_in_front() {
    let notifications = NotificationServer::start().await.unwrap();
    let rig = Rig::joined("e2e-notify").await;
    // Another window takes the focus.
    let mut other = std::process::Command::new("xmessage")
        .args(["-name", "other-window", "another window"])
        .spawn()
        .unwrap();
    let focused = std::process::Command::new("xdotool")
        .args([
            "search",
            "--sync",
            "--name",
            "other-window",
            "windowfocus",
            "--sync",
        ])
        .status()
        .unwrap();
    assert!(
        focused.success(),
        "xdotool could not focus the other window"
    );
    rig.server.link().unwrap().cut().unwrap();
    let lost = notifications
        .wait_for("Connection lost", SECS(20))
        .await
        .unwrap();
    assert!(lost.body.contains("Reconnecting"), "{lost:?}");
    rig.server.link().unwrap().restore().unwrap();
    notifications
        .wait_for("Reconnected", SECS(20))
        .await
        .unwrap();
    let _ = other.kill();
    let _ = other.wait();
    rig.app.close().await.unwrap();
}

#[tokio::test]
async fn bad_input_gets_a_clear_inline_error() {
    let _pulse = PulseServer::start().unwrap();
    let server = LiveKitServer::start().await.unwrap();
    // A key the server does not know: tokens are refused.
    let app = app_for(&server, "e2e-errors", "not-the-servers-secret-0123456789").await;
    let rig_error = async |url: &str, room: &str| -> (String, String) {
        let js = "const f = (id, v) => { const e = document.querySelector(`[data-testid=${id}]`); e.value = v; }; \
                  f('join-url', arguments[0]); f('join-room', arguments[1]); \
                  document.querySelector('[data-testid=join-error]').hidden = true; \
                  document.querySelector('[data-testid=join-button]').click();";
        app.client
            .execute(js, vec![url.into(), room.into()])
            .await
            .unwrap();
        let deadline = Instant::now() + SECS(20);
        loop {
            let v = app
                .client
                .execute(
                    "const e = document.querySelector('[data-testid=join-error]'); \
                     const form = document.querySelector('[data-testid=join-screen]'); \
                     const failure = document.querySelector('[data-testid=failure]'); \
                     return (e.hidden || form.hidden || !failure.hidden) ? null \
                       : [e.dataset.kind, e.textContent];",
                    vec![],
                )
                .await
                .unwrap();
            if let Some(a) = v.as_array() {
                let s = |i: usize| a[i].as_str().unwrap_or_default().to_string();
                return (s(0), s(1));
            }
            assert!(
                Instant::now() < deadline,
                "no inline error for {url} / {room}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let url = server.url();
    let (kind, text) = rig_error(&url, "  ").await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("emptyRoom", "Enter a room name.")
    );
    let (kind, text) = rig_error("localhost:7880", "r").await;
    assert_eq!(kind, "invalidUrl", "{text}");
    assert!(text.contains("server address"), "{text}");
    let (kind, text) = rig_error("ws://127.0.0.1:9", "r").await;
    assert_eq!(kind, "unreachable", "{text}");
    let (kind, text) = rig_error(&url, "r").await;
    assert_eq!(kind, "rejected", "{text}");
    // The key this app holds is nowhere on the page.
    let page = app.client.source().await.unwrap();
    assert!(!page.contains("not-the-servers-secret"));
    app.close().await.unwrap();
}
