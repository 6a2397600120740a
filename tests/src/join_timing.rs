//! One join timed the same way for both clients, ours (in this process)
//! and LiveKit's Python SDK (a process of its own that rejoins on command),
//! shared by the join and paths benchmarks.
//!
//! - connected: the peer connection LiveKit's join response calls primary
//!   is connected (ICE and DTLS): what LiveKit's SDK `connect()` waits for,
//!   so for livekit-python it is `Room.connect()` returning; ours is the
//!   engine's `primary_connected` timeline mark.
//! - first audio: the first 20 ms frame that carries the talker's tone
//!   above -40 dBFS (ours at the audio sink, Python in its AudioStream).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rtcstack::{Call, CallOptions, MediaPaths};

use crate::peer::PythonPeer;
use crate::server::LiveKitServer;
use crate::stats::mono;
use crate::timeline::Timeline;
use crate::tokens::TokenSpec;
use crate::tone_watch::ToneWatch;

/// The talker's tone, which both joiners listen for.
pub const TALKER_HZ: f64 = 440.0;
const STEP: Duration = Duration::from_secs(15);

/// One join, seconds from the connect call.
#[derive(Debug, Clone, Default)]
pub struct Join {
    pub connected: f64,
    pub audio: f64,
    /// Ours only: when `connect()` returned, and each timeline mark (a
    /// repeated one numbered) with how many subscriber offers came.
    pub connect_returned: Option<f64>,
    pub marks: BTreeMap<String, f64>,
    pub subscriber_offers: usize,
    /// Ours only: the media's paths as the join ended.
    pub paths: Option<MediaPaths>,
}

pub async fn ours(server: &LiveKitServer, timeline: &Timeline, room: &str) -> Result<Join> {
    let watch = Arc::new(ToneWatch::new("talker"));
    watch.watch(TALKER_HZ);
    let token = server.token(&TokenSpec::join(room, "rust-joiner"))?;
    let mut options = CallOptions::new(server.url(), token);
    options.audio_sink = watch.clone();
    let (call, _events) = Call::new(options);
    let position = timeline.position();
    let t0 = mono();
    call.connect().await.context("connect")?;
    let connect_returned = mono() - t0;
    let primary = timeline
        .wait_for(position, "primary_connected", STEP)
        .await?;
    let heard = watch.wait(STEP).await?;
    let session = primary.session;
    let mut join = Join {
        connected: primary.at - t0,
        audio: heard.at - t0,
        connect_returned: Some(connect_returned),
        ..Join::default()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in timeline.since(position) {
        if m.session != session {
            continue;
        }
        if m.name == "subscriber_offer" {
            join.subscriber_offers += 1;
        }
        // A mark met again (a renegotiation) is kept as "name#2" and on.
        let n = seen.entry(m.name.clone()).or_default();
        *n += 1;
        let key = match *n {
            1 => m.name,
            n => format!("{}#{n}", m.name),
        };
        join.marks.insert(key, m.at - t0);
    }
    join.paths = call.media_paths().await;
    call.leave().await;
    Ok(join)
}

pub async fn python(peer: &mut PythonPeer) -> Result<Join> {
    let mark = peer.mark();
    peer.send(serde_json::json!({"cmd": "watch", "hz": TALKER_HZ, "identity": "talker"}))
        .await?;
    peer.send(serde_json::json!({"cmd": "rejoin"})).await?;
    let joined = peer
        .wait_for_after(mark, "joined", |e| e.kind() == "joined", STEP)
        .await?;
    let heard = peer
        .wait_for_after(
            mark,
            "the talker's tone",
            |e| e.kind() == "heard" && e.str("identity") == Some("talker"),
            STEP,
        )
        .await?;
    let t0 = joined.f64("t0").context("t0")?;
    let join = Join {
        connected: joined.f64("join_seconds").context("join_seconds")?,
        audio: heard.f64("t").context("t")? - t0,
        ..Join::default()
    };
    leave_room(peer).await?;
    Ok(join)
}

/// The Python client out of the room (its process stays) while ours takes
/// its turn.
pub async fn leave_room(peer: &mut PythonPeer) -> Result<()> {
    let mark = peer.mark();
    peer.send(serde_json::json!({"cmd": "disconnect"})).await?;
    peer.wait_for_after(mark, "left_room", |e| e.kind() == "left_room", STEP)
        .await?;
    Ok(())
}

/// LiveKit's Python SDK as the other joiner, on our side of the link: its
/// first join done (the warm-up, not counted) and out of the room again,
/// with the SDK's version.
pub async fn python_joiner(server: &LiveKitServer, room: &str) -> Result<(PythonPeer, String)> {
    let mut py = server
        .spawn_client_peer(crate::peer::PeerOptions::new(room, "py-joiner", 0.0))
        .await?;
    let sdk = py
        .events()
        .iter()
        .find(|e| e.kind() == "joined")
        .and_then(|e| e.str("sdk").map(String::from))
        .unwrap_or_else(|| "?".into());
    leave_room(&mut py).await?;
    Ok((py, sdk))
}

/// One measure of each join that has it.
pub fn column(joins: &[Join], f: impl Fn(&Join) -> Option<f64>) -> Vec<f64> {
    joins.iter().filter_map(f).collect()
}
