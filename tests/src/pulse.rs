//! A private PulseAudio server with two null sinks, so real device code
//! (cpal over ALSA's pulse plugin) runs on a machine with no sound card:
//! `spk` is the default output (record it through `spk.monitor`), and
//! whatever is played into `mic` is what the default input (`mic.monitor`)
//! hears: a virtual microphone.
//!
//! Every sink is kept clocked by a silent low-latency stream, as a
//! hardware device is clocked by its sound card: an idle null sink renders
//! in 2 s blocks, so a recording started on its monitor waits up to 2 s
//! for its first audio (seen: opening a fallback microphone took 1.7 s),
//! and a stream started on it is not asked for more audio until that block
//! is done (seen: a 0.7 s test sound on the speaker never asked past its
//! first 40 ms). No real microphone or speaker waits like this.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub struct PulseServer {
    daemon: Child,
    dir: tempfile::TempDir,
    /// The silent streams clocking `spk` and `mic`, and those of sinks
    /// added later by their module's index.
    clocks_at_start: Vec<Player>,
    clocks: Mutex<HashMap<u32, Player>>,
}

impl PulseServer {
    /// Starts the server and points this process's audio at it (the
    /// PULSE_SERVER and ALSA_CONFIG_PATH variables): call it before any
    /// audio device is opened, from a test binary that runs one test.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-pulse-")
            .tempdir()?;
        let socket = dir.path().join("native");
        let daemon = Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
            ])
            .arg(format!(
                "--load=module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            // At the call's rate, as a headset's would be: no resampling
            // inside the sound server.
            .arg("--load=module-null-sink sink_name=spk rate=48000 sink_properties=device.description=Speaker")
            .arg("--load=module-null-sink sink_name=mic rate=48000 sink_properties=device.description=Mic")
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("pulse.log"))?)
            .spawn()
            .context("starting pulseaudio (scripts/setup installs it)")?;
        let mut server = PulseServer {
            daemon,
            dir,
            clocks_at_start: Vec::new(),
            clocks: Mutex::default(),
        };
        let asound = server.dir.path().join("asound.conf");
        std::fs::write(
            &asound,
            "</usr/share/alsa/alsa.conf>\npcm.!default { type pulse }\nctl.!default { type pulse }\n",
        )?;
        std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
        std::env::set_var("ALSA_CONFIG_PATH", &asound);
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.pactl(&["info"]).is_err() {
            if Instant::now() > deadline {
                bail!("pulseaudio did not come up: {}", server.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.pactl(&["set-default-sink", "spk"])?;
        server.pactl(&["set-default-source", "mic.monitor"])?;
        server.clocks_at_start = vec![server.clock("spk")?, server.clock("mic")?];
        Ok(server)
    }

    pub fn pactl(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("pactl").args(args).output()?;
        if !out.status.success() {
            bail!("pactl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulse.log")).unwrap_or_default()
    }

    /// Plays 48 kHz mono s16 audio into the virtual microphone, from a
    /// generator called for each 20 ms, until the returned handle drops.
    pub fn play_into_mic(&self, next: impl FnMut(&mut [i16]) + Send + 'static) -> Result<Player> {
        self.play_into("mic", next)
    }

    /// Loads a module (`pactl load-module`); returns its index.
    pub fn load_module(&self, args: &[&str]) -> Result<u32> {
        let mut all = vec!["load-module"];
        all.extend_from_slice(args);
        let out = self.pactl(&all)?;
        out.trim()
            .parse()
            .with_context(|| format!("load-module {args:?} answered {out:?}"))
    }

    pub fn unload_module(&self, index: u32) -> Result<()> {
        let unloaded = self.pactl(&["unload-module", &index.to_string()]).map(drop);
        // After the sink is gone, as a device unplugged stops its clock.
        self.clocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&index);
        unloaded
    }

    /// A new null sink named `name` with a description ("Headset"): a
    /// device plugged in. Its monitor is a new input, clocked as a
    /// microphone is.
    pub fn add_sink(&self, name: &str, description: &str) -> Result<u32> {
        let index = self.load_module(&[
            "module-null-sink",
            &format!("sink_name={name}"),
            "rate=48000",
            &format!("sink_properties=device.description={description}"),
        ])?;
        let clock = self.clock(name)?;
        self.clocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(index, clock);
        Ok(index)
    }

    /// Silence played into `sink` until dropped: the sink then renders
    /// every 10 ms, as a device's clock drives it. PulseAudio sets a sink's
    /// latency to a quarter of a player's 40 ms (the target less two
    /// requests, halved); asked for 10, the sink ran every 2.5 ms, and a
    /// microphone on its monitor was handed 400 pieces a second.
    fn clock(&self, sink: &str) -> Result<Player> {
        let child = Command::new("pacat")
            .args([
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=40",
                "-d",
                sink,
            ])
            .stdin(std::fs::File::open("/dev/zero")?)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pacat")?;
        Ok(Player { child })
    }

    /// The room between our speaker and our microphone, as on a laptop:
    /// what plays on `spk` reaches the `mic` sink `delay_ms` later,
    /// `attenuation_db` quieter.
    pub fn echo_path(&self, delay_ms: u32, attenuation_db: f64) -> Result<u32> {
        let module = self.load_module(&[
            "module-loopback",
            "source=spk.monitor",
            "sink=mic",
            &format!("latency_msec={delay_ms}"),
            "source_dont_move=true",
            "sink_dont_move=true",
            "adjust_time=0",
        ])?;
        let inputs = self.pactl(&["list", "short", "sink-inputs"])?;
        // The loopback's is the one sink input played by module-loopback
        // (loaded once, before any stream plays).
        let input = inputs
            .lines()
            .find(|l| l.contains("module-loopback"))
            .and_then(|l| l.split_whitespace().next())
            .with_context(|| format!("no sink input of module {module}: {inputs}"))?
            .to_string();
        self.pactl(&[
            "set-sink-input-volume",
            &input,
            &format!("{:.1}dB", -attenuation_db),
        ])?;
        Ok(module)
    }

    /// Plays 48 kHz mono s16 audio into `sink`, from a generator called
    /// for each 20 ms, until the returned handle drops.
    pub fn play_into(
        &self,
        sink: &str,
        mut next: impl FnMut(&mut [i16]) + Send + 'static,
    ) -> Result<Player> {
        let mut child = Command::new("pacat")
            .args([
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=40",
                "-d",
                sink,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pacat")?;
        let mut stdin = child.stdin.take().context("pacat stdin")?;
        std::thread::spawn(move || {
            let mut frame = [0i16; 960];
            let mut bytes = Vec::with_capacity(1920);
            loop {
                next(&mut frame);
                bytes.clear();
                bytes.extend(frame.iter().flat_map(|s| s.to_le_bytes()));
                // pacat blocks when its buffer is full: that paces us.
                if stdin.write_all(&bytes).is_err() {
                    return;
                }
            }
        });
        Ok(Player { child })
    }

    /// Records `seconds` of what the default output (`spk`) plays.
    pub fn record_speaker(&self, seconds: f64) -> Result<Vec<i16>> {
        self.record("spk.monitor", seconds)
    }

    /// Records `seconds` of a source (`mic.monitor`: what our microphone
    /// hears).
    pub fn record(&self, source: &str, seconds: f64) -> Result<Vec<i16>> {
        record(source, seconds)
    }

    /// Records `seconds` of a source on a thread of its own, while the
    /// test goes on; join the handle for the samples.
    pub fn record_in_background(
        &self,
        source: &str,
        seconds: f64,
    ) -> std::thread::JoinHandle<Result<Vec<i16>>> {
        let source = source.to_string();
        std::thread::spawn(move || record(&source, seconds))
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            // The whole of it, for reading later; its tail here.
            if let Ok(dir) = crate::app::artifacts_dir() {
                let _ = std::fs::write(dir.join("pulse.log"), &log);
            }
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!("---- pulseaudio log (tail) ----\n{tail}");
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Audio being played into the virtual microphone.
pub struct Player {
    child: Child,
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records `seconds` of `source` from the server this process points at.
fn record(source: &str, seconds: f64) -> Result<Vec<i16>> {
    let mut child = Command::new("parec")
        .args([
            "--raw",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            // Delivered as it comes, not in PulseAudio's default 2 s
            // fragments.
            "--latency-msec=20",
            "-d",
            source,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting parec")?;
    let mut out = child.stdout.take().context("parec stdout")?;
    let want = (seconds * 48_000.0) as usize * 2;
    let mut buf = vec![0u8; want];
    out.read_exact(&mut buf)?;
    let _ = child.kill();
    let _ = child.wait();
    Ok(buf
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}
