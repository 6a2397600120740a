//! The app in a call, watched through what its page showed, for the OS
//! integration tests (`tests/power.rs`) and `scripts/bench netchange`:
//! a real server in its namespace with the Python peer beside it, a
//! private PulseAudio, and the app joined through its own join form.
//!
//! [`measure`] moves the app's address mid-call (as a network switch does)
//! and times the change to `reconnecting` and to `connected` again, from
//! the views the Rust side stamped (`sentAtMs`) as the page recorded them.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::app::AppSession;
use crate::peer::{PeerOptions, PythonPeer};
use crate::pulse::PulseServer;
use crate::server::LiveKitServer;

/// The far side: a server and a peer playing a tone.
pub struct Far {
    pub server: LiveKitServer,
    pub peer: PythonPeer,
    pub pulse: PulseServer,
    pub room: String,
}

impl Far {
    /// A server with a peer ("py-440", 440 Hz) in `room`, and a private
    /// PulseAudio for the app (its microphone and speaker).
    pub async fn start(room: &str) -> Result<Far> {
        let pulse = PulseServer::start()?;
        let server = LiveKitServer::start().await?;
        let peer = server
            .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
            .await?;
        Ok(Far {
            server,
            peer,
            pulse,
            room: room.to_string(),
        })
    }
}

/// One view as the page recorded it (see `ui/src/call.ts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    pub seq: f64,
    pub sent_at_ms: f64,
    pub shown_at_ms: f64,
    pub state: String,
    pub banner: Option<String>,
    pub token_expires_at_ms: Option<f64>,
}

/// The app joined to the far side's room.
pub struct AppCall {
    pub far: Far,
    pub app: AppSession,
}

