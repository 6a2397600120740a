//! The sender of our video: a picture from the input (every 1/fps s, or
//! as each comes from an input on its own clock, such as a camera), scaled
//! to each simulcast layer, encoded (VP8 or H.264; a key frame on a layer whose
//! receiver asks for one) at the bitrate the uplink allows it (a layer
//! allowed none is paused), split into RTP packets (the marker on each
//! frame's last; each packet naming its media section and layer, as
//! browsers' do, so the server can tell the layers apart) and written to
//! the track at the pacer's pace.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtcstack_vpx::Content;
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use crate::video::budget::Budget;
use crate::video::encode::{LayerEncoder, SendCodec};
use crate::video::io::{SharedVideoInput, VideoFormat, VideoInput};
use crate::video::layer_loss::LayerLoss;
use crate::video::overhead::{headers_of, Overhead};
use crate::video::pacer::Pacer;
use crate::video::simulcast::{halve, Layer};
use crate::video::uplink::{allocate, Keep, LayerRates, Uplink, AUDIO_KBPS};
use crate::video::VideoFrame;

/// Payload bytes per packet: room for SRTP, headers and extensions
/// within a 1,280-byte IPv6 minimum MTU.
const MTU: usize = 1_100;
/// What a packet adds to its payload on the wire: RTP header and
/// extensions, SRTP's tag, UDP and IP.
const RTP_OVERHEAD: usize = 70;
/// One-byte header extensions (RFC 8285).
const ONE_BYTE_EXTENSIONS: u16 = 0xBEDE;
/// How long an input on its own clock may give nothing before its last
/// picture goes again: a still screen cast sends only on change, and a key
/// frame asked for by a new viewer goes out with the next picture.
const REPEAT: Duration = Duration::from_millis(250);
/// A change in the headers' share (per thousand of payload) that shares
/// the rate out again.
const HEADERS_MOVE: u32 = 10;
/// RTP's video clock.
const CLOCK_HZ: u64 = 90_000;

/// A bitrate that holds a picture of this size well at this rate (kbit/s),
/// as libwebrtc's defaults do: about 0.1 bit per pixel at 30 fps.
pub(crate) fn bitrate_for(format: VideoFormat) -> u32 {
    let pixels = format.width as u64 * format.height as u64 * format.fps as u64;
    ((pixels / 10_000) as u32).clamp(100, 2_500)
}

/// How our packets are marked, as negotiated.
pub(crate) struct Marking {
    pub codec: SendCodec,
    pub payload_type: u8,
    /// The MID extension's id and our section's mid.
    pub mid: Option<(u8, String)>,
    /// The RTP stream id extension's id (names the layer).
    pub rid: Option<u8>,
}

/// One layer's encoder and its numbering.
struct Sending {
    layer: Layer,
    ssrc: u32,
    encoder: LayerEncoder,
    sequence: u16,
    /// Its picture (the layer above halved; the full layer's is the input's).
    picture: VideoFrame,
    keyframe: Arc<AtomicBool>,
    /// What the uplink allows this layer now (kbit/s; 0: paused), and what
    /// its encoder runs at.
    allowed: Arc<AtomicU32>,
    running_kbps: u32,
    /// What it has sent against what it is allowed.
    budget: Budget,
}

impl Sending {
    /// Sends nothing until allowed a rate again (then from a key frame).
    fn pause(&mut self) {
        if self.running_kbps != 0 {
            tracing::debug!("video layer {} paused", self.layer.rid);
            self.running_kbps = 0;
        }
    }
}

/// A layer's bitrates: its target, and the least worth sending. Motion:
/// about a third (a blurrier picture beats a frozen one, down to a point).
/// Text: an eighth (its encoder drops pictures rather than blur them, so a
/// screen at that rate is still read, only updated less often).
fn rates(layer: &Layer, content: Content) -> LayerRates {
    let target = bitrate_for(layer.format);
    let least = match content {
        Content::Motion => target / 3,
        Content::Text => target / 8,
    };
    LayerRates {
        min_kbps: least.max(30),
        target_kbps: target,
    }
}

