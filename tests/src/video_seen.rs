//! What LiveKit's Python SDK reports of the video we send: its reports
//! gathered, and judged as the pattern decoded whole.

use std::time::Duration;

use crate::peer::{PeerEvent, PythonPeer};
use crate::server::LiveKitServer;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The peer's reports of our video, `n` of them after the first (which
/// covers the start-up), summed.
pub async fn peer_sees(peer: &PythonPeer, identity: &str, n: usize) -> Vec<PeerEvent> {
    peer_sees_after(peer, 0, identity, n).await
}

/// The same from the peer's event `mark` on: the first report after it
/// (which may cover a pause) left out.
pub async fn peer_sees_after(
    peer: &PythonPeer,
    mark: usize,
    identity: &str,
    n: usize,
) -> Vec<PeerEvent> {
    let ours = |e: &PeerEvent| e.kind() == "video_seen" && e.str("identity") == Some(identity);
    let first = peer
        .wait_for_after(mark, "the peer's first report of our video", ours, SECS(15))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut mark = peer
        .events()
        .iter()
        .position(|e| e.0 == first.0)
        .unwrap_or(0)
        + 1;
    while seen.len() < n {
        let e = peer
            .wait_for_after(mark, "the peer's next report of our video", ours, SECS(5))
            .await
            .unwrap();
        mark = peer
            .events()
            .iter()
            .position(|x| x.0 == e.0)
            .unwrap_or(mark)
            + 1;
        seen.push(e);
    }
    seen
}

/// The peer's reports `seen` say our pattern was decoded whole: at least
/// 25 fps, at most 5 % of the frame numbers skipped and none going back,
/// every frame in the pattern's colours, all of `size`. A picture seen
/// again where the server switched the peer to another layer's copy of it
/// is not a step back (the server may move a viewer between layers at
/// any time, and both layers hold that picture).
pub fn decoded_whole(seen: &[PeerEvent], size: (f64, f64)) {
    decoded_at(seen, size, 25.0, 0.05, 0.0);
}

/// The same at `min_fps` or more, with up to `max_skipped` of the numbers
/// skipped (a shared screen is read at 10 fps from a source that draws
/// more) and `max_back` of the frames not newer than the one before.
/// Returns the rate decoded.
pub fn decoded_at(
    seen: &[PeerEvent],
    size: (f64, f64),
    min_fps: f64,
    max_skipped: f64,
    max_back: f64,
) -> f64 {
    let sum = |f: &str| seen.iter().map(|e| e.f64(f).unwrap_or(0.0)).sum::<f64>();
    let (frames, seconds) = (sum("frames"), sum("seconds"));
    let (skipped, backwards, switched) = (sum("skipped"), sum("backwards"), sum("again_at_switch"));
    let (off, worst) = (
        sum("off_colour"),
        seen.iter()
            .filter_map(|e| e.f64("worst"))
            .fold(0.0, f64::max),
    );
    let fps = frames / seconds;
    let sizes: Vec<(f64, f64)> = seen
        .iter()
        .map(|e| {
            (
                e.f64("width").unwrap_or(0.0),
                e.f64("height").unwrap_or(0.0),
            )
        })
        .collect();
    eprintln!(
        "the peer decoded {frames} frames in {seconds:.2} s = {fps:.1} fps, {skipped} skipped, \
         {backwards} back, {switched} again at a layer switch, {off} off colour (worst {worst}), \
         sizes {sizes:?}"
    );
    assert!(fps >= min_fps, "{fps:.1} fps at the peer");
    assert!(
        skipped / (frames + skipped) <= max_skipped,
        "{skipped} of {} frames skipped",
        frames + skipped
    );
    assert!(
        backwards <= max_back * frames,
        "{backwards} of {frames} frame numbers not newer than the one before"
    );
    assert_eq!(off, 0.0, "frames off the pattern's colours (worst {worst})");
    assert!(sizes.iter().all(|s| *s == size), "sizes {sizes:?}");
    fps
}

/// A peer's event of `kind` about the track `sid` ("track_muted", ...).
pub fn of_track(kind: &'static str, sid: &str) -> impl Fn(&PeerEvent) -> bool {
    let sid = sid.to_owned();
    move |e: &PeerEvent| e.kind() == kind && e.str("track_sid") == Some(sid.as_str())
}

/// Whether the server lists the track `sid` in `room` as muted; `None` if
/// it does not list it.
pub async fn listed_muted(server: &LiveKitServer, room: &str, sid: &str) -> Option<bool> {
    let listed = server.room_service().list_participants(room).await.unwrap();
    let track = listed.iter().flat_map(|p| &p.tracks).find(|t| t.sid == sid);
    track.map(|t| t.muted)
}
