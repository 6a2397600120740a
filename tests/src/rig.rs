//! A two-party call for fault tests: our engine as "rust-880" (sending
//! 880 Hz, capturing what it hears) and a Python peer "py-440" (440 Hz) on a
//! real server in its own namespace; with checks that both hear each other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtcstack::{Call, CallEvent, CallOptions};
use rtcstack_bot_audio::capture::CaptureSink;
use rtcstack_bot_audio::tone::Tone;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::client::{join_configured, Serves};
use crate::peer::{PeerOptions, PythonPeer};
use crate::server::LiveKitServer;
use crate::tokens::TokenSpec;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// `S` is what serves the call: one server, or a cluster.
pub struct Rig<S = LiveKitServer> {
    pub server: S,
    pub peer: PythonPeer,
    pub call: Call,
    pub sink: Arc<CaptureSink>,
    pub events: UnboundedReceiver<CallEvent>,
    pub seen: Vec<CallEvent>,
    /// When the call's connect returned (its signal pings count from about
    /// then).
    pub joined_at: Instant,
}

impl Rig {
    pub async fn start(room: &str) -> Rig {
        Rig::start_with(room, &TokenSpec::join(room, "rust-880"), |_, _| {}).await
    }

    /// A call as "rust-880" with a token made to `spec` and options adjusted
    /// by `configure`, talking with a Python peer.
    pub async fn start_with(
        room: &str,
        spec: &TokenSpec,
        configure: impl FnOnce(&mut CallOptions, &LiveKitServer),
    ) -> Rig {
        let server = LiveKitServer::start().await.unwrap();
        let peer = server
            .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
            .await
            .unwrap();
        Rig::join(server, peer, spec, configure).await
    }
}

impl<S: Serves> Rig<S> {
    /// Our call on `server` as "rust-880" (a token made to `spec`, options
    /// adjusted by `configure`), sending 880 Hz to `peer`, both hearing
    /// each other.
    pub async fn join(
        server: S,
        peer: PythonPeer,
        spec: &TokenSpec,
        configure: impl FnOnce(&mut CallOptions, &S),
    ) -> Rig<S> {
        let (call, sink, events) = join_configured(&server, spec, |o| configure(o, &server))
            .await
            .unwrap();
        let joined_at = Instant::now();
        call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
            .await
            .unwrap();
        let rig = Rig {
            server,
            peer,
            call,
            sink,
            events,
            seen: Vec::new(),
            joined_at,
        };
        rig.both_ways("before the fault").await;
        rig
    }
}

impl<S> Rig<S> {
    /// Our tone heard by the peer and the peer's heard by us, from now on.
    pub async fn both_ways(&self, when: &str) {
        let mark = self.peer.mark();
        self.peer
            .wait_for_tone_after(mark, "rust-880", 880.0, 5.0, SECS(20))
            .await
            .unwrap_or_else(|e| panic!("our tone {when}: {e}"));
        let before = self.sink.samples_from("py-440");
        let deadline = Instant::now() + SECS(20);
        loop {
            let fresh = self.sink.samples_from("py-440") > before + 24_000;
            let tone = self
                .sink
                .peak_of("py-440", 500)
                .is_some_and(|p| (p.hz - 440.0).abs() <= 5.0 && p.level_db > -40.0);
            if fresh && tone {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the peer's tone not heard {when}: {} new samples, last heard {:?}; events {:?}",
                self.sink.samples_from("py-440") - before,
                self.sink.peak_of("py-440", 500),
                &self.seen[self.seen.len().saturating_sub(12)..]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Records the call's events for `span` and fails at the first that
    /// matches `bad`: for a call that must stay as it is (no second outage
    /// after a recovery, no false alarm under loss).
    pub async fn none_within(
        &mut self,
        what: &str,
        span: Duration,
        bad: impl Fn(&CallEvent) -> bool,
    ) {
        let deadline = Instant::now() + span;
        let from = self.seen.len();
        while let Some(e) = self.next_before(deadline).await {
            assert!(
                !bad(&e),
                "{what} within {span:?}: {e:?}; events since: {:?}",
                &self.seen[from..]
            );
        }
    }

    /// Waits for an event matching `pred`, recording everything seen.
    pub async fn wait_event(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&CallEvent) -> bool,
    ) -> CallEvent {
        let deadline = Instant::now() + within;
        loop {
            match self.next_before(deadline).await {
                Some(e) if pred(&e) => return e,
                Some(_) => {}
                None => panic!("no {what} within {within:?}; saw {:?}", self.seen),
            }
        }
    }

    /// The call's next event, recorded in `seen`; `None` once `deadline`
    /// has passed.
    async fn next_before(&mut self, deadline: Instant) -> Option<CallEvent> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.events.recv()).await {
            Ok(Some(e)) => {
                self.seen.push(e.clone());
                Some(e)
            }
            Ok(None) => panic!("the call's events ended; saw {:?}", self.seen),
            Err(_) => None,
        }
    }
}
