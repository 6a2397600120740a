//! Measurements of the path between the client under test and a host:
//! reachability (a TCP connect with a deadline) and `ping` statistics.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Whether a TCP connection to `addr` completes within `within`.
pub async fn tcp_reachable(addr: SocketAddr, within: Duration) -> bool {
    matches!(
        tokio::time::timeout(within, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// What `ping` saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingStats {
    pub sent: u32,
    pub received: u32,
    /// Round-trip times of the replies (min, avg, max), if any came back.
    pub min_rtt_ms: Option<f64>,
    pub avg_rtt_ms: Option<f64>,
    pub max_rtt_ms: Option<f64>,
    /// The 95th percentile of the replies' round trips: unlike the maximum,
    /// one reply held up by a busy machine's scheduler does not move it.
    pub p95_rtt_ms: Option<f64>,
}

impl PingStats {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 100.0;
        }
        100.0 * f64::from(self.sent - self.received) / f64::from(self.sent)
    }
}

/// Pings `ip` `count` times, `interval` apart, from the root namespace.
/// Intervals under 200 ms need root, as `ping` itself says.
pub async fn ping(ip: IpAddr, count: u32, interval: Duration) -> Result<PingStats> {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("ping")
            .args([
                "-n",
                "-c",
                &count.to_string(),
                "-i",
                &format!("{:.3}", interval.as_secs_f64()),
                "-W",
                "1",
                &ip.to_string(),
            ])
            .output()
    })
    .await?
    .context("running ping (iputils-ping; scripts/setup installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_ping(&text).with_context(|| {
        format!(
            "could not read ping's summary: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn parse_ping(text: &str) -> Result<PingStats> {
    // "200 packets transmitted, 131 received, 34.5% packet loss, time 2010ms"
    // "rtt min/avg/max/mdev = 100.1/120.3/141.0/9.8 ms"
    let Some(summary) = text.lines().find(|l| l.contains("packets transmitted")) else {
        bail!("no summary line");
    };
    let num = |word: &str| -> Result<u32> {
        summary
            .split(',')
            .find(|part| part.contains(word))
            .and_then(|part| part.split_whitespace().next())
            .context("summary field")?
            .parse()
            .context("summary number")
    };
    let rtt: Vec<f64> = text
        .lines()
        .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))
        .and_then(|l| l.split('=').nth(1))
        .map(|v| {
            v.trim()
                .trim_end_matches(" ms")
                .split('/')
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.047 ms", one a reply.
    let each: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.trim_end_matches(" ms").trim().parse().ok())
        .collect();
    Ok(PingStats {
        sent: num("transmitted")?,
        received: num("received")?,
        min_rtt_ms: rtt.first().copied(),
        avg_rtt_ms: rtt.get(1).copied(),
        max_rtt_ms: rtt.get(2).copied(),
        p95_rtt_ms: crate::stats::p95(&each),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ping_summary() {
        let s = parse_ping(
            "--- 10.0.0.2 ping statistics ---\n\
             200 packets transmitted, 131 received, 34.5% packet loss, time 2010ms\n\
             rtt min/avg/max/mdev = 100.100/120.300/141.000/9.800 ms\n",
        )
        .unwrap();
        assert_eq!((s.sent, s.received), (200, 131));
        assert!((s.loss_percent() - 34.5).abs() < 0.01);
        assert_eq!(s.min_rtt_ms, Some(100.1));
        assert_eq!(s.avg_rtt_ms, Some(120.3));
        assert_eq!(s.max_rtt_ms, Some(141.0));
        assert_eq!(s.p95_rtt_ms, None);
    }

    #[test]
    fn the_95th_percentile_leaves_out_the_slowest_twentieth() {
        let mut text: String = (1..=40)
            .map(|i| format!("64 bytes from 10.0.0.2: icmp_seq={i} ttl=64 time={i}.5 ms\n"))
            .collect();
        text.push_str(
            "40 packets transmitted, 40 received, 0% packet loss, time 200ms\n\
             rtt min/avg/max/mdev = 1.5/20.5/40.5/11.5 ms\n",
        );
        let s = parse_ping(&text).unwrap();
        assert_eq!(s.max_rtt_ms, Some(40.5));
        assert_eq!(s.p95_rtt_ms, Some(38.5));
    }

    #[test]
    fn total_loss_has_no_rtt() {
        let s =
            parse_ping("5 packets transmitted, 0 received, 100% packet loss, time 40ms\n").unwrap();
        assert_eq!(s.loss_percent(), 100.0);
        assert_eq!(s.avg_rtt_ms, None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_ping("ping: unknown host").is_err());
    }
}
