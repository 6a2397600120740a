//! Our own engine as the client under test: a call with a capture sink, and
//! waiting until it hears a tone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rtcstack::{Call, CallEvent, CallOptions};
use rtcstack_bot_audio::capture::CaptureSink;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::server::LiveKitServer;
use crate::tokens::TokenSpec;

/// What serves calls: one server, or a cluster behind its balancer.
pub trait Serves {
    /// The URL clients join at.
    fn url(&self) -> String;
    /// A token made to `spec` with this deployment's keys.
    fn token(&self, spec: &TokenSpec) -> Result<String>;
}

impl Serves for LiveKitServer {
    fn url(&self) -> String {
        LiveKitServer::url(self)
    }
    fn token(&self, spec: &TokenSpec) -> Result<String> {
        LiveKitServer::token(self, spec)
    }
}

/// A connected call whose received audio lands in the returned sink.
pub async fn join_with_capture(
    server: &impl Serves,
    room: &str,
    identity: &str,
) -> Result<(Call, Arc<CaptureSink>, UnboundedReceiver<CallEvent>)> {
    join_configured(server, &TokenSpec::join(room, identity), |_| {}).await
}

/// The same, with a token made to `spec` and options adjusted by `configure`
/// (a refresher, a policy).
pub async fn join_configured(
    server: &impl Serves,
    spec: &TokenSpec,
    configure: impl FnOnce(&mut CallOptions),
) -> Result<(Call, Arc<CaptureSink>, UnboundedReceiver<CallEvent>)> {
    let sink = Arc::new(CaptureSink::new());
    let mut options = CallOptions::new(server.url(), server.token(spec)?);
    options.audio_sink = sink.clone();
    configure(&mut options);
    let (call, events) = Call::new(options);
    call.connect().await?;
    Ok((call, sink, events))
}

/// Waits until `sink` hears `identity` at `hz` ± `tol`, audibly (above
/// -40 dBFS over the last 500 ms); returns the frequency heard.
pub async fn wait_hearing(
    sink: &CaptureSink,
    identity: &str,
    hz: f64,
    tol: f64,
    within: Duration,
) -> Result<f64> {
    let deadline = Instant::now() + within;
    let mut last = None;
    loop {
        if let Some(p) = sink.peak_of(identity, 500) {
            if (p.hz - hz).abs() <= tol && p.level_db > -40.0 {
                return Ok(p.hz);
            }
            last = Some(p);
        }
        if Instant::now() > deadline {
            bail!(
                "did not hear {hz} Hz from {identity} within {within:?}; last heard {last:?}, {} samples",
                sink.samples_from(identity)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