/// What gives way under pressure: a camera's size, a screen's frame rate.
fn keep(content: Content) -> Keep {
    match content {
        Content::Motion => Keep::Motion,
        Content::Text => Keep::Size,
    }
}

/// The transport-wide estimate of what a connection's video can take
/// (kbit/s, 0: none yet; GCC sees our numbered video only), and the sum of
/// the ceilings of the videos sending on it: each takes its share, so a
/// camera and a shared screen together stay within it.
#[derive(Clone)]
pub(crate) struct Estimate {
    kbps: watch::Receiver<u32>,
    ceilings: Arc<AtomicU32>,
}

impl Estimate {
    pub(crate) fn new(kbps: watch::Receiver<u32>) -> Self {
        Estimate {
            kbps,
            ceilings: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A video of `ceiling` kbit/s sharing it, until the guard goes.
    fn join(&self, ceiling: u32) -> Sharing {
        self.ceilings.fetch_add(ceiling, Ordering::AcqRel);
        Sharing {
            ceilings: Arc::clone(&self.ceilings),
            ceiling,
        }
    }
}

/// One video's part in an [`Estimate`].
struct Sharing {
    ceilings: Arc<AtomicU32>,
    ceiling: u32,
}

impl Sharing {
    /// Its share of `kbps`, in proportion to its ceiling.
    fn of(&self, kbps: u32) -> u32 {
        let all = self.ceilings.load(Ordering::Acquire).max(self.ceiling);
        (u64::from(kbps) * u64::from(self.ceiling) / u64::from(all.max(1))) as u32
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        self.ceilings.fetch_sub(self.ceiling, Ordering::AcqRel);
    }
}

/// What holds or ends a video's sending task from outside.
pub(crate) struct Controls {
    /// Either set ends it (the session closed, or the video withdrawn).
    pub(crate) stop: [Arc<AtomicBool>; 2],
    /// Set, it sends nothing (muted).
    pub(crate) paused: Arc<AtomicBool>,
    /// Which layers (smallest first) the server forwards to anyone.
    pub(crate) wanted: watch::Receiver<Vec<bool>>,
}

/// Encodes and sends `input` (showing `content`) on `track`, one stream
/// per layer (with its ssrc), within what the receiver reports and its
/// share of the connection's transport-wide `estimate` allow, until
/// either `stop` is set (the session's, or this video's own); nothing
/// while `paused`.
pub(crate) async fn send_video(
    track: Arc<TrackLocalStaticRTP>,
    layers: Vec<(Layer, u32)>,
    marking: Marking,
    mut input: SharedVideoInput,
    content: Content,
    estimate: Estimate,
    Controls {
        stop,
        paused,
        wanted,
    }: Controls,
) {
    let format = input.format();
    // The uplink's plan, smallest layer first (as allocated).
    let plan: Vec<LayerRates> = layers.iter().map(|(l, _)| rates(l, content)).collect();
    let video_ceiling = plan.iter().map(|r| r.target_kbps).sum::<u32>();
    let ceiling = video_ceiling + AUDIO_KBPS;
    let sharing = estimate.join(video_ceiling);
    let allowed: Vec<Arc<AtomicU32>> = allocate(ceiling, &plan, keep(content), &wanted.borrow())
        .into_iter()
        .map(|kbps| Arc::new(AtomicU32::new(kbps)))
        .collect();
    // Largest first: each smaller picture is made from the one before.
    let mut sending = Vec::new();
    for (i, (layer, ssrc)) in layers.into_iter().enumerate().rev() {
        let encoder = match LayerEncoder::new(
            marking.codec,
            layer.format,
            content,
            bitrate_for(layer.format),
        ) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("video encoder for layer {}: {e}", layer.rid);
                return;
            }
        };
        sending.push(Sending {
            layer,
            ssrc,
            encoder,
            sequence: rand::random(),
            picture: VideoFrame::black(layer.format.width, layer.format.height),
            keyframe: Arc::new(AtomicBool::new(true)),
            allowed: Arc::clone(&allowed[i]),
            running_kbps: bitrate_for(layer.format),
            budget: Budget::new(),
        });
    }
    // The headers' share of the payload (per thousand), told to the
    // feedback task, which shares the rate out again when it moves.
    let (headers, headers_rx) = watch::channel(0u32);
    // Key-frame requests name the layer's ssrc (PLI), or ask for all (FIR);
    // receiver reports set each layer's rate.
    let feedback = Feedback {
        keyframes: sending
            .iter()
            .map(|s| (s.ssrc, Arc::clone(&s.keyframe)))
            .collect(),
        // Smallest first, as the plan.
        ssrcs: sending.iter().rev().map(|s| s.ssrc).collect(),
        plan,
        keep: keep(content),
        allowed,
        uplink: Uplink::new(Instant::now(), ceiling),
        loss: LayerLoss::default(),
        wanted,
        headers: headers_rx,
    };
    let listener = tokio::spawn(feedback.run(Arc::clone(&track), estimate.kbps, sharing));
    let mut overhead = Overhead::new(Instant::now(), RTP_OVERHEAD);
    let mut clock = RtpClock::new(Instant::now());
    let mut pacer = Pacer::new(Instant::now(), ceiling);
    let arrivals = input.arrivals();
    let mut taken = 0;
    // Whether any of this track's packets has left (see `announce`).
    let mut announced = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / format.fps.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.iter().any(|s| s.load(Ordering::Relaxed)) {
        match &arrivals {
            Some(arrivals) => arrivals.wait_after(taken, REPEAT).await,
            None => {
                tick.tick().await;
            }
        }
        if paused.load(Ordering::Relaxed) {
            if !announced {
                announced = announce(&track, &mut sending, &marking, &mut clock, &mut pacer).await;
            }
            // Muted: nothing is taken or sent, and each layer starts again
            // from a key frame (a receiver cannot go on from what it last
            // had).
            if let Some(arrivals) = &arrivals {
                taken = arrivals.count();
            }
            for s in &sending {
                s.keyframe.store(true, Ordering::Relaxed);
            }
            // Counted again from the resume: a pause is no packets' time.
            overhead = Overhead::new(Instant::now(), RTP_OVERHEAD);
            continue;
        }
        // Stamped when taken: the receiver plays pictures out as they were
        // spaced here.
        let timestamp = clock.at(Instant::now());
        let allowed: u32 = sending
            .iter()
            .map(|s| s.allowed.load(Ordering::Relaxed))
            .sum();
        if allowed == 0 {
            // Nobody is forwarded any layer: no picture is made or sent
            // (each layer resumes from a key frame).
            if let Some(arrivals) = &arrivals {
                taken = arrivals.count();
            }
            for s in &mut sending {
                s.pause();
            }
            overhead = Overhead::new(Instant::now(), RTP_OVERHEAD);
            continue;
        }
        pacer.set_rate(allowed);
        let (mut packets, mut payload) = (0, 0);
        for i in 0..sending.len() {
            if i == 0 {
                input.next_frame(&mut sending[0].picture);
                // Read after the picture: one that came in between is
                // skipped rather than sent twice.
                if let Some(arrivals) = &arrivals {
                    taken = arrivals.count();
                }
            } else {
                let (above, this) = sending.split_at_mut(i);
                halve(&above[i - 1].picture, &mut this[0].picture);
            }
            let s = &mut sending[i];
            let (p, bytes) = send_frame(&track, s, &marking, timestamp, &mut pacer).await;
            (packets, payload) = (packets + p, payload + bytes);
        }
        announced |= packets > 0;
        if let Some(permille) = overhead.sent(Instant::now(), packets, payload) {
            headers.send_if_modified(|h| {
                let moved = h.abs_diff(permille) >= HEADERS_MOVE;
                if moved {
                    *h = permille;
                }
                moved
            });
        }
    }
    listener.abort();
}

