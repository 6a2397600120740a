//! Our camera on the session: the track announced (AddTrack, with its
//! simulcast layers), added to the publisher connection with one encoding
//! per layer and negotiated, then fed by its sender.

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
use crate::video::io::{SharedVideoInput, VideoInput, VideoSource};
use crate::video::simulcast::{self, Layer};

const SDES_MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const SDES_RTP_STREAM_ID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// LiveKit's quality for each of our layers.
fn quality(rid: &str) -> proto::VideoQuality {
    match rid {
        "q" => proto::VideoQuality::Low,
        "h" => proto::VideoQuality::Medium,
        _ => proto::VideoQuality::High,
    }
}

impl Session {
    /// Publishes a video track (camera or screen) fed by `input`; returns
    /// its track sid.
    pub(crate) async fn publish_video(
        &self,
        input: SharedVideoInput,
        source: VideoSource,
        deadline: Duration,
    ) -> Result<String, ConnectError> {
        let s = &self.core;
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let format = input.format();
        let name = match source {
            VideoSource::Camera => "camera",
            VideoSource::Screen => "screen",
        };
        let cid = format!("TR_local_{}", rand::random::<u32>());
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::AwaitTrack {
                cid: cid.clone(),
                reply: tx,
            })
            .map_err(|_| ConnectError::Closed)?;
        let layers: Vec<(Layer, u32)> = simulcast::plan(format)
            .into_iter()
            .map(|l| (l, rand::random()))
            .collect();
        let announced: Vec<proto::VideoLayer> = layers
            .iter()
            .map(|(l, ssrc)| proto::VideoLayer {
                quality: quality(l.rid) as i32,
                width: l.format.width,
                height: l.format.height,
                bitrate: send_video::bitrate_for(l.format) * 1_000,
                ssrc: *ssrc,
                rid: l.rid.to_string(),
                ..Default::default()
            })
            .collect();
        s.signal
            .send(Req::AddTrack(proto::AddTrackRequest {
                cid: cid.clone(),
                name: name.into(),
                r#type: proto::TrackType::Video as i32,
                source: match source {
                    VideoSource::Camera => proto::TrackSource::Camera,
                    VideoSource::Screen => proto::TrackSource::ScreenShare,
                } as i32,
                width: format.width,
                height: format.height,
                // The layers the server can choose from, with their sizes.
                layers: announced.clone(),
                simulcast_codecs: vec![proto::SimulcastCodec {
                    codec: "vp8".into(),
                    cid: cid.clone(),
                    layers: announced,
                    ..Default::default()
                }],
                ..Default::default()
            }))
            .await;
        let info = tokio::time::timeout(deadline, rx)
            .await
            .map_err(|_| ConnectError::Media(format!("the server did not accept our {name}")))?
            .map_err(|_| ConnectError::Closed)?;

        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            cid.clone(),
            cid.clone(),
            name.into(),
            RtpCodecKind::Video,
            layers
                .iter()
                .map(|(l, ssrc)| RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        rid: l.rid.into(),
                        ssrc: Some(*ssrc),
                        ..Default::default()
                    },
                    codec: peer::vp8_codec(),
                    ..Default::default()
                })
                .collect(),
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
        // What the answer gave VP8 and the extensions naming section and layer.
        let parameters = match transceiver.sender().await {
            Ok(Some(sender)) => Some(sender.get_parameters().await.map_err(media)?),
            _ => None,
        };
        let rtp = parameters.map(|p| p.rtp_parameters);
        let extension = |uri: &str| {
            rtp.as_ref().and_then(|p| {
                p.header_extensions
                    .iter()
                    .find(|e| e.uri == uri)
                    .and_then(|e| u8::try_from(e.id).ok())
            })
        };
        let mid = transceiver.mid().await.ok().flatten();
        let marking = send_video::Marking {
            payload_type: rtp
                .as_ref()
                .and_then(|p| {
                    p.codecs
                        .iter()
                        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/vp8"))
                })
                .map_or(96, |c| c.payload_type),
            mid: extension(SDES_MID_URI).zip(mid),
            rid: extension(SDES_RTP_STREAM_ID_URI),
        };
        tokio::spawn(send_video::send_video(
            track,
            layers,
            marking,
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
