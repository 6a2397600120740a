//! The product end to end (`scripts/test e2e`): the real app, built with
//! its UI, in a real window under Xvfb driven by tauri-driver, joined to a
//! real livekit-server with LiveKit's Python SDK on the far side, checked
//! by what a person would see: an element counts as shown when WebDriver
//! says it is displayed and it has a rendered box in the window
//! ([`AppSession::visible`]); in each headline state the window's pixels
//! say whether the reconnect banner is there. Needs root (the server's
//! namespace, cuts). Screenshots of each state land in `artifacts/`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use rtcstack_testbench::app::{AppSession, BannerPixels, BoxPixels, Seen};
use rtcstack_testbench::netns::Netem;
use rtcstack_testbench::notifications::NotificationServer;
use rtcstack_testbench::peer::{PeerOptions, PythonPeer};
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::secret_service::SecretService;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::tls_front::TlsFront;
use rtcstack_testbench::tokens::{find_jwts, holds_secret, jwt_label};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const BANNER_1: &str = "Connection lost — reconnecting (attempt 1)";

struct Rig {
    server: LiveKitServer,
    peer: PythonPeer,
    app: AppSession,
    _pulse: PulseServer,
    /// Every headline look at the window, in order.
    looks: Mutex<Vec<Look>>,
}

/// The words the page shows for the call: the header's state, the banner's
/// line and its countdown (whether or not they are on screen).
#[derive(Debug, Clone, PartialEq)]
struct Words {
    state: String,
    banner: String,
    countdown: String,
}

/// One look at the window in a headline state: the screenshot, and the
/// reconnect banner as the page rendered it and as the pixels show it.
struct Look {
    label: String,
    words: Words,
    pixels: BannerPixels,
    countdown: Seen,
    /// The failure panel, as painted in the same screenshot.
    failure: BoxPixels,
}

impl Look {
    /// (label, the banner visible, what the pixels say) for the table.
    fn row(&self) -> (String, bool, &'static str) {
        (
            self.label.clone(),
            self.pixels.banner.visible(),
            self.pixels.verdict(),
        )
    }
}