/// The server lists a track only once its media comes: until then it is
/// pending, and nobody sees it, muted or not. So a video muted before its
/// first picture (published muted, or republished muted by a rejoin)
/// sends one key picture, black, on its smallest layer; the server, told
/// it is muted, forwards it to nobody. Whether a packet left (if not, the
/// layer is not allowed yet: tried again).
async fn announce(
    track: &TrackLocalStaticRTP,
    sending: &mut [Sending],
    marking: &Marking,
    clock: &mut RtpClock,
    pacer: &mut Pacer,
) -> bool {
    let Some(s) = sending.last_mut() else {
        return false;
    };
    s.picture = VideoFrame::black(s.layer.format.width, s.layer.format.height);
    s.keyframe.store(true, Ordering::Relaxed);
    let timestamp = clock.at(Instant::now());
    let (packets, _) = send_frame(track, s, marking, timestamp, pacer).await;
    packets > 0
}

/// RTP timestamps from the time a picture is taken: 90 kHz from a random
/// start, always moving on (two pictures never share one).
struct RtpClock {
    start: Instant,
    base: u32,
    last: Option<u32>,
}

impl RtpClock {
    fn new(start: Instant) -> Self {
        RtpClock {
            start,
            base: rand::random(),
            last: None,
        }
    }

