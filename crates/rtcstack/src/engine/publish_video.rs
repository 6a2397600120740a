//! Our camera on the session: the track announced (AddTrack, with its one
//! layer), added to the publisher connection and negotiated, then fed by
//! its sender.

use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::oneshot;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use super::protocol::Request;
use super::{peer, send_video, Session};
use crate::error::ConnectError;
use crate::video::io::{SharedVideoInput, VideoInput};

impl Session {
    /// Publishes a camera track fed by `input`; returns its track sid.
    pub(crate) async fn publish_video(
        &self,
        input: SharedVideoInput,
        deadline: Duration,
    ) -> Result<String, ConnectError> {
        let s = &self.core;
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let format = input.format();
        let cid = format!("TR_local_{}", rand::random::<u32>());
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::AwaitTrack {
                cid: cid.clone(),
                reply: tx,
            })
            .map_err(|_| ConnectError::Closed)?;
        let ssrc: u32 = rand::random();
        s.signal
            .send(Req::AddTrack(proto::AddTrackRequest {
                cid: cid.clone(),
                name: "camera".into(),
                r#type: proto::TrackType::Video as i32,
                source: proto::TrackSource::Camera as i32,
                width: format.width,
                height: format.height,
                // The one layer the server can forward, so it knows its size.
                layers: vec![proto::VideoLayer {
                    quality: proto::VideoQuality::High as i32,
                    width: format.width,
                    height: format.height,
                    bitrate: send_video::bitrate_for(format) * 1_000,
                    ssrc,
                    ..Default::default()
                }],
                ..Default::default()
            }))
            .await;
        let info = tokio::time::timeout(deadline, rx)
            .await
            .map_err(|_| ConnectError::Media("the server did not accept our camera".into()))?
            .map_err(|_| ConnectError::Closed)?;

        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            cid.clone(),
            cid.clone(),
            "camera".into(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: peer::vp8_codec(),
                ..Default::default()
            }],
        )));
        let transceiver = s
            .transports
            .publisher
            .pc
            .add_transceiver_from_track(
                Arc::clone(&track) as Arc<dyn TrackLocal>,
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
        // The payload type the answer gave VP8.
        let payload_type = match transceiver.sender().await {
            Ok(Some(sender)) => sender
                .get_parameters()
                .await
                .map_err(media)?
                .rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/vp8"))
                .map(|c| c.payload_type)
                .unwrap_or(96),
            _ => 96,
        };
        tokio::spawn(send_video::send_video(
            track,
            ssrc,
            payload_type,
            input,
            Arc::clone(&s.stop),
        ));
        let sid = info.sid.clone();
        s.published
            .lock()
            .expect("published lock")
            .push(proto::TrackPublishedResponse {
                cid,
                track: Some(info),
            });
        Ok(sid)
    }
}
