//! A video input whose device can be let go and taken again (or another
//! put in its place) while its video stays published: a muted camera's
//! light goes off, as in LiveKit's clients, and showing it again needs no
//! new track.

use std::sync::{Arc, Mutex, Weak};

use super::frame::VideoFrame;
use super::io::{Arrivals, VideoFormat, VideoInput};

/// What the call sends from. Its format and clock are the first input's,
/// for its whole life: a sender is built for them. Dropping it (the call
/// stops the video, or ends) drops the input it holds, whatever
/// [`VideoSwitch`]es are left.
pub struct SwitchableVideoInput(Arc<Slot>);

/// Switches a [`SwitchableVideoInput`] from outside, while it lives.
#[derive(Clone)]
pub struct VideoSwitch(Weak<Slot>);

struct Slot {
    now: Mutex<Option<Box<dyn VideoInput>>>,
    format: VideoFormat,
    /// One signal for every input it reads, each input's own relayed to it.
    arrivals: Option<Arrivals>,
}

impl SwitchableVideoInput {
    pub fn new(input: Box<dyn VideoInput>) -> Self {
        let arrivals = input.arrivals().map(|own| {
            let all = Arrivals::new();
            own.relay_to(&all);
            all
        });
        SwitchableVideoInput(Arc::new(Slot {
            format: input.format(),
            now: Mutex::new(Some(input)),
            arrivals,
        }))
    }

    pub fn switch(&self) -> VideoSwitch {
        VideoSwitch(Arc::downgrade(&self.0))
    }
}

impl VideoSwitch {
    /// Lets the input go (dropping it, which closes its device): until
    /// [`switch_to`](Self::switch_to), nothing arrives and a picture asked
    /// for is left as it was. Mute the video first: what would be sent
    /// meanwhile is only the last picture, again.
    pub fn release(&self) {
        if let Some(slot) = self.0.upgrade() {
            let gone = slot.now.lock().expect("input lock").take();
            drop(gone);
        }
    }

    /// From the next picture on, pictures come from `input`; handed back
    /// if it does not [`fit`](Self::fits).
    pub fn switch_to(&self, input: Box<dyn VideoInput>) -> Result<(), Box<dyn VideoInput>> {
        let Some(slot) = self.0.upgrade().filter(|s| s.fits(input.as_ref())) else {
            return Err(input);
        };
        if let (Some(all), Some(own)) = (&slot.arrivals, input.arrivals()) {
            own.relay_to(all);
        }
        let old = slot.now.lock().expect("input lock").replace(input);
        // Closed once the sender may read again.
        drop(old);
        Ok(())
    }

    /// Whether `input` can be switched to: the switchable input still
    /// lives, and `input` has its size and rate and, like it, a clock of
    /// its own or none.
    pub fn fits(&self, input: &dyn VideoInput) -> bool {
        self.0.upgrade().is_some_and(|s| s.fits(input))
    }

    /// Whether an input is held (not let go) by a switchable input that
    /// still lives.
    pub fn holds(&self) -> bool {
        self.0
            .upgrade()
            .is_some_and(|s| s.now.lock().expect("input lock").is_some())
    }
}

impl Slot {
    fn fits(&self, input: &dyn VideoInput) -> bool {
        input.format() == self.format && input.arrivals().is_some() == self.arrivals.is_some()
    }
}

impl VideoInput for SwitchableVideoInput {
    fn format(&self) -> VideoFormat {
        self.0.format
    }

    fn next_frame(&mut self, out: &mut VideoFrame) {
        if let Some(input) = self.0.now.lock().expect("input lock").as_mut() {
            input.next_frame(out);
        }
    }

    fn arrivals(&self) -> Option<Arrivals> {
        self.0.arrivals.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// An input on a clock of its own, filling pictures with `luma`;
    /// `dropped` is set once it is dropped (its device closed).
    struct Device {
        luma: u8,
        format: VideoFormat,
        arrivals: Option<Arrivals>,
        dropped: Arc<AtomicBool>,
    }

    impl Device {
        fn new(luma: u8, width: u32, clocked: bool) -> (Self, Arc<AtomicBool>) {
            let dropped = Arc::new(AtomicBool::new(false));
            let device = Device {
                luma,
                format: VideoFormat {
                    width,
                    height: 2,
                    fps: 30,
                },
                arrivals: clocked.then(Arrivals::new),
                dropped: Arc::clone(&dropped),
            };
            (device, dropped)
        }
    }

    impl Drop for Device {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    impl VideoInput for Device {
        fn format(&self) -> VideoFormat {
            self.format
        }
        fn next_frame(&mut self, out: &mut VideoFrame) {
            out.y.fill(self.luma);
        }
        fn arrivals(&self) -> Option<Arrivals> {
            self.arrivals.clone()
        }
    }

    #[test]
    fn a_let_go_input_is_closed_and_one_switched_to_is_read_and_counted() {
        let (first, first_dropped) = Device::new(10, 2, true);
        let first_arrivals = first.arrivals.clone().unwrap();
        let mut input = SwitchableVideoInput::new(Box::new(first));
        let switch = input.switch();
        let all = input.arrivals().unwrap();
        let mut out = VideoFrame::black(2, 2);

        first_arrivals.arrived();
        assert_eq!(all.count(), 1);
        input.next_frame(&mut out);
        assert_eq!(out.y[0], 10);

        // Let go: closed at once; the picture is left as it was.
        switch.release();
        assert!(first_dropped.load(Ordering::SeqCst));
        assert!(!switch.holds());
        out.y.fill(7);
        input.next_frame(&mut out);
        assert_eq!(out.y[0], 7);

        // Another of the same format: read, its arrivals counted on the
        // one signal the sender waits on.
        let (second, _) = Device::new(20, 2, true);
        let second_arrivals = second.arrivals.clone().unwrap();
        assert!(switch.switch_to(Box::new(second)).is_ok());
        second_arrivals.arrived();
        second_arrivals.arrived();
        assert_eq!(all.count(), 3);
        input.next_frame(&mut out);
        assert_eq!(out.y[0], 20);
        assert_eq!(input.format().width, 2);

        // The call drops the input: the device it holds is closed, and the
        // switch can do nothing more.
        let (third, third_dropped) = Device::new(30, 2, true);
        drop(input);
        assert!(!switch.holds());
        assert!(switch.switch_to(Box::new(third)).is_err());
        assert!(third_dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn an_input_of_another_size_or_clock_is_handed_back_and_the_old_kept() {
        let (first, first_dropped) = Device::new(10, 2, true);
        let input = SwitchableVideoInput::new(Box::new(first));
        let switch = input.switch();
        let (wider, _) = Device::new(20, 4, true);
        let back = switch.switch_to(Box::new(wider)).expect_err("refused");
        assert_eq!(back.format().width, 4);
        let (unclocked, _) = Device::new(20, 2, false);
        assert!(switch.switch_to(Box::new(unclocked)).is_err());
        assert!(switch.holds());
        assert!(!first_dropped.load(Ordering::SeqCst));
    }
}