    fn at(&mut self, now: Instant) -> u32 {
        let ticks =
            now.saturating_duration_since(self.start).as_micros() as u64 * CLOCK_HZ / 1_000_000;
        let mut ts = self.base.wrapping_add(ticks as u32);
        if let Some(last) = self.last {
            // Later than the last, in RTP's wrapping order.
            if ts.wrapping_sub(last) == 0 || ts.wrapping_sub(last) > u32::MAX / 2 {
                ts = last.wrapping_add(1);
            }
        }
        self.last = Some(ts);
        ts
    }
}

/// Encodes one layer's picture at its allowed rate and writes its
/// packets; a paused layer sends nothing (and starts again with a key
/// frame). Returns how many packets it wrote, and their payload bytes.
async fn send_frame(
    track: &TrackLocalStaticRTP,
    s: &mut Sending,
    marking: &Marking,
    ts: u32,
    pacer: &mut Pacer,
) -> (usize, usize) {
    let allowed = s.allowed.load(Ordering::Relaxed);
    if allowed == 0 {
        s.pause();
        return (0, 0);
    }
    if allowed != s.running_kbps {
        if s.running_kbps == 0 {
            tracing::debug!("video layer {} resumed", s.layer.rid);
            s.keyframe.store(true, Ordering::Relaxed);
        }
        match s.encoder.set_bitrate(allowed) {
            Ok(()) => s.running_kbps = allowed,
            Err(e) => tracing::warn!("video layer {}: {e}", s.layer.rid),
        }
    }
    // An encoder over its rate (a picture it cannot make small) skips
    // pictures until it is back within it; an asked key frame waits.
    if !s.budget.allows(Instant::now(), allowed) {
        return (0, 0);
    }
    let key = s.keyframe.swap(false, Ordering::Relaxed);
    let frames = match s.encoder.encode(&s.picture, key) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("video encode, layer {}: {e}", s.layer.rid);
            s.keyframe.store(true, Ordering::Relaxed);
            return (0, 0);
        }
    };
    // A frame the encoder dropped (a screen's, over its rate): an asked
    // key frame comes with the next.
    if key && frames.is_empty() {
        s.keyframe.store(true, Ordering::Relaxed);
    }
    let (mut written, mut payload) = (0, 0);
    for frame in frames {
        let frame_len = frame.data.len();
        let payloads = s.encoder.packets(frame, MTU);
        let last = payloads.len().saturating_sub(1);
        let frame_payload: usize = payloads.iter().map(|p| p.len()).sum();
        written += payloads.len();
        payload += frame_payload;
        let bytes = frame_payload + payloads.len() * RTP_OVERHEAD;
        // The encoder's rate is its payload's: so is the budget's.
        s.budget.spent(frame_len);
        pacer.picture(Instant::now(), bytes);
        for (i, payload) in payloads.into_iter().enumerate() {
            let mut header = rtc::rtp::Header {
                version: 2,
                marker: i == last,
                payload_type: marking.payload_type,
                sequence_number: s.sequence,
                timestamp: ts,
                ssrc: s.ssrc,
                ..Default::default()
            };
            mark(&mut header, marking, s.layer.rid);
            s.sequence = s.sequence.wrapping_add(1);
            let now = Instant::now();
            let at = pacer.send_at(now, payload.len() + RTP_OVERHEAD);
            if at > now {
                tokio::time::sleep_until(at.into()).await;
            }
            if let Err(e) = track.write_rtp(rtc::rtp::Packet { header, payload }).await {
                tracing::debug!("video write: {e}");
            }
        }
    }
    (written, payload)
}

