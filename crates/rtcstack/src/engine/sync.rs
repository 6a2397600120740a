//! The SyncState a resume sends: what this client has, so the server's view
//! of the session matches ours after the link came back.

use livekit_protocol as proto;
use webrtc::peer_connection::RTCSessionDescription;

use super::Core;

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

/// The last offer and answer (in single-PC mode ours and the server's, in
/// dual-PC mode the server's subscriber offer and our answer), and our
/// tracks. Subscriptions are automatic, so none are listed as exceptions;
/// our data channels carry nothing that needs replaying.
pub(super) async fn state(s: &Core, server_offer_id: u32) -> proto::SyncState {
    let (offer, answer) = match &s.transports.subscriber {
        None => {
            let pc = &s.transports.publisher.pc;
            (
                describe(pc.local_description().await, "offer", 0),
                describe(pc.remote_description().await, "answer", 0),
            )
        }
        Some(subscriber) => {
            let id = server_offer_id;
            (
                describe(subscriber.pc.remote_description().await, "offer", id),
                describe(subscriber.pc.local_description().await, "answer", id),
            )
        }
    };
    proto::SyncState {
        answer,
        offer,
        subscription: Some(proto::UpdateSubscription {
            track_sids: Vec::new(),
            subscribe: false,
            participant_tracks: Vec::new(),
        }),
        publish_tracks: s.published.lock().expect("published lock").clone(),
        ..Default::default()
    }
}
