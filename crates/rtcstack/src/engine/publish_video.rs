//! Our camera on the session: the track announced (AddTrack, with its
//! simulcast layers), added to the publisher connection with one encoding
//! per layer and negotiated, then fed by its sender.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtcstack_vpx::Content;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

use super::{peer, send_video, Session};
use crate::error::ConnectError;
use crate::video::io::{SharedVideoInput, VideoInput, VideoSource};
use crate::video::simulcast::{self, Layer};

const SDES_MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const SDES_RTP_STREAM_ID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// One of our videos being sent: what stopping it takes.
pub(crate) struct SendingVideo {
    source: VideoSource,
    sid: String,
    sender: Option<Arc<dyn RtpSender>>,
    /// Ends its sending task.
    withdrawn: Arc<AtomicBool>,
}

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
        let format = input.format();
        let name = match source {
            VideoSource::Camera => "camera",
            VideoSource::Screen => "screen",
        };
        let cid = format!("TR_local_{}", rand::random::<u32>());
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
        let request = proto::AddTrackRequest {
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
        };
        let info = self.announce(request, deadline, name).await?;

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
        let sent = self.send_track(Arc::clone(&track), deadline).await?;
        // What the answer gave VP8, and the extensions naming section and layer.
        let marking = send_video::Marking {
            payload_type: sent.payload_type("video/vp8", 96),
            mid: sent.extension(SDES_MID_URI).zip(sent.mid.clone()),
            rid: sent.extension(SDES_RTP_STREAM_ID_URI),
        };
        let withdrawn = Arc::new(AtomicBool::new(false));
        // A shared screen is encoded for its text.
        let content = match source {
            VideoSource::Camera => Content::Motion,
            VideoSource::Screen => Content::Text,
        };
        tokio::spawn(send_video::send_video(
            track,
            layers,
            marking,
            input,
            content,
            self.core.transports.publisher.estimate.clone(),
            [Arc::clone(&self.core.stop), Arc::clone(&withdrawn)],
        ));
        let sid = info.sid.clone();
        self.keep_published(cid, info);
        self.core
            .sending_videos
            .lock()
            .expect("sending lock")
            .push(SendingVideo {
                source,
                sid: sid.clone(),
                sender: sent.sender,
                withdrawn,
            });
        Ok(sid)
    }

    /// Stops sending our videos of `source`: each one's track ends for
    /// everyone in the room.
    pub(crate) async fn stop_video(
        &self,
        source: VideoSource,
        deadline: Duration,
    ) -> Result<(), ConnectError> {
        let stopping: Vec<SendingVideo> = {
            let mut sending = self.core.sending_videos.lock().expect("sending lock");
            let (these, others) = sending.drain(..).partition(|v| v.source == source);
            *sending = others;
            these
        };
        for video in stopping {
            video.withdrawn.store(true, Ordering::Relaxed);
            self.forget_published(&video.sid);
            if let Some(sender) = &video.sender {
                self.unsend_track(sender, deadline).await?;
            }
        }
        Ok(())
    }
}