/// Names the media section and the layer in a packet's header extensions.
fn mark(header: &mut rtc::rtp::Header, marking: &Marking, rid: &str) {
    let mut extensions = Vec::new();
    if let Some((id, mid)) = &marking.mid {
        extensions.push((*id, Bytes::from(mid.clone())));
    }
    if let Some(id) = marking.rid {
        extensions.push((id, Bytes::from(rid.to_owned())));
    }
    if extensions.is_empty() {
        return;
    }
    header.extension = true;
    header.extension_profile = ONE_BYTE_EXTENSIONS;
    for (id, value) in extensions {
        if let Err(e) = header.set_extension(id, value) {
            tracing::debug!("header extension {id}: {e}");
        }
    }
}

/// What the far end says of our layers, and what follows from it: the
/// listener owns the uplink's controller.
struct Feedback {
    keyframes: Vec<(u32, Arc<AtomicBool>)>,
    ssrcs: Vec<u32>,
    plan: Vec<LayerRates>,
    keep: Keep,
    allowed: Vec<Arc<AtomicU32>>,
    uplink: Uplink,
    loss: LayerLoss,
    wanted: watch::Receiver<Vec<bool>>,
    /// The headers' share of our video's payload (per thousand): not the
    /// encoders' to spend.
    headers: watch::Receiver<u32>,
}

