//! Timings the tests and development shorten through the environment
//! (`RTCSTACK_…_SECS`); never set for a user, so anything unset or not a
//! whole number of seconds leaves the product's own value.

use std::time::Duration;

/// Whole seconds from the environment variable `name`, if set and valid.
pub(crate) fn secs(name: &str) -> Option<Duration> {
    parse_secs(&std::env::var(name).ok()?)
}

fn parse_secs(value: &str) -> Option<Duration> {
    value.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_are_read_and_anything_else_is_not() {
        assert_eq!(parse_secs(" 20\n"), Some(Duration::from_secs(20)));
        assert_eq!(parse_secs("0"), Some(Duration::ZERO));
        for bad in ["", "1.5", "-3", "20s", "twenty"] {
            assert_eq!(parse_secs(bad), None, "{bad:?}");
        }
    }
}
