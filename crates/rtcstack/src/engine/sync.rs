//! The SyncState a resume sends: what this client has, so the server's view
//! of the session matches ours after the link came back.

use livekit_protocol as proto;
use webrtc::peer_connection::RTCSessionDescription;

use super::Shared;

fn describe(
    d: Option<RTCSessionDescription>,
    kind: &str,
    id: u32,
) -> Option<proto::SessionDescription> {
    d.map(|d| proto::SessionDescription {
        r#type: kind.into(),
        sdp: d.sdp,
        id,
        ..Default::default()
    })
}

/// The subscriber's last offer and answer (dual-PC mode), and our tracks.
/// Subscriptions are automatic, so none are listed as exceptions; our data
/// channels carry nothing that needs replaying.
pub(super) async fn state(s: &Shared) -> proto::SyncState {
    let id = *s.last_offer_id.lock().expect("offer id lock");
    proto::SyncState {
        answer: describe(s.subscriber.local_description().await, "answer", id),
        offer: describe(s.subscriber.remote_description().await, "offer", id),
        subscription: Some(proto::UpdateSubscription {
            track_sids: Vec::new(),
            subscribe: false,
            participant_tracks: Vec::new(),
        }),
        publish_tracks: s.published.lock().expect("published lock").clone(),
        ..Default::default()
    }
}