impl Feedback {
    async fn run(
        mut self,
        track: Arc<TrackLocalStaticRTP>,
        mut estimate: watch::Receiver<u32>,
        sharing: Sharing,
    ) {
        // One already made counts as a change.
        estimate.mark_changed();
        loop {
            let event = tokio::select! {
                event = track.poll() => event,
                changed = estimate.changed(), if !estimate.is_closed() => {
                    let kbps = *estimate.borrow_and_update();
                    if changed.is_ok() && kbps > 0 {
                        // The estimate is for video; the uplink's target
                        // holds our audio too.
                        let share = sharing.of(kbps);
                        if let Some(target) = self.uplink.on_estimate(Instant::now(), share + AUDIO_KBPS) {
                            self.apply(target, format_args!("a share of {share} kbit/s"));
                        }
                    }
                    continue;
                }
                // Either channel closed (the video withdrawn, the session
                // gone) would answer at once forever: not asked, until the
                // task stops.
                changed = self.headers.changed(), if !self.headers.is_closed() => {
                    if changed.is_ok() {
                        // Read before apply reads it again.
                        let permille = *self.headers.borrow_and_update();
                        let target = self.uplink.target_kbps();
                        self.apply(target, format_args!("headers of {permille} per thousand"));
                    }
                    continue;
                }
                changed = self.wanted.changed(), if !self.wanted.is_closed() => {
                    if changed.is_ok() {
                        let target = self.uplink.target_kbps();
                        self.apply(target, format_args!("the server forwarding {:?}", *self.wanted.borrow()));
                    }
                    continue;
                }
            };
            let Some(event) = event else { break };
            let TrackLocalEvent::OnRtcpPacket(packets) = event else {
                continue;
            };
            for p in &packets {
                let any = p.as_any();
                if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                    for (ssrc, flag) in &self.keyframes {
                        if *ssrc == pli.media_ssrc {
                            flag.store(true, Ordering::Relaxed);
                        }
                    }
                } else if any.is::<FullIntraRequest>() {
                    for (_, flag) in &self.keyframes {
                        flag.store(true, Ordering::Relaxed);
                    }
                } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                    self.on_report(rr);
                }
            }
        }
    }

    /// The loss reported over the layers we send sets the uplink.
    fn on_report(&mut self, rr: &ReceiverReport) {
        let ours: Vec<_> = rr
            .reports
            .iter()
            .filter(|r| self.ssrcs.contains(&r.ssrc))
            .collect();
        if ours.is_empty() {
            return;
        }
        let now = Instant::now();
        for r in ours {
            self.loss
                .on_block(now, r.ssrc, r.fraction_lost, r.last_sequence_number);
        }
        let sending = |ssrc: u32| {
            self.ssrcs
                .iter()
                .zip(&self.allowed)
                .any(|(s, a)| *s == ssrc && a.load(Ordering::Relaxed) > 0)
        };
        let Some(loss) = self.loss.take(now, sending) else {
            return;
        };
        if let Some(target) = self.uplink.on_loss(now, loss) {
            self.apply(target, format_args!("{:.1} % loss", loss * 100.0));
        }
    }

    /// The uplink's new target shared out among the layers.
    fn apply(&self, target: u32, after: std::fmt::Arguments) {
        let video = target.saturating_sub(AUDIO_KBPS);
        let headers = headers_of(video, *self.headers.borrow());
        let payload = target - headers;
        let rates = allocate(payload, &self.plan, self.keep, &self.wanted.borrow());
        tracing::debug!(
            "uplink {target} kbit/s ({headers} of it headers) after {after}: layers {rates:?}"
        );

        for (slot, kbps) in self.allowed.iter().zip(rates) {
            slot.store(kbps, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_grow_with_the_picture_within_bounds() {
        let f = |width, height, fps| bitrate_for(VideoFormat { width, height, fps });
        assert_eq!(f(640, 360, 30), 691);
        assert_eq!(f(320, 180, 30), 172);
        assert_eq!(f(1280, 720, 30), 2_500);
        assert_eq!(f(160, 90, 15), 100);
    }

    #[test]
    fn rtp_timestamps_follow_the_time_taken_and_always_move_on() {
        let start = Instant::now();
        let mut clock = RtpClock::new(start);
        clock.base = u32::MAX - 1_000;
        let first = clock.at(start);
        assert_eq!(first, u32::MAX - 1_000);
        // 40 ms later: 3,600 ticks on, across the wrap.
        let later = clock.at(start + Duration::from_millis(40));
        assert_eq!(later, first.wrapping_add(3_600));
        // The same instant, or an earlier one: still one tick on.
        assert_eq!(
            clock.at(start + Duration::from_millis(40)),
            later.wrapping_add(1)
        );
        assert_eq!(clock.at(start), later.wrapping_add(2));
    }

    #[test]
    fn videos_share_the_estimate_by_their_ceilings() {
        let (_tx, rx) = watch::channel(0);
        let estimate = Estimate::new(rx);
        let camera = estimate.join(1_000);
        assert_eq!(camera.of(800), 800);
        let screen = estimate.join(3_000);
        assert_eq!((camera.of(800), screen.of(800)), (200, 600));
        drop(screen);
        assert_eq!(camera.of(800), 800);
    }

    #[test]
    fn packets_name_their_section_and_layer() {
        let marking = Marking {
            codec: SendCodec::Vp8,
            payload_type: 96,
            mid: Some((4, "1".into())),
            rid: Some(10),
        };
        let mut header = rtc::rtp::Header::default();
        mark(&mut header, &marking, "h");
        assert_eq!(header.get_extension(4).as_deref(), Some(&b"1"[..]));
        assert_eq!(header.get_extension(10).as_deref(), Some(&b"h"[..]));
    }
}
