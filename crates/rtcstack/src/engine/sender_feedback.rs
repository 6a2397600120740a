//! The far end's feedback on our sent video, passed on to the sender:
//! key-frame requests (RTCP PLI and FIR: only the encoder can answer them)
//! and receiver reports (the loss our uplink's rate follows), and the
//! transport-wide estimate when it changes (GCC, which the congestion
//! control interceptor attaches to the feedback it came from). The last
//! interceptor in the chain (every other one has seen the RTCP by then)
//! marks them for the application; everything else inbound stops here, as
//! it would at the chain's end. Every report block on our streams is
//! recorded on the way, for the statistics ([`FarReports`]).

use std::collections::VecDeque;
use std::time::{Instant, SystemTime};

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use tokio::sync::watch;

use super::far_reports::FarReports;

/// Where it goes in the chain: after the default interceptors.
pub(crate) const SLOT: usize = 14_000;

pub(crate) struct SenderFeedback {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
    /// The estimate, kbit/s: its one writer.
    estimate: watch::Sender<u32>,
    reports: FarReports,
}

impl SenderFeedback {
    pub(crate) fn new(estimate: watch::Sender<u32>, reports: FarReports) -> Self {
        SenderFeedback {
            read: VecDeque::new(),
            write: VecDeque::new(),
            estimate,
            reports,
        }
    }

    fn record(&self, packet: &dyn rtc::rtcp::Packet) {
        let any = packet.as_any();
        let blocks = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            &rr.reports
        } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
            &sr.reports
        } else {
            return;
        };
        let (at, wall) = (Instant::now(), SystemTime::now());
        for block in blocks {
            self.reports.record(block, at, wall);
        }
    }
}

/// What the sender acts on.
fn for_the_sender(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() || any.is::<ReceiverReport>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for SenderFeedback {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        let changed = Attribute::TargetBitrateChanged {
            bits_per_second: 0.0,
        };
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) = msg.message.get(&changed)
        {
            let kbps = (bits_per_second / 1_000.0).clamp(0.0, f64::from(u32::MAX)) as u32;
            if self.estimate.send_replace(kbps) == 0 {
                tracing::info!("transport-wide feedback: the first estimate, {kbps} kbit/s");
            }
            tracing::trace!("transport-wide estimate {kbps} kbit/s");
        }
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for p in packets {
                self.record(p.as_ref());
            }
            let requests: Vec<_> = packets
                .iter()
                .filter(|p| for_the_sender(p.as_ref()))
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for SenderFeedback {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
