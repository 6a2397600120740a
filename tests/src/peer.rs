//! The foreign peer: `tests/peer/peer.py` on the PyPI `livekit` SDK.
//!
//! The bench starts it, reads its JSON lines into a history that tests wait
//! on with deadlines, sends it commands on stdin, and stops it. Its stderr is
//! kept and printed if the test panics.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::lines::{Line, Lines, WaitError};
use crate::netns::NetHost;
use crate::paths;

/// How a peer joins.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    pub room: String,
    pub identity: String,
    /// Tone to publish, Hz; 0 publishes nothing.
    pub tone_hz: f64,
    /// Analyse what it hears (tones, levels); off, it only decodes it, as
    /// a client measured for its cost would.
    pub analyse: bool,
}

impl PeerOptions {
    pub fn new(room: &str, identity: &str, tone_hz: f64) -> Self {
        PeerOptions {
            room: room.to_string(),
            identity: identity.to_string(),
            tone_hz,
            analyse: true,
        }
    }
}

/// One line the peer printed.
pub type PeerEvent = Line;

/// A running Python peer.
pub struct PythonPeer {
    identity: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines,
    stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// libwebrtc's counters of a voice the peer receives, since it began.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceReceived {
    /// Samples played out.
    pub samples: f64,
    /// Of them, made up for lost packets (a frame repaired from the next
    /// packet's in-band copy is not).
    pub concealed: f64,
    pub packets: f64,
    pub lost: f64,
}