/// The app started against `server` with its key (the secret by
/// environment, as the demo does), with `extra` in its environment.
async fn app_with(
    server: &LiveKitServer,
    room: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> AppSession {
    let mut envs = vec![("RUST_LOG", "warn,rtcstack=debug,rtcstack_desktop=debug")];
    envs.extend_from_slice(extra);
    AppSession::for_server(server, room, secret, &envs)
        .await
        .unwrap()
}

impl Rig {
    /// The app on its join screen for `room`, where a Python peer plays
    /// 440 Hz.
    async fn started(room: &str) -> Rig {
        Rig::started_with(room, &[]).await
    }

    /// The same, with `extra` in the app's environment.
    async fn started_with(room: &str, extra: &[(&str, &str)]) -> Rig {
        // A virtual microphone, so the app publishes a real device.
        let pulse = PulseServer::start().unwrap();
        let server = LiveKitServer::start().await.unwrap();
        let peer = server
            .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
            .await
            .unwrap();
        let app = app_with(&server, room, server.api_secret(), extra).await;
        let rig = Rig {
            server,
            peer,
            app,
            _pulse: pulse,
            looks: Mutex::new(Vec::new()),
        };
        rig.type_into("join-name", "Ada").await;
        rig
    }

    /// Presses Join and waits for the call: connected, the call screen on
    /// screen and the peer listed.
    async fn join(&self) {
        self.click("join-button").await;
        // Media up, not only the list (which comes with the signal's join
        // answer, before the peer connections).
        self.until("connected", SECS(20), async |r| {
            r.text("connection-state").await == "connected"
        })
        .await;
        self.app.wait_visible("call-screen", SECS(5)).await.unwrap();
        self.peer_listed(SECS(20)).await.unwrap();
    }

    /// The app joined to `room`.
    async fn joined(room: &str) -> Rig {
        let rig = Rig::started(room).await;
        rig.join().await;
        rig
    }

    /// The words the page shows now, in one read.
    async fn words(&self) -> Words {
        let js = "const t = (id) => document.querySelector(`[data-testid=${id}]`).textContent; \
                  return [t('connection-state'), t('banner-text'), t('banner-countdown')];";
        let v: (String, String, String) = self
            .app
            .client
            .execute(js, vec![])
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Words {
            state: v.0,
            banner: v.1,
            countdown: v.2,
        }
    }

    /// A look at the window in `state` (what its header must say), saved
    /// as `shot`.png: the banner by its rendering and by the pixels. The
    /// page is measured after the screenshot and its words read before and
    /// after; a look during which they changed is taken again, so the
    /// screenshot shows what was measured.
    async fn look(&self, label: &str, state: &str, shot: &str) -> Look {
        let deadline = Instant::now() + SECS(10);
        loop {
            let before = self.words().await;
            assert_eq!(
                before.state, state,
                "{label}: the header says {:?}",
                before.state
            );
            let pixels = self.app.banner_pixels(shot).await.unwrap();
            let countdown = self.app.seen("banner-countdown").await;
            let failure = self.app.box_pixels(&pixels.shot, "failure").await.unwrap();
            let after = self.words().await;
            if before == after {
                eprintln!(
                    "{label}: banner {}; pixels {} ({pixels})",
                    pixels.banner,
                    pixels.verdict()
                );
                return Look {
                    label: label.to_string(),
                    words: after,
                    pixels,
                    countdown,
                    failure,
                };
            }
            assert!(
                Instant::now() < deadline,
                "{label}: the page kept changing during the screenshot: {before:?} → {after:?}"
            );
        }
    }

    /// Keeps a look for the table [`Rig::banner_was`] checks.
    fn keep(&self, look: Look) {
        self.looks.lock().unwrap().push(look);
    }

    /// The reconnect banner in each look so far, in order, is `expected`
    /// (label, shown): shown means rendered visible and its colours seen
    /// in its box in the window; not shown means not visible and no trace
    /// of its colours under the header.
    fn banner_was(&self, expected: &[(&str, bool)]) {
        let looks = self.looks.lock().unwrap();
        let got: Vec<_> = looks.iter().map(Look::row).collect();
        let want: Vec<_> = expected
            .iter()
            .map(|&(label, shown)| {
                let pixels = if shown { "seen" } else { "absent" };
                (label.to_string(), shown, pixels)
            })
            .collect();
        let table: Vec<String> = looks
            .iter()
            .zip(
                expected
                    .iter()
                    .map(|e| Some(e.1))
                    .chain(std::iter::repeat(None)),
            )
            .map(|(l, want)| {
                format!(
                    "  {}: expected {}; rendered {}, pixels {} ({})",
                    l.label,
                    match want {
                        Some(true) => "shown",
                        Some(false) => "hidden",
                        None => "nothing",
                    },
                    if l.pixels.banner.visible() {
                        "visible"
                    } else {
                        "not visible"
                    },
                    l.pixels.verdict(),
                    l.pixels
                )
            })
            .collect();
        assert!(
            got == want,
            "the reconnect banner, state by state, as the window showed it:\n{}\n(expected {expected:?})",
            table.join("\n")
        );
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

    async fn visible(&self, id: &str) -> bool {
        self.app.visible(id).await
    }

    async fn text(&self, id: &str) -> String {
        self.app.text(id).await
    }

    async fn until(&self, what: &str, within: Duration, mut ok: impl AsyncFnMut(&Rig) -> bool) {
        let deadline = Instant::now() + within;
        while !ok(self).await {
            if Instant::now() >= deadline {
                panic!(
                    "{what}: not seen within {within:?}; the page: {:?};\n{}\n{}\n{}",
                    self.words().await,
                    self.app.seen("reconnect-banner").await,
                    self.app.seen("failure").await,
                    self.app.seen("join-error").await,
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The peer in the list, with a quality icon that has a label, both on
    /// screen; returns the label.
    async fn peer_listed(&self, within: Duration) -> Result<String> {
        const ICON: &str = "li[data-identity=\"py-440\"] .quality";
        let deadline = Instant::now() + within;
        loop {
            let seen = self.app.seen_css(ICON).await;
            if seen.visible() {
                let js =
                    format!("return document.querySelector('{ICON}').getAttribute('aria-label');");
                if let Some(label) = self.app.client.execute(&js, vec![]).await?.as_str() {
                    return Ok(label.to_string());
                }
            }
            if Instant::now() > deadline {
                bail!("the peer is not listed with a quality icon: {seen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Two readings of the countdown on screen within one wait, the second
    /// lower: the banner naming the same attempt in both and the countdown
    /// counting in between (a wait that ends first does not count; the
    /// next one is watched). Returns the banner's words and the readings.
    async fn countdown_ticks(&self, within: Duration) -> (String, u32, u32) {
        let start = Instant::now();
        let deadline = start + within;
        let mut first: Option<(String, u32)> = None;
        let mut readings: Vec<(Duration, String)> = Vec::new();
        loop {
            let banner = self.app.seen("banner-text").await;
            let countdown = self.app.seen("banner-countdown").await;
            let left = if banner.visible() && countdown.visible() {
                seconds_left(&countdown.text)
            } else {
                None
            };
            let reading = format!("{:?} {:?}", banner.text, countdown.text);
            if readings.last().is_none_or(|(_, r)| *r != reading) {
                readings.push((start.elapsed(), reading));
            }
            first = match (left, first) {
                (Some(n), Some((b, n0))) if b == banner.text && n < n0 => {
                    eprintln!(
                        "the countdown ticked {:.1} s into the check",
                        start.elapsed().as_secs_f64()
                    );
                    return (b, n0, n);
                }
                (Some(n), Some((b, n0))) if b == banner.text && n == n0 => Some((b, n0)),
                // A countdown can go lower only from 2 s.
                (Some(n), _) if n >= 2 => Some((banner.text, n)),
                _ => None,
            };
            assert!(
                Instant::now() < deadline,
                "the countdown did not tick down on screen within one wait in {within:?}; \
                 the banner and countdown as read, each change once:\n{}",
                readings
                    .iter()
                    .map(|(at, r)| format!("  {:>5.1} s {r}", at.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The attempt the banner names, if it is on screen.
    async fn attempt_shown(&self) -> Option<u32> {
        let seen = self.app.seen("banner-text").await;
        if !seen.visible() {
            return None;
        }
        seen.text
            .strip_prefix("Connection lost — reconnecting (attempt ")?
            .strip_suffix(')')?
            .parse()
            .ok()
    }

    async fn close(self) {
        self.app.close().await.unwrap();
    }
}

/// N in "· next try in N s".
fn seconds_left(countdown: &str) -> Option<u32> {
    countdown
        .strip_prefix("· next try in ")
        .and_then(|s| s.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
}

/// "· next try in N s" with N ≥ 1.
fn counting_down(countdown: &str) -> bool {
    seconds_left(countdown).is_some_and(|n| n >= 1)
}

/// The banner, state by state: not on the join screen, not while the first
/// join runs (its inline error when the server does not answer), not in
/// the call; on a cut, "attempt 1", then (connections refused) a later
/// attempt with the countdown to it, seen ticking down; gone again when
/// the call is back. Each state is a screenshot, and the window's pixels must agree
/// with the page's rendering.
#[tokio::test]
async fn the_banner_is_seen_only_while_reconnecting() {
    let rig = Rig::started("e2e-banner").await;
    rig.app.wait_visible("join-screen", SECS(5)).await.unwrap();
    rig.keep(rig.look("idle", "idle", "e2e-idle").await);

    // The first join, to a server that does not answer: "connecting" for
    // the engine's connect timeout (10 s), then the form says why.
    rig.server.link().unwrap().cut().unwrap();
    rig.click("join-button").await;
    rig.until("connecting", SECS(5), async |r| {
        r.text("connection-state").await == "connecting"
    })
    .await;
    rig.app.wait_visible("call-screen", SECS(5)).await.unwrap();
    // Nobody is known yet: not "Only you in the call".
    assert_eq!(rig.text("people-count").await, "Joining the call…");
    rig.keep(rig.look("connecting", "connecting", "e2e-connecting").await);
    let (kind, text) = inline_error_now(&rig.app, &Default::default()).await;
    assert_eq!(kind, "unreachable", "{text}");
    assert!(text.starts_with("The server cannot be reached"), "{text}");
    assert_eq!(text.matches("reached").count(), 1, "said twice: {text}");

    rig.server.link().unwrap().restore().unwrap();
    rig.join().await;
    rig.app.wait_gone("join-error", SECS(5)).await.unwrap();
    let label = rig.peer_listed(SECS(5)).await.unwrap();
    assert!(label.starts_with("Connection quality: "), "{label}");
    // The peer's quality arrives from the server within seconds.
    rig.until("the peer's quality", SECS(15), async |r| {
        !r.peer_listed(SECS(1)).await.unwrap().ends_with("Unknown")
    })
    .await;
    rig.keep(rig.look("connected", "connected", "e2e-connected").await);

    rig.server.link().unwrap().cut().unwrap();
    rig.until("the banner at attempt 1", SECS(15), async |r| {
        r.text("connection-state").await == "reconnecting" && r.attempt_shown().await.is_some()
    })
    .await;
    assert_eq!(rig.app.seen("banner-text").await.text, BANNER_1);
    assert!(rig.visible("retry-now").await, "Retry now is not on screen");
    // Then the server's host answers again but nothing listens there (a
    // server restarting behind its address): each connection is refused.
    // Attempts fail at once from here, so the waits between them come one
    // after another, growing to 5 s (full jitter). In the silent cut each
    // attempt waits out its 8 s for the path, and the policy's minute
    // holds few waits, at random too short to see a countdown tick.
    let link = rig.server.link().unwrap();
    link.refuse_connections().unwrap();
    link.restore().unwrap();
    // A later attempt and the countdown to it, both in one screenshot.
    let deadline = Instant::now() + SECS(50);
    let reconnecting = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        rig.until("a countdown to the next attempt", left, async |r| {
            counting_down(&r.words().await.countdown)
        })
        .await;
        let look = rig
            .look("reconnecting", "reconnecting", "e2e-reconnecting")
            .await;
        if counting_down(&look.words.countdown) {
            break look;
        }
        // The wait ended during the look: the next one.
    };
    let attempt: u32 = reconnecting
        .words
        .banner
        .strip_prefix("Connection lost — reconnecting (attempt ")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(attempt >= 2, "{:?}", reconnecting.words);
    assert!(
        reconnecting.countdown.visible(),
        "the countdown: {}",
        reconnecting.countdown
    );
    let ink = reconnecting.pixels.ink_in(&reconnecting.countdown);
    assert!(
        ink >= 20,
        "the countdown {:?} is not painted: {ink} pixels drawn in its box ({})",
        reconnecting.words.countdown,
        reconnecting.pixels
    );
    // The banner says it all: no "poor connection" beside it.
    let warning = rig.app.seen("local-warning").await;
    assert!(!warning.visible(), "beside the banner: {warning}");
    rig.keep(reconnecting);
    // The countdown counts down on screen, not only the attempt number.
    let (banner, from, to) = rig.countdown_ticks(SECS(30)).await;
    eprintln!("countdown on screen: {banner}: next try in {from} s, then in {to} s");

    rig.server.link().unwrap().accept_connections().unwrap();
    rig.until("connected again", SECS(20), async |r| {
        r.text("connection-state").await == "connected"
    })
    .await;
    rig.peer_listed(SECS(5)).await.unwrap();
    // The outage is over and said so: its lost packets are not then
    // blamed on the connection (they were, for the window's 10 s).
    let deadline = Instant::now() + SECS(4);
    while Instant::now() < deadline {
        let label = rig.peer_listed(SECS(1)).await.unwrap();
        assert!(
            !label.contains("% packet loss on"),
            "after the outage: {label}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rig.keep(
        rig.look("reconnected", "connected", "e2e-reconnected")
            .await,
    );

    rig.banner_was(&[
        ("idle", false),
        ("connecting", false),
        ("connected", false),
        ("reconnecting", true),
        ("reconnected", false),
    ]);
    rig.close().await;
}

/// UDP blocked on the network: the call connects over TCP and says so as
/// a notice, not an error, drawn on screen.
#[tokio::test]
async fn udp_blocked_is_said_as_a_notice_not_an_error() {
    let rig = Rig::started("e2e-udp-blocked").await;
    rig.app.wait_visible("join-screen", SECS(5)).await.unwrap();
    rig.server.link().unwrap().block_udp().unwrap();
    rig.join().await;
    let notice = rig.app.wait_visible("path-notice", SECS(15)).await.unwrap();
    assert_eq!(
        notice.text,
        "UDP is blocked on this network: connected over TCP, which can add delay"
    );
    assert!(
        !rig.visible("join-error").await,
        "an error beside the notice"
    );
    let (_, drawn) = rig
        .app
        .wait_painted("e2e-udp-blocked", &["path-notice"], SECS(3))
        .await
        .unwrap();
    assert!(drawn[0].painted(), "the notice is not drawn: {}", drawn[0]);
    rig.close().await;
}

/// A cut longer than the policy's minute: "Could not reconnect. Please
/// rejoin." on screen, painted, and no banner; Rejoin brings the call back,
/// without the failure or the banner.
#[tokio::test]
async fn a_long_cut_says_please_rejoin_and_rejoin_brings_the_call_back() {
    // Given up after 20 s, not the policy's 60 (the engine's resilience
    // group holds the call to its 60): what is shown then is the same.
    let rig = Rig::started_with("e2e-fail", &[("RTCSTACK_RECONNECT_DEADLINE_SECS", "20")]).await;
    rig.join().await;
    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    // Detection adds ~3 s.
    let failure = rig.app.wait_visible("failure", SECS(40)).await.unwrap();
    let gave_up = cut_at.elapsed();
    eprintln!("gave up {gave_up:?} after the cut");
    assert!(
        gave_up >= SECS(20),
        "gave up {gave_up:?} after the cut, before the 20 s deadline"
    );
    assert!(
        failure
            .text
            .starts_with("Could not reconnect. Please rejoin."),
        "{failure}"
    );
    assert_eq!(
        rig.text("failure-text").await,
        "Could not reconnect. Please rejoin."
    );
    assert!(rig.visible("rejoin").await, "no Rejoin button on screen");
    let failed = rig.look("disconnected", "disconnected", "e2e-failed").await;
    assert!(
        failed.failure.painted(),
        "the failure is not painted: {}",
        failed.failure
    );
    assert!(
        !rig.visible("join-screen").await,
        "the join form beside the failure"
    );
    rig.keep(failed);

    rig.server.link().unwrap().restore().unwrap();
    rig.click("rejoin").await;
    rig.until("connected again", SECS(20), async |r| {
        r.text("connection-state").await == "connected"
    })
    .await;
    rig.app.wait_gone("failure", SECS(5)).await.unwrap();
    rig.app.wait_visible("call-screen", SECS(5)).await.unwrap();
    rig.peer_listed(SECS(10)).await.unwrap();
    rig.keep(rig.look("rejoined", "connected", "e2e-rejoined").await);

    rig.banner_was(&[("disconnected", false), ("rejoined", false)]);
    rig.close().await;
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
    rig.close().await;
}

#[tokio::test]
async fn poor_quality_shows_the_warning() {
    let rig = Rig::joined("e2e-poor").await;
    rig.app.wait_gone("local-warning", SECS(5)).await.unwrap();
    let before = rig.last_view().await;
    rig.server
        .link()
        .unwrap()
        .degrade(Netem {
            loss_percent: 25.0,
            delay_ms: 0,
            jitter_ms: 0,
        })
        .unwrap();
    let warning = rig
        .app
        .wait_visible("local-warning", SECS(40))
        .await
        .unwrap();
    assert_eq!(warning.text, "⚠ Your connection is poor");
    // The server's score of 25 % loss is Poor (it says Lost only when no
    // packets arrive); the app shows Lost while reconnecting, so "Lost"
    // here would be a false reconnect.
    let quality = rig.app.seen("local-quality").await;
    assert!(quality.visible(), "{quality}");
    assert!(
        quality.text.contains("Poor") && !quality.text.contains("Lost"),
        "{quality}"
    );
    // And no reconnect at any moment of the loss: every view the page has
    // rendered since it began said connected.
    let (first, states): (u64, Vec<String>) = serde_json::from_value(
        rig.app
            .client
            .execute(
                "const s = window.__rtcstackShown; \
                 return [s[0]?.seq ?? 0, s.filter((v) => v.seq > arguments[0]).map((v) => v.state)];",
                vec![serde_json::json!(before)],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        first <= before + 1,
        "the page's record of views since the loss began is incomplete"
    );
    assert!(
        states.iter().all(|s| s == "connected"),
        "the page showed {states:?} under 25 % loss"
    );
    let (_, painted) = rig
        .app
        .wait_painted("e2e-poor-quality", &["local-warning"], SECS(3))
        .await
        .unwrap();
    let painted = &painted[0];
    assert!(painted.ink >= 20, "the warning is not painted: {painted}");
    rig.server.link().unwrap().clear_degrade().unwrap();
    rig.close().await;
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
    let cut_at = Instant::now();
    let lost = notifications
        .wait_for("Connection lost", SECS(20))
        .await
        .unwrap();
    assert!(lost.body.contains("Reconnecting"), "{lost:?}");
    // An 8 s cut: long enough for the signal connection's TCP to back off
    // past the restore (a recovery that trusted it came undone seconds
    // later, with a second "Connection lost").
    tokio::time::sleep(SECS(8).saturating_sub(cut_at.elapsed())).await;
    rig.server.link().unwrap().restore().unwrap();
    notifications
        .wait_for("Reconnected", SECS(20))
        .await
        .unwrap();
    // One cut, one outage: for 30 s the banner stays off the screen, and
    // the cut posted exactly one "Connection lost" and one "Reconnected".
    let quiet_until = Instant::now() + SECS(30);
    rig.app
        .wait_gone("reconnect-banner", SECS(5))
        .await
        .unwrap();
    while Instant::now() < quiet_until {
        let banner = rig.app.seen("reconnect-banner").await;
        assert!(
            !banner.visible(),
            "the banner came back after Reconnected: {banner}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let posted: Vec<String> = notifications
        .posted()
        .into_iter()
        .map(|p| p.summary)
        .collect();
    assert_eq!(
        posted,
        ["Connection lost", "Reconnected"],
        "notifications for one cut"
    );
    let _ = other.kill();
    let _ = other.wait();
    rig.close().await;
}

/// Joins with `url` and `room` typed into the form; returns the inline
/// error's kind and words (see [`inline_error_now`]).
async fn inline_error(
    app: &AppSession,
    url: &str,
    room: &str,
    previous: &(String, String),
) -> (String, String) {
    app.type_into("join-url", url).await.unwrap();
    app.type_into("join-room", room).await.unwrap();
    app.click("join-button").await.unwrap();
    inline_error_now(app, previous).await
}

/// The join form's inline error (kind and words) once one other than
/// `previous` is on screen, with the form beside it and neither the call
/// nor the failure panel.
async fn inline_error_now(app: &AppSession, previous: &(String, String)) -> (String, String) {
    let deadline = Instant::now() + SECS(20);
    loop {
        let seen = app.seen("join-error").await;
        let kind = app
            .client
            .execute(
                "return document.querySelector('[data-testid=join-error]').dataset.kind ?? '';",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        let got = (kind, seen.text.clone());
        let (form, call, failure) = (
            app.seen("join-screen").await,
            app.seen("call-screen").await,
            app.seen("failure").await,
        );
        if seen.visible()
            && &got != previous
            && form.visible()
            && !call.visible()
            && !failure.visible()
        {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "no new inline error alone with the form:\n{seen}\n{form}\n{call}\n{failure}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Blanks the inline error's words and kind, so that the next error is
/// told from it even when it says the same.
async fn forget_inline_error(app: &AppSession) {
    let js = "const e = document.querySelector('[data-testid=join-error]'); \
              e.textContent = ''; e.dataset.kind = '';";
    app.client.execute(js, vec![]).await.unwrap();
}

#[tokio::test]
async fn bad_input_gets_a_clear_inline_error() {
    const ENV_SECRET: &str = "not-the-servers-secret-0123456789";
    const TYPED_SECRET: &str = "typed-secret-the-server-never-had-4f2b9c";
    let _pulse = PulseServer::start().unwrap();
    let server = LiveKitServer::start().await.unwrap();
    // A keychain, so that a profile typed into the form is kept and used;
    // the app's files in a home of its own.
    let keychain = SecretService::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dirs = ["config", "data", "cache"].map(|d| home.path().join(d).display().to_string());
    let home_s = home.path().display().to_string();
    // A key the server does not know: tokens are refused.
    let app = app_with(
        &server,
        "e2e-errors",
        ENV_SECRET,
        &[
            ("DBUS_SESSION_BUS_ADDRESS", keychain.address()),
            ("HOME", &home_s),
            ("XDG_CONFIG_HOME", &dirs[0]),
            ("XDG_DATA_HOME", &dirs[1]),
            ("XDG_CACHE_HOME", &dirs[2]),
        ],
    )
    .await;
    app.wait_gone("join-error", SECS(5)).await.unwrap();
    let url = server.url();
    let none = (String::new(), String::new());
    let empty = inline_error(&app, &url, "  ", &none).await;
    assert_eq!(
        (empty.0.as_str(), empty.1.as_str()),
        ("emptyRoom", "Enter a room name.")
    );
    // Shot again until painted (3 s): the toolkit paints after the DOM
    // changes, and a shot can come first.
    let (_, painted) = app
        .wait_painted("e2e-inline-error", &["join-error"], SECS(3))
        .await
        .unwrap();
    let painted = &painted[0];
    assert!(painted.ink >= 20, "the error is not painted: {painted}");
    let bad_url = inline_error(&app, "localhost:7880", "r", &empty).await;
    assert_eq!(bad_url.0, "invalidUrl", "{}", bad_url.1);
    assert!(bad_url.1.contains("server address"), "{}", bad_url.1);
    let refused = inline_error(&app, "ws://127.0.0.1:9", "r", &bad_url).await;
    assert_eq!(refused.0, "unreachable", "{}", refused.1);
    // A server behind its owner's private authority, which this machine
    // does not trust: said as that, with what to do, never as unreachable.
    let front = TlsFront::start(&server).await.unwrap();
    let untrusted = inline_error(&app, front.url(), "r", &refused).await;
    assert_eq!(untrusted.0, "certificateNotTrusted", "{}", untrusted.1);
    assert!(
        untrusted.1.starts_with(
            "Certificate not trusted: it was issued by an authority this computer does not trust. "
        ),
        "{}",
        untrusted.1
    );
    let (_, painted) = app
        .wait_painted("e2e-certificate-not-trusted", &["join-error"], SECS(3))
        .await
        .unwrap();
    let painted = &painted[0];
    assert!(painted.ink >= 20, "the error is not painted: {painted}");
    // Nothing left of the check the unreachable address started: its
    // lines spoke of that address.
    assert!(
        !app.visible("check-panel").await,
        "a stale check beside the error: {}",
        app.seen("check-panel").await
    );
    let rejected = inline_error(&app, &url, "r", &untrusted).await;
    assert_eq!(rejected.0, "rejected", "{}", rejected.1);

    // Another key the server does not know, typed into the profile form as
    // a person types it: saved, chosen, and refused when used to join.
    app.click("profile-new").await.unwrap();
    app.wait_visible("profile-form", SECS(5)).await.unwrap();
    app.type_into("profile-name", "Typed").await.unwrap();
    app.click("kind-self-hosted").await.unwrap();
    app.type_into("profile-url", &url).await.unwrap();
    app.type_into("profile-room", "r").await.unwrap();
    app.type_into("profile-api-key", server.api_key())
        .await
        .unwrap();
    app.type_into("profile-api-secret", TYPED_SECRET)
        .await
        .unwrap();
    // The page has had it: the search below can find it if it is kept.
    assert_eq!(app.value("profile-api-secret").await, TYPED_SECRET);
    app.click("profile-save").await.unwrap();
    if let Err(e) = app.wait_gone("profile-form", SECS(15)).await {
        panic!("{e:#}\nthe form says: {}", app.seen("profile-error").await);
    }
    assert_ne!(app.value("profile-select").await, "environment");
    assert_eq!(
        keychain.entries().unwrap(),
        1,
        "the typed secret is not kept"
    );
    forget_inline_error(&app).await;
    let typed = inline_error(&app, &url, "r", &none).await;
    assert_eq!(typed.0, "rejected", "{}", typed.1);

    // Neither key, nor any token (the app minted one with the typed key),
    // is in the page, its fields, web storage or any command's answer.
    let places = app.ui_contents().await.unwrap();
    let mut found = Vec::new();
    for (place, bytes) in &places {
        for (what, secret) in [
            ("the typed secret", TYPED_SECRET),
            ("the environment's secret", ENV_SECRET),
        ] {
            if holds_secret(bytes, secret) {
                found.push(format!("{what} in {place}"));
            }
        }
        for jwt in find_jwts(bytes) {
            found.push(format!("{} in {place}", jwt_label(&jwt)));
        }
    }
    println!("searched {} places of the UI", places.len());
    assert!(found.is_empty(), "leaks: {found:#?}");
    app.close().await.unwrap();
}
