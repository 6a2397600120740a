//! Our camera on the session: the track announced (AddTrack, with its
//! simulcast layers), added to the publisher connection with one encoding
//! per layer and negotiated, then fed by its sender. A muted video stays
//! published and sends nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtcstack_vpx::Content;
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

use super::{dynacast, peer, send_video, Session};
use crate::error::ConnectError;
use crate::video::encode::SendCodec;
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
    /// Holds its sending task: muted.
    paused: Arc<AtomicBool>,
    /// Its layers' qualities (smallest first), and which of them the
    /// server forwards to anyone.
    qualities: Vec<proto::VideoQuality>,
    wanted: watch::Sender<Vec<bool>>,
    /// What it is sent in (the server's updates name the codec).
    codec: SendCodec,
}

impl SendingVideo {
    fn on_subscribed_quality(&self, update: &proto::SubscribedQualityUpdate) {
        let wanted = dynacast::wanted(update, self.codec.name(), &self.qualities);
        tracing::debug!("track {}: layers forwarded {wanted:?}", self.sid);
        self.wanted
            .send_if_modified(|w| std::mem::replace(w, wanted) != *w);
    }
}

impl super::Core {
    /// Which layers of one of our videos the server forwards: kept, and
    /// told to its sender.
    pub(super) fn on_subscribed_quality(&self, update: proto::SubscribedQualityUpdate) {
        if let Some(video) = self
            .sending_videos
            .lock()
            .expect("sending lock")
            .iter()
            .find(|v| v.sid == update.track_sid)
        {
            video.on_subscribed_quality(&update);
        }
        self.subscribed
            .lock()
            .expect("subscribed lock")
            .insert(update.track_sid.clone(), update);
    }
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
        let codec = self.core.video_codec.for_format(format);
        let muted = self.video_muted(source);
        let name = match source {
            VideoSource::Camera => "camera",
            VideoSource::Screen => "screen",
        };
        let cid = format!("TR_local_{}", rand::random::<u32>());
        let layers: Vec<(Layer, u32)> = simulcast::plan(format)
            .into_iter()
            .map(|l| (l, rand::random()))
            .collect();
        let ssrcs: Vec<u32> = layers.iter().map(|(_, ssrc)| *ssrc).collect();
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
            // A muted camera republished by a rejoin starts muted.
            muted,
            // The layers the server can choose from, with their sizes.
            layers: announced.clone(),
            simulcast_codecs: vec![proto::SimulcastCodec {
                codec: codec.name().into(),
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
                    codec: peer::send_codec(codec),
                    ..Default::default()
                })
                .collect(),
        )));
        let sent = self.send_track(Arc::clone(&track), deadline).await?;
        // What the answer gave our codec, and the extensions naming
        // section and layer.
        let marking = send_video::Marking {
            codec,
            payload_type: sent.payload_type(codec.mime(), peer::payload_type(codec)),
            mid: sent.extension(SDES_MID_URI).zip(sent.mid.clone()),
            rid: sent.extension(SDES_RTP_STREAM_ID_URI),
        };
        let withdrawn = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(muted));
        let qualities: Vec<proto::VideoQuality> =
            layers.iter().map(|(l, _)| quality(l.rid)).collect();
        // Every layer until the server says otherwise.
        let (wanted, wanted_rx) = watch::channel(vec![true; layers.len()]);
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
            send_video::Controls {
                stop: [Arc::clone(&self.core.stop), Arc::clone(&withdrawn)],
                paused: Arc::clone(&paused),
                wanted: wanted_rx,
            },
        ));
        let sid = info.sid.clone();
        self.core
            .transports
            .publisher
            .sent
            .name(ssrcs, &sid, codec.name());
        self.keep_published(cid, info);
        let video = SendingVideo {
            source,
            sid: sid.clone(),
            sender: sent.sender,
            withdrawn,
            paused,
            qualities,
            wanted,
            codec,
        };
        {
            let mut sending = self.core.sending_videos.lock().expect("sending lock");
            // What the server said of it while it was set up.
            let said = self.core.subscribed.lock().expect("subscribed lock");
            if let Some(update) = said.get(&sid) {
                video.on_subscribed_quality(update);
            }
            sending.push(video);
        }
        // A mute or unmute asked while the track was set up found no
        // video to hold: the server has what AddTrack carried.
        let now = self.video_muted(source);
        if now != muted {
            self.set_video_muted(source, now).await;
        }
        Ok(sid)
    }

    /// Whether our videos of `source` are muted.
    fn video_muted(&self, source: VideoSource) -> bool {
        self.core
            .videos_muted
            .lock()
            .expect("muted lock")
            .of(source)
    }

    /// Mutes or unmutes our videos of `source`: a muted one stays
    /// published and sends nothing; the server (and through it everyone)
    /// is told. Held for videos of it published later in this session.
    pub(crate) async fn set_video_muted(&self, source: VideoSource, muted: bool) {
        self.core
            .videos_muted
            .lock()
            .expect("muted lock")
            .set(source, muted);
        let sids: Vec<String> = self
            .core
            .sending_videos
            .lock()
            .expect("sending lock")
            .iter()
            .filter(|v| v.source == source)
            .map(|v| {
                v.paused.store(muted, Ordering::Relaxed);
                v.sid.clone()
            })
            .collect();
        for sid in sids {
            tracing::debug!("track {sid}: telling the server muted={muted}");
            self.core
                .signal
                .send(Req::Mute(proto::MuteTrackRequest { sid, muted }))
                .await;
        }
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
        // A camera started again is shown.
        self.core
            .videos_muted
            .lock()
            .expect("muted lock")
            .set(source, false);
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