impl PythonPeer {
    /// Starts the peer, inside `net` if given, and waits until it has joined.
    pub async fn spawn(
        net: Option<&NetHost>,
        url: &str,
        token: &str,
        opts: &PeerOptions,
    ) -> Result<Self> {
        paths::check_installed()?;
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-peer-")
            .tempdir()?;
        let stderr_path = dir.path().join("stderr.log");
        let std_cmd = match net {
            Some(net) => net.command(paths::python()),
            None => std::process::Command::new(paths::python()),
        };
        let mut cmd = Command::from(std_cmd);
        cmd.arg(paths::peer_script())
            .args(["--url", url, "--tone", &opts.tone_hz.to_string()])
            .args(if opts.analyse {
                &[][..]
            } else {
                &["--analysis", "none"][..]
            })
            // The token goes by environment, never on a command line.
            .env("LK_TOKEN", token)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path)?)
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("starting the Python peer")?;
        let stdout = child.stdout.take().context("peer stdout")?;
        let stdin = child.stdin.take();
        let lines = Lines::follow(stdout);
        let peer = PythonPeer {
            identity: opts.identity.clone(),
            child,
            stdin,
            lines,
            stderr_path,
            _dir: dir,
        };
        peer.wait_for("joined", |e| e.kind() == "joined", Duration::from_secs(30))
            .await?;
        Ok(peer)
    }

    /// The peer's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// A position in the event history, to wait for events after it.
    pub fn mark(&self) -> usize {
        self.lines.mark()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<PeerEvent> {
        self.lines.all()
    }

    /// Waits for an event matching `pred`, anywhere in the history.
    pub async fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&PeerEvent) -> bool,
        within: Duration,
    ) -> Result<PeerEvent> {
        self.wait_for_after(0, what, pred, within).await
    }

    /// Waits for an event matching `pred` at or after `mark`.
    pub async fn wait_for_after(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&PeerEvent) -> bool,
        within: Duration,
    ) -> Result<PeerEvent> {
        match self.lines.wait_after(mark, pred, within).await {
            Ok(e) => Ok(e),
            Err(WaitError::Closed) => bail!(
                "peer {} exited while waiting for {what}; stderr:\n{}",
                self.identity,
                self.stderr_tail(40)
            ),
            Err(WaitError::TimedOut) => bail!(
                "peer {}: no {what} within {within:?}; last events:\n{}",
                self.identity,
                self.lines.last(15)
            ),
        }
    }

    /// Waits until the peer hears `from` at `hz` ± `tolerance` and audibly
    /// (above -40 dBFS), and returns the measured frequency.
    pub async fn wait_for_tone(
        &self,
        from: &str,
        hz: f64,
        tolerance: f64,
        within: Duration,
    ) -> Result<f64> {
        self.wait_for_tone_after(0, from, hz, tolerance, within)
            .await
    }

    /// Like [`wait_for_tone`](Self::wait_for_tone), counting only reports
    /// at or after `mark`.
    pub async fn wait_for_tone_after(
        &self,
        mark: usize,
        from: &str,
        hz: f64,
        tolerance: f64,
        within: Duration,
    ) -> Result<f64> {
        let e = self
            .wait_for_after(
                mark,
                &format!("{hz} Hz from {from}"),
                |e| e.is_tone(from, hz, tolerance),
                within,
            )
            .await?;
        Ok(e.f64("hz").unwrap_or_default())
    }

    /// Sends a command line (see peer.py) to the peer.
    pub async fn send(&mut self, cmd: Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("peer stdin closed")?;
        let mut line = serde_json::to_vec(&cmd)?;
        line.push(b'\n');
        stdin.write_all(&line).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Asks the peer to send a `SimulateScenario` on its own connection,
    /// e.g. `SIMULATE_SIGNAL_RECONNECT`, `SIMULATE_NODE_FAILURE`,
    /// `SIMULATE_MIGRATION`, `SIMULATE_SERVER_LEAVE`, `SIMULATE_FORCE_TCP`.
    pub async fn simulate(&mut self, scenario: &str) -> Result<()> {
        let mark = self.mark();
        self.send(serde_json::json!({"cmd": "simulate", "scenario": scenario}))
            .await?;
        let e = self
            .wait_for_after(
                mark,
                &format!("ack of {scenario}"),
                |e| e.kind() == "simulated" || e.kind() == "error",
                Duration::from_secs(10),
            )
            .await?;
        if e.kind() == "error" {
            bail!("{scenario}: {}", e.str("message").unwrap_or("failed"));
        }
        Ok(())
    }

    /// When each picture the peer published so far was handed to its SDK,
    /// by frame number (wall clock, seconds since the Unix epoch).
    pub async fn video_sent(&mut self) -> Result<Vec<f64>> {
        let mark = self.mark();
        self.send(serde_json::json!({"cmd": "video_sent"})).await?;
        let e = self
            .wait_for_after(
                mark,
                "video_sent",
                |e| e.kind() == "video_sent",
                Duration::from_secs(10),
            )
            .await?;
        let times = e.0["times"]
            .as_array()
            .context("video_sent without its times")?;
        Ok(times.iter().filter_map(Value::as_f64).collect())
    }

    /// libwebrtc's counters of `identity`'s voice as received here.
    pub async fn audio_received(&mut self, identity: &str) -> Result<VoiceReceived> {
        let mark = self.mark();
        self.send(serde_json::json!({"cmd": "audio_received", "identity": identity}))
            .await?;
        let e = self
            .wait_for_after(
                mark,
                "audio_received",
                |e| e.kind() == "audio_received" || e.kind() == "error",
                Duration::from_secs(10),
            )
            .await?;
        if e.kind() == "error" {
            bail!("the peer could not read {identity}'s voice: {:?}", e.0);
        }
        let count = |field: &str| {
            e.f64(field)
                .with_context(|| format!("audio_received without {field}: {:?}", e.0))
        };
        Ok(VoiceReceived {
            samples: count("samples")?,
            concealed: count("concealed")?,
            packets: count("packets")?,
            lost: count("lost")?,
        })
    }

    /// Leaves the room and waits for the process to end.
    pub async fn leave(mut self) -> Result<()> {
        self.send(serde_json::json!({"cmd": "leave"})).await?;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => bail!("peer {} did not exit within 10 s of leave", self.identity),
        }
    }

    fn stderr_tail(&self, n: usize) -> String {
        crate::tail::file_tail(&self.stderr_path, n)
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- peer {} (last events) ----\n{}\n---- stderr ----\n{}",
                self.identity,
                self.lines.last(20),
                self.stderr_tail(40)
            );
        }
        let _ = self.child.start_kill();
    }
}
