//! A crowd for big rooms: participants on our engine, in this process, each
//! publishing a microphone (a tone for the few who talk, silence for the
//! rest) and receiving nobody's audio, so that fifty fit on two cores beside
//! the server and the app under test.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rtcstack::audio::io::AudioInput;
use rtcstack::{Call, CallOptions};
use rtcstack_bot_audio::tone::Tone;

use crate::tokens::TokenSpec;

/// Joins at a time: each is a DTLS handshake and ICE on two cores.
const BATCH: usize = 6;

pub struct Crowd {
    calls: Vec<Call>,
    identities: Vec<String>,
}

impl Crowd {
    /// `n` participants "crowd-00", "crowd-01", … (named "Crowd 00", …) in
    /// `room` at `url`, with tokens from `token`. The last `talking` talk
    /// (see [`Talk`]): a list sorted by name alone would put them last.
    /// Member `i` is at 300 + 40·i Hz ([`Crowd::tone_hz`]).
    pub async fn join(
        url: &str,
        room: &str,
        n: usize,
        talking: usize,
        token: impl Fn(&TokenSpec) -> Result<String>,
    ) -> Result<Crowd> {
        let started = Instant::now();
        let mut crowd = Crowd {
            calls: Vec::with_capacity(n),
            identities: Vec::with_capacity(n),
        };
        for batch in (0..n).collect::<Vec<_>>().chunks(BATCH) {
            let mut joins = Vec::new();
            for &i in batch {
                let identity = Crowd::identity(i);
                let spec = TokenSpec::join(room, &identity).name(&format!("Crowd {i:02}"));
                let mut options = CallOptions::new(url, token(&spec)?);
                options.auto_subscribe = false;
                let hz = Crowd::tone_hz(i);
                let input: Box<dyn AudioInput> = if i >= n - talking.min(n) {
                    Box::new(Talk::new(hz))
                } else {
                    Box::new(Tone::new(hz, 0.0))
                };
                joins.push(async move {
                    let (call, _events) = Call::new(options);
                    call.connect()
                        .await
                        .with_context(|| format!("{identity} joining"))?;
                    call.publish_audio(input)
                        .await
                        .with_context(|| format!("{identity} publishing"))?;
                    anyhow::Ok((call, identity))
                });
            }
            for joined in futures_util::future::join_all(joins).await {
                let (call, identity) = joined?;
                crowd.calls.push(call);
                crowd.identities.push(identity);
            }
        }
        eprintln!("crowd of {n} joined in {:?}", started.elapsed());
        Ok(crowd)
    }

    /// Member `i`'s identity.
    pub fn identity(i: usize) -> String {
        format!("crowd-{i:02}")
    }

    /// The tone member `i` talks at.
    pub fn tone_hz(i: usize) -> f64 {
        300.0 + 40.0 * i as f64
    }

    /// The talkers' identities, as [`Crowd::join`] picks them.
    pub fn talkers(n: usize, talking: usize) -> Vec<String> {
        (n - talking.min(n)..n).map(Crowd::identity).collect()
    }

    pub fn identities(&self) -> &[String] {
        &self.identities
    }

    /// Whether every member is still connected.
    pub fn all_connected(&self) -> bool {
        self.calls
            .iter()
            .all(|c| c.connection_state() == rtcstack::ConnectionState::Connected)
    }

    pub async fn leave(self) {
        let leaves = self.calls.iter().map(|c| c.leave());
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            futures_util::future::join_all(leaves),
        )
        .await;
    }
}

/// A talker: a tone in phrases, 2 s on and 1 s off, as speech pauses.
/// LiveKit's server announces a speaker to the others when their level
/// changes: a steady tone that began before someone joined stays
/// unannounced to them (the level it reports does not move).
struct Talk {
    tone: Tone,
    frame: u32,
}

impl Talk {
    fn new(hz: f64) -> Self {
        Talk {
            tone: Tone::new(hz, 0.3),
            frame: 0,
        }
    }
}

impl AudioInput for Talk {
    fn next_frame(&mut self, out: &mut [i16]) {
        self.tone.fill(out);
        self.frame = self.frame.wrapping_add(1);
        // 150 frames of 20 ms: 100 talking, 50 paused.
        if self.frame % 150 >= 100 {
            out.fill(0);
        }
    }
}
