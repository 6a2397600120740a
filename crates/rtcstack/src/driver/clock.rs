//! Where the driver's "now" comes from.

use std::time::{Instant, SystemTime};

/// Where "now" comes from: the system's clocks, or in tests a wall clock
/// that moves with tokio's paused one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    System,
    #[cfg_attr(not(test), allow(dead_code))]
    Virtual {
        start: tokio::time::Instant,
        wall: SystemTime,
    },
}

impl Clock {
    pub(crate) fn now(&self) -> (Instant, SystemTime) {
        let mono = tokio::time::Instant::now();
        let wall = match self {
            Clock::System => SystemTime::now(),
            Clock::Virtual { start, wall } => *wall + (mono - *start),
        };
        (mono.into_std(), wall)
    }
}
