//! The benchmarks' arithmetic, in one place so every table means the same:
//! a true median, a p95, and the one clock both clients' stamps are read on.

/// The median: the middle value, or the mean of the middle two for an even
/// count. `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let s = sorted(values);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// The 95th percentile by nearest rank: the smallest value with at least
/// 95 % of the values at or below it (an observed value, never one
/// interpolated between two). With fewer than 20 values it is the maximum.
pub fn p95(values: &[f64]) -> Option<f64> {
    let s = sorted(values);
    if s.is_empty() {
        return None;
    }
    let rank = (0.95 * s.len() as f64).ceil() as usize;
    Some(s[rank.clamp(1, s.len()) - 1])
}

/// `a / b` of two medians, when both exist.
pub fn median_ratio(a: &[f64], b: &[f64]) -> Option<f64> {
    Some(median(a)? / median(b)?)
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// CLOCK_MONOTONIC in seconds: the clock Python's `time.monotonic()` reads,
/// so stamps taken in the bench and in the Python peer compare directly.
#[cfg(feature = "linux-bench")]
pub fn mono() -> f64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9,
        Err(_) => f64::NAN, // Linux always has it; NaN would show in a table
    }
}

/// Milliseconds with one decimal, or `what` for none.
pub fn ms_or(value: Option<f64>, what: &str) -> String {
    value.map_or(what.to_string(), |v| format!("{:.1}", v * 1e3))
}

/// Seconds with two decimals, or `what` for none.
pub fn s_or(value: Option<f64>, what: &str) -> String {
    value.map_or(what.to_string(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        // Even: the mean of the middle two, not either one of them.
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[10.0, 0.0]), Some(5.0));
    }

    #[test]
    fn p95_by_nearest_rank() {
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        // ceil(0.95 × 20) = 19th value.
        assert_eq!(p95(&twenty), Some(19.0));
        let hundred: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(p95(&hundred), Some(95.0));
        assert_eq!(p95(&[7.0, 1.0, 3.0]), Some(7.0));
        assert_eq!(p95(&[]), None);
    }

    #[test]
    fn ratio_needs_both_medians() {
        assert_eq!(median_ratio(&[1.0, 3.0], &[4.0]), Some(0.5));
        assert_eq!(median_ratio(&[1.0], &[]), None);
    }
}