/// The wall clock in Unix ms, as the app stamps its views.
pub fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl AppCall {
    /// Starts the app with the server's key, `url` as its server (the
    /// server's own, or a proxy's) and `envs` added; joins as "Ada" and
    /// waits for the call to be connected with the peer listed.
    pub async fn join(far: Far, url: &str, envs: &[(&str, &str)]) -> Result<AppCall> {
        let call = AppCall::open(far, url, envs).await?;
        call.join_as_ada().await?;
        Ok(call)
    }

    /// The app started with the server's key, `url` as its server and
    /// `envs` added, on its join screen (ready for input), not joined.
    pub async fn open(far: Far, url: &str, envs: &[(&str, &str)]) -> Result<AppCall> {
        let mut all = vec![
            ("RTCSTACK_SERVER_URL", url),
            ("RTCSTACK_API_KEY", far.server.api_key()),
            ("RTCSTACK_API_SECRET", far.server.api_secret()),
            ("RTCSTACK_ROOM", far.room.as_str()),
            ("RUST_LOG", "warn,rtcstack=debug,rtcstack_desktop=debug"),
        ];
        all.extend_from_slice(envs);
        let app = AppSession::start(&all).await?;
        app.wait_ready(Duration::from_secs(20)).await?;
        Ok(AppCall { far, app })
    }

    /// Joins through the form as "Ada" and waits for the call to be
    /// connected with the peer listed.
    pub async fn join_as_ada(&self) -> Result<()> {
        let call = self;
        call.js(
            "const n = document.querySelector('[data-testid=join-name]'); n.value = 'Ada'; \
             document.querySelector('[data-testid=join-button]').click();",
        )
        .await?;
        call.wait_view("connected", 0.0, Duration::from_secs(30), |v| {
            v.state == "connected"
        })
        .await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while call
            .js("return !!document.querySelector('li[data-identity=\"py-440\"]');")
            .await?
            .as_bool()
            != Some(true)
        {
            if Instant::now() > deadline {
                bail!("the peer is not listed");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Clicks a voice-processing switch in the page (`id`) and waits until
    /// the audio has the stage (`field` of the audio view's stages) `on`.
    pub async fn switch_stage(&self, id: &str, field: &str, on: bool) -> Result<()> {
        self.app.click(id).await?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let v = self.app.invoke("audio_view", serde_json::json!({})).await?;
            if v["ok"]["stages"][field] == on {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{field} never became {on}: {v}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Our participant's identity, as the peer saw "Ada" join.
    pub async fn ada_identity(&self) -> Result<String> {
        let e = self
            .far
            .peer
            .wait_for(
                "Ada joining",
                |e| e.kind() == "participant_joined" && e.str("name") == Some("Ada"),
                Duration::from_secs(10),
            )
            .await?;
        e.str("identity")
            .map(str::to_string)
            .context("Ada joined without an identity")
    }

    pub async fn js(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.app.client.execute(script, vec![]).await?)
    }

    /// Every view the page has shown (the last 500).
    pub async fn views(&self) -> Result<Vec<Shown>> {
        let v = self.js("return window.__rtcstackShown;").await?;
        serde_json::from_value(v).context("reading window.__rtcstackShown")
    }

    /// The first view stamped after `after_ms` that satisfies `pred`.
    pub async fn wait_view(
        &self,
        what: &str,
        after_ms: f64,
        within: Duration,
        pred: impl Fn(&Shown) -> bool,
    ) -> Result<Shown> {
        let deadline = Instant::now() + within;
        loop {
            let views = self.views().await.unwrap_or_default();
            if let Some(v) = views.iter().find(|v| v.sent_at_ms >= after_ms && pred(v)) {
                return Ok(v.clone());
            }
            if Instant::now() > deadline {
                let tail: Vec<_> = views
                    .iter()
                    .rev()
                    .take(8)
                    .map(|v| (v.state.clone(), v.banner.clone()))
                    .collect();
                bail!("{what}: no such view within {within:?}; last views (newest first) {tail:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The app's log so far (its stderr, with the drivers').
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.app.stderr_path()).unwrap_or_default()
    }

    /// Waits until the app's log has a line containing `needle`.
    pub async fn wait_log(&self, needle: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            if Instant::now() > deadline {
                bail!(
                    "the app never logged {needle:?} within {within:?}; its log ends:\n{}",
                    crate::tail::file_tail(&self.app.stderr_path(), 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

/// One address move, timed.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// From the move to the view saying `reconnecting`.
    pub to_reconnecting: Duration,
    /// From the move to the view saying `connected` again.
    pub to_connected: Duration,
}

/// Joins, moves the app's address mid-call and times the recovery. With
/// `monitor` false the app runs with `RTCSTACK_NETWORK_MONITOR=off`, and
/// finds out from its timeouts. The app has no system bus here
/// (`DBUS_SYSTEM_BUS_ADDRESS` points nowhere): it must join all the same.
pub async fn measure(room: &str, monitor: bool) -> Result<(AppCall, Sample)> {
    let far = Far::start(room).await?;
    let url = far.server.url();
    let call = AppCall::join(
        far,
        &url,
        &[
            (
                "RTCSTACK_NETWORK_MONITOR",
                if monitor { "on" } else { "off" },
            ),
            (
                "DBUS_SYSTEM_BUS_ADDRESS",
                "unix:path=/nonexistent/system_bus_socket",
            ),
        ],
    )
    .await?;
    if monitor {
        // The monitor has read the call's path (its baseline) before the move.
        call.wait_log(
            "network monitor: watching the path to",
            Duration::from_secs(10),
        )
        .await?;
    }
    let at = wall_ms();
    call.far.server.link()?.move_client()?;
    let lost = call
        .wait_view(
            "reconnecting after the move",
            at,
            Duration::from_secs(30),
            |v| v.state == "reconnecting",
        )
        .await?;
    let back = call
        .wait_view(
            "connected after the move",
            lost.sent_at_ms,
            Duration::from_secs(45),
            |v| v.state == "connected",
        )
        .await?;
    // The app's account of it, for reading later.
    if let Ok(dir) = crate::app::artifacts_dir() {
        let _ = std::fs::copy(
            call.app.stderr_path(),
            dir.join(format!("netchange-{room}.log")),
        );
    }
    let ms = |t: f64| Duration::from_secs_f64(((t - at) / 1000.0).max(0.0));
    Ok((
        call,
        Sample {
            to_reconnecting: ms(lost.sent_at_ms),
            to_connected: ms(back.sent_at_ms),
        },
    ))
}
