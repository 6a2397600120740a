//! Link impairment without `sch_netem`.
//!
//! The kernels these tests run on are built without `CONFIG_NET_SCH_NETEM`,
//! so `tc netem` is not available. The same faults are made from parts the
//! kernel does have:
//! - loss: an nftables rule with `numgen random` drops a share of the
//!   packets on the link, each direction on its own, all in the kernel;
//! - delay and jitter: an iptables `NFQUEUE` rule hands the link's packets to
//!   a thread of the test process, which gives each one its verdict after
//!   `delay ± jitter` (uniform), so packets are held, and reordered by
//!   jitter, exactly as netem would.
//!
//! Both live inside the test host's namespace and vanish with it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::Rng;

use crate::netns::Netem;

const QUEUE: u16 = 0;

/// Nftables rules that drop `loss_percent` of the packets each way on `dev`.
pub(crate) fn loss_rules(dev: &str, loss_percent: f32) -> String {
    // numgen draws 0..9999 per packet: per-mille-of-a-percent resolution.
    let below = (loss_percent.clamp(0.0, 100.0) * 100.0).round() as u32;
    format!(
        "table inet rtcs_loss {{\n\
         chain in {{ type filter hook prerouting priority -350; policy accept; iifname \"{dev}\" numgen random mod 10000 < {below} drop; }}\n\
         chain out {{ type filter hook postrouting priority -350; policy accept; oifname \"{dev}\" numgen random mod 10000 < {below} drop; }}\n\
         }}\n"
    )
}

/// The iptables rules that queue the link's packets to the delay thread
/// (`-A` to add, `-D` to delete).
pub(crate) fn queue_rules(dev: &str, op: &str) -> [Vec<String>; 2] {
    let rule = |chain: &str, dir: &str| {
        [
            "-t",
            "mangle",
            op,
            chain,
            dir,
            dev,
            "-j",
            "NFQUEUE",
            "--queue-num",
            "0",
        ]
        .map(String::from)
        .to_vec()
    };
    [rule("PREROUTING", "-i"), rule("POSTROUTING", "-o")]
}

/// A packet's hold time: `delay ± jitter`, never negative.
pub(crate) fn hold_time(netem: &Netem, rng: &mut impl Rng) -> Duration {
    let jitter = f64::from(netem.jitter_ms);
    let offset = if jitter > 0.0 {
        rng.random_range(-jitter..=jitter)
    } else {
        0.0
    };
    Duration::from_secs_f64((f64::from(netem.delay_ms) + offset).max(0.0) / 1000.0)
}

/// The thread that holds queued packets for their delay.
pub(crate) struct Delayer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Delayer {
    /// Opens the queue inside namespace `ns` (on a thread of its own, which
    /// enters the namespace) and starts giving verdicts.
    pub(crate) fn start(ns: &str, netem: Netem) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let ns_path = format!("/var/run/netns/{ns}");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("delay-{ns}"))
            .spawn(move || -> Result<()> {
                let queue = (|| -> Result<nfq::Queue> {
                    let ns = std::fs::File::open(&ns_path).context("opening the namespace")?;
                    // Only this thread moves: netlink sockets it opens now
                    // belong to the test host's namespace.
                    nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                        .context("entering the namespace")?;
                    let mut q = nfq::Queue::open().context("opening NFQUEUE")?;
                    q.bind(QUEUE).context("binding NFQUEUE 0")?;
                    q.set_queue_max_len(QUEUE, 8192)?;
                    q.set_nonblocking(true);
                    Ok(q)
                })();
                let mut queue = match queue {
                    Ok(q) => {
                        let _ = ready_tx.send(Ok(()));
                        q
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return Err(e);
                    }
                };
                run_delayer(&mut queue, netem, &flag)
            })?;
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Delayer {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => bail!("delay queue: {e}"),
            Err(_) => bail!("delay queue did not start within 5 s"),
        }
    }

    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Delayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Delayer")
    }
}

impl Drop for Delayer {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Held {
    at: Instant,
    seq: u64,
    msg: nfq::Message,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

fn run_delayer(queue: &mut nfq::Queue, netem: Netem, stop: &AtomicBool) -> Result<()> {
    let mut rng = rand::rng();
    let mut held: BinaryHeap<Reverse<Held>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        // Take everything waiting in the queue.
        loop {
            match queue.recv() {
                Ok(mut msg) => {
                    msg.set_verdict(nfq::Verdict::Accept);
                    seq += 1;
                    let at = Instant::now() + hold_time(&netem, &mut rng);
                    held.push(Reverse(Held { at, seq, msg }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).context("reading NFQUEUE"),
            }
        }
        // Release what is due (all of it when stopping: nothing is lost).
        let now = Instant::now();
        while held
            .peek()
            .is_some_and(|Reverse(h)| stopping || h.at <= now)
        {
            if let Some(Reverse(h)) = held.pop() {
                queue.verdict(h.msg).context("NFQUEUE verdict")?;
            }
        }
        if stopping {
            return Ok(());
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_rule_scales_percent_to_the_draw() {
        let r = loss_rules("v0", 25.0);
        assert_eq!(r.matches("numgen random mod 10000 < 2500 drop").count(), 2);
        assert!(loss_rules("v0", 150.0).contains("< 10000 drop"));
    }

    #[test]
    fn hold_time_stays_in_the_jitter_band() {
        let netem = Netem {
            loss_percent: 0.0,
            delay_ms: 50,
            jitter_ms: 20,
        };
        let mut rng = rand::rng();
        let holds: Vec<Duration> = (0..2000).map(|_| hold_time(&netem, &mut rng)).collect();
        let min = holds.iter().min().unwrap();
        let max = holds.iter().max().unwrap();
        assert!(*min >= Duration::from_millis(30) && *max <= Duration::from_millis(70));
        // Spread, not a constant: jitter is really applied.
        assert!(*max - *min > Duration::from_millis(30));
    }

    #[test]
    fn jitter_larger_than_delay_never_goes_negative() {
        let netem = Netem {
            loss_percent: 0.0,
            delay_ms: 5,
            jitter_ms: 100,
        };
        let mut rng = rand::rng();
        assert!((0..1000).all(|_| hold_time(&netem, &mut rng) <= Duration::from_millis(105)));
    }
}
