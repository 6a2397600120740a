//! Our microphone on the session: the track announced (AddTrack), added to
//! the publisher connection and negotiated, then fed by its media loop; and
//! mute, which sends silence and tells the server.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;

use super::{media, peer, Session};
use crate::audio::io::AudioInput;
use crate::error::ConnectError;

impl Session {
    /// Publishes a microphone track fed by `input`; returns its track sid.
    pub(crate) async fn publish_audio(
        &self,
        input: Box<dyn AudioInput>,
        deadline: Duration,
    ) -> Result<String, ConnectError> {
        let s = &self.core;
        let cid = format!("TR_local_{}", rand::random::<u32>());
        let announced_muted = s.muted.load(Ordering::Relaxed);
        let request = proto::AddTrackRequest {
            cid: cid.clone(),
            name: "microphone".into(),
            r#type: proto::TrackType::Audio as i32,
            source: proto::TrackSource::Microphone as i32,
            muted: announced_muted,
            ..Default::default()
        };
        let info = self.announce(request, deadline, "microphone").await?;

        let ssrc: u32 = rand::random();
        // LiveKit matches the SDP's msid track id against the AddTrack cid.
        // Packets numbered by us (see `numbering`): webrtc-rs's sample
        // writer cannot leave a silent frame unsent without a hole in the
        // sequence numbers.
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            cid.clone(),
            cid.clone(),
            "microphone".into(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: peer::opus_codec(),
                ..Default::default()
            }],
        )));
        let sent = self.send_track(Arc::clone(&track), deadline).await?;
        // Opus's own, by name.
        let payload_type = sent.payload_type(MIME_TYPE_OPUS, 111);
        tokio::spawn(media::send_audio(
            track,
            ssrc,
            payload_type,
            input,
            Arc::clone(&s.muted),
            Arc::clone(&s.stop),
            s.transports.publisher.reports.clone(),
        ));
        let sid = info.sid.clone();
        s.transports.publisher.sent.name([ssrc], &sid, "opus");
        self.keep_published(cid, info);
        // A mute or unmute asked while the track was being set up found no
        // track to name; the server still has the state AddTrack carried.
        // Read again after each send: a change racing this one must not be
        // overtaken by the older value.
        let mut told = announced_muted;
        loop {
            let muted = s.muted.load(Ordering::Relaxed);
            if muted == told {
                break;
            }
            tracing::debug!(
                "track {sid}: telling the server muted={muted} (changed during publish)"
            );
            s.signal
                .send(Req::Mute(proto::MuteTrackRequest {
                    sid: sid.clone(),
                    muted,
                }))
                .await;
            told = muted;
        }
        Ok(sid)
    }

    /// Mutes or unmutes our microphone: silence is sent, and the server
    /// (and through it everyone) is told.
    pub(crate) async fn set_muted(&self, muted: bool) {
        let s = &self.core;
        s.muted.store(muted, Ordering::Relaxed);
        let sids: Vec<String> = s
            .published
            .lock()
            .expect("published lock")
            .iter()
            .filter_map(|p| p.track.as_ref().map(|t| t.sid.clone()))
            .collect();
        if sids.is_empty() {
            // Nothing published yet: publish_audio tells the server.
            tracing::debug!("muted={muted} before any track is published");
        }
        for sid in sids {
            tracing::debug!("track {sid}: telling the server muted={muted}");
            s.signal
                .send(Req::Mute(proto::MuteTrackRequest { sid, muted }))
                .await;
        }
    }
}
