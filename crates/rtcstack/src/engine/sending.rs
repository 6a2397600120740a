//! What publishing any track takes (our microphone, camera or screen):
//! announcing it and waiting for the server's answer, adding it to the
//! publisher connection (sending only) and negotiating, reading what the
//! answer gave it, and keeping it on the session's list.

use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use rtc::rtp_transceiver::rtp_sender::RTCRtpParameters;
use tokio::sync::oneshot;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpSender};

use super::protocol::Request;
use super::Session;
use crate::error::ConnectError;

fn media(e: webrtc::error::Error) -> ConnectError {
    ConnectError::Media(e.to_string())
}

impl Session {
    /// Sends `request` (AddTrack) and waits for the server's answer;
    /// `what` names the track in the error if none comes.
    pub(super) async fn announce(
        &self,
        request: proto::AddTrackRequest,
        deadline: Duration,
        what: &str,
    ) -> Result<proto::TrackInfo, ConnectError> {
        let (tx, rx) = oneshot::channel();
        // Registered with the protocol task before the request goes out.
        self.requests
            .send(Request::AwaitTrack {
                cid: request.cid.clone(),
                reply: tx,
            })
            .map_err(|_| ConnectError::Closed)?;
        self.core.signal.send(Req::AddTrack(request)).await;
        tokio::time::timeout(deadline, rx)
            .await
            .map_err(|_| ConnectError::Media(format!("the server did not accept our {what}")))?
            .map_err(|_| ConnectError::Closed)
    }

    /// Adds `track` to the publisher connection, sending only, and
    /// negotiates; returns the parameters the answer gave it (codecs with
    /// their payload types, header extensions with their ids).
    pub(super) async fn send_track(
        &self,
        track: Arc<TrackLocalStaticRTP>,
        deadline: Duration,
    ) -> Result<Sent, ConnectError> {
        let s = &self.core;
        let transceiver = s
            .transports
            .publisher
            .pc
            .add_transceiver_from_track(
                track as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                }),
            )
            .await
            .map_err(media)?;
        {
            let mut turn = s.negotiation.turn().await;
            let pc = s.transports.publisher.pc.as_ref();
            let answer = turn.offer(pc, &s.signal, false).await?;
            answer.applied(deadline).await?;
        }
        let sender = transceiver.sender().await.ok().flatten();
        let parameters = match &sender {
            Some(sender) => Some(sender.get_parameters().await.map_err(media)?.rtp_parameters),
            None => None,
        };
        let mid = transceiver.mid().await.ok().flatten();
        Ok(Sent {
            parameters,
            mid,
            sender,
        })
    }

    /// Takes `sender`'s track off the publisher connection and negotiates:
    /// the server ends the track for everyone (LiveKit has no request of
    /// its own for that). A connection that is gone has nothing to end.
    pub(super) async fn unsend_track(
        &self,
        sender: &Arc<dyn RtpSender>,
        deadline: Duration,
    ) -> Result<(), ConnectError> {
        let s = &self.core;
        s.transports
            .publisher
            .pc
            .remove_track(sender)
            .await
            .map_err(media)?;
        let mut turn = s.negotiation.turn().await;
        let pc = s.transports.publisher.pc.as_ref();
        let answer = turn.offer(pc, &s.signal, false).await?;
        answer.applied(deadline).await
    }

    /// Takes a track off the session's list.
    pub(super) fn forget_published(&self, sid: &str) {
        self.core
            .published
            .lock()
            .expect("published lock")
            .retain(|p| p.track.as_ref().is_none_or(|t| t.sid != sid));
    }

    /// Keeps a published track on the session's list (a mute names it).
    pub(super) fn keep_published(&self, cid: String, info: proto::TrackInfo) {
        self.core
            .published
            .lock()
            .expect("published lock")
            .push(proto::TrackPublishedResponse {
                cid,
                track: Some(info),
            });
    }
}

/// What negotiation gave a sent track.
pub(super) struct Sent {
    pub parameters: Option<RTCRtpParameters>,
    /// Its media section.
    pub mid: Option<String>,
    pub sender: Option<Arc<dyn RtpSender>>,
}

impl Sent {
    /// The payload type of the first codec matching `mime` (any, if empty).
    pub(super) fn payload_type(&self, mime: &str, otherwise: u8) -> u8 {
        self.parameters
            .as_ref()
            .and_then(|p| {
                p.codecs
                    .iter()
                    .find(|c| mime.is_empty() || c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
            })
            .map_or(otherwise, |c| c.payload_type)
    }

    /// The id negotiated for a header extension.
    pub(super) fn extension(&self, uri: &str) -> Option<u8> {
        self.parameters.as_ref().and_then(|p| {
            p.header_extensions
                .iter()
                .find(|e| e.uri == uri)
                .and_then(|e| u8::try_from(e.id).ok())
        })
    }
}
