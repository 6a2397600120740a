//! A test host in its own network namespace, joined to ours by a veth pair.
//!
//! The server (and the peers that stand "next to" it) live inside the
//! namespace; the client under test lives in the root namespace and reaches
//! the host over the veth. Cutting or degrading the veth therefore hurts the
//! client under test and nobody else, which is what a Wi-Fi drop looks like.
//!
//! ```text
//!   root ns (client under test)            rtcsN (server, helper peers)
//!   rtcsNa 10.213.x.(4k+1)/30  <== veth ==>  rtcsNb 10.213.x.(4k+2)/30
//! ```
//!
//! Needs root. The namespace (and with it the veth and every nftables rule
//! and qdisc inside it) is deleted on drop.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use crate::impair::{self, Delayer};

/// Prefix of every namespace and interface the bench makes; `scripts/test`
/// removes leftovers with this prefix from a crashed run.
pub const PREFIX: &str = "rtcs";
const SLOTS: u32 = 16384; // /30 blocks in BLOCK
const BLOCK: &str = "10.213.0.0/16";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Netem-like impairment, applied in both directions (see [`crate::impair`]
/// for how, on kernels without `sch_netem`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Netem {
    /// Packet loss, percent (0–100).
    pub loss_percent: f32,
    /// One-way added delay.
    pub delay_ms: u32,
    /// Jitter around the delay.
    pub jitter_ms: u32,
}

/// The namespace and the link to it.
#[derive(Debug)]
pub struct NetHost {
    name: String,
    slot: u32,
    delayer: Mutex<Option<Delayer>>,
}

impl NetHost {
    /// Makes a fresh namespace with a veth link to the root namespace.
    pub fn new() -> Result<Self> {
        crate::require_root("a network namespace test host")?;
        let base = std::process::id().wrapping_mul(97);
        for _ in 0..64 {
            let slot = (base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))) % SLOTS;
            let name = format!("{PREFIX}{slot}");
            // `ip netns add` fails if the name exists: another test owns it.
            if run("ip", &["netns", "add", &name]).is_err() {
                continue;
            }
            let host = NetHost {
                name,
                slot,
                delayer: Mutex::new(None),
            };
            host.wire()
                .with_context(|| format!("wiring namespace {}", host.name))?;
            return Ok(host);
        }
        bail!("no free namespace slot after 64 tries (stale {PREFIX}* namespaces? `ip netns list`)")
    }

    fn wire(&self) -> Result<()> {
        let (n, a, b) = (&self.name, self.root_if(), self.host_if());
        // Test addresses must never fall through to the default route (and
        // out of the machine) while a link is down: make the block
        // unreachable except through its own veth /30s.
        run("ip", &["route", "replace", "unreachable", BLOCK])?;
        run(
            "ip",
            &[
                "link", "add", &a, "type", "veth", "peer", "name", &b, "netns", n,
            ],
        )?;
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/30", self.client_ip()),
                "dev",
                &a,
            ],
        )?;
        run("ip", &["link", "set", &a, "up"])?;
        run(
            "ip",
            &[
                "-n",
                n,
                "addr",
                "add",
                &format!("{}/30", self.host_ip()),
                "dev",
                &b,
            ],
        )?;
        run("ip", &["-n", n, "link", "set", &b, "up"])?;
        run("ip", &["-n", n, "link", "set", "lo", "up"])?;
        // IPv6 beside it, a private /64 per slot (no duplicate-address
        // wait: the link has two ends, both ours).
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/64", self.client_ip6()),
                "dev",
                &a,
                "nodad",
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                n,
                "addr",
                "add",
                &format!("{}/64", self.host_ip6()),
                "dev",
                &b,
                "nodad",
            ],
        )?;
        Ok(())
    }

    /// The host's IPv6 address (unique local, one /64 per slot).
    pub fn host_ip6(&self) -> std::net::Ipv6Addr {
        std::net::Ipv6Addr::new(0xfd72, 0x13, self.slot as u16, 0, 0, 0, 0, 2)
    }

    /// Our end's IPv6 address.
    pub fn client_ip6(&self) -> std::net::Ipv6Addr {
        std::net::Ipv6Addr::new(0xfd72, 0x13, self.slot as u16, 0, 0, 0, 0, 1)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's address: what the client under test dials.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.addr(2)
    }

    /// Our end of the link, in the root namespace.
    pub fn client_ip(&self) -> Ipv4Addr {
        self.addr(1)
    }

    fn addr(&self, last: u32) -> Ipv4Addr {
        let off = self.slot * 4 + last;
        Ipv4Addr::new(10, 213, (off >> 8) as u8, (off & 0xff) as u8)
    }

    fn root_if(&self) -> String {
        format!("{}a", self.name)
    }

    fn host_if(&self) -> String {
        format!("{}b", self.name)
    }

    /// A TCP listener on the host's address, inside the namespace (a
    /// thread enters it just to make the socket; the socket stays there).
    pub fn listen_tcp(&self) -> Result<tokio::net::TcpListener> {
        let (ns_path, ip) = (format!("/var/run/netns/{}", self.name), self.host_ip());
        let listener = std::thread::spawn(move || -> Result<std::net::TcpListener> {
            use std::os::fd::AsFd;
            let ns = std::fs::File::open(&ns_path).context("opening the namespace")?;
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .context("entering the namespace")?;
            let l = std::net::TcpListener::bind((ip, 0)).context("binding in the namespace")?;
            l.set_nonblocking(true)?;
            Ok(l)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))??;
        Ok(tokio::net::TcpListener::from_std(listener)?)
    }

    /// Bytes that have come to us over the link (the kernel's count on our
    /// end of it): what the host sent the client under test.
    pub fn bytes_to_client(&self) -> Result<u64> {
        let path = format!("/sys/class/net/{}/statistics/rx_bytes", self.root_if());
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        text.trim()
            .parse()
            .with_context(|| format!("{path} holds {text:?}"))
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Silent cut: every packet on the link is dropped (nftables, inside the
    /// namespace), the interfaces stay up. Like a dead access point: the
    /// client learns of it only by timeouts.
    pub fn cut(&self) -> Result<()> {
        let b = self.host_if();
        let rules = format!(
            "table inet rtcs_cut {{\n\
             chain in {{ type filter hook prerouting priority -400; policy accept; iifname \"{b}\" drop; }}\n\
             chain out {{ type filter hook output priority -400; policy accept; oifname \"{b}\" drop; }}\n\
             }}\n"
        );
        self.nft_stdin(&rules)
    }

    /// Undoes [`cut`](Self::cut).
    /// Caps what we send to the namespace at `kbit` kbit/s, as a slow
    /// uplink does: a token bucket (tc tbf) on our side of the link, with
    /// 100 ms of queue before it drops. `uncap` lifts it.
    pub fn cap_uplink(&self, kbit: u32) -> Result<()> {
        self.cap_uplink_queued(kbit, 100)
    }

    /// The same with `queue_ms` of queue before anything is dropped: a
    /// home router's deep buffer, where a sender that waits for loss has
    /// already queued that much delay.
    pub fn cap_uplink_queued(&self, kbit: u32, queue_ms: u32) -> Result<()> {
        let rate = format!("{kbit}kbit");
        let latency = format!("{queue_ms}ms");
        run(
            "tc",
            &[
                "qdisc",
                "replace",
                "dev",
                &self.root_if(),
                "root",
                "tbf",
                "rate",
                &rate,
                "burst",
                "16kb",
                "latency",
                &latency,
            ],
        )
    }

    /// Caps what the namespace sends us at `kbit` kbit/s, as a slow
    /// downlink does (a token bucket on its side of the link, 100 ms of
    /// queue); the server's peers, inside the namespace, are not held.
    /// `uncap_downlink` lifts it.
    pub fn cap_downlink(&self, kbit: u32) -> Result<()> {
        let (rate, dev) = (format!("{kbit}kbit"), self.host_if());
        run(
            "ip",
            &[
                "netns", "exec", &self.name, "tc", "qdisc", "replace", "dev", &dev, "root", "tbf",
                "rate", &rate, "burst", "16kb", "latency", "100ms",
            ],
        )
    }

    pub fn uncap_downlink(&self) -> Result<()> {
        let dev = self.host_if();
        run(
            "ip",
            &[
                "netns", "exec", &self.name, "tc", "qdisc", "del", "dev", &dev, "root",
            ],
        )
    }

    pub fn uncap(&self) -> Result<()> {
        run("tc", &["qdisc", "del", "dev", &self.root_if(), "root"])
    }

    pub fn restore(&self) -> Result<()> {
        run(
            "ip",
            &[
                "netns", "exec", &self.name, "nft", "delete", "table", "inet", "rtcs_cut",
            ],
        )
    }

    /// UDP blocked, TCP open: every UDP packet on the link is dropped
    /// (nftables, inside the namespace), as on a hotel or corporate network
    /// that lets only TCP out. Media has to take ICE-TCP (or TURN over TCP).
    pub fn block_udp(&self) -> Result<()> {
        let b = self.host_if();
        let rules = format!(
            "table inet rtcs_udp {{\n\
             chain in {{ type filter hook prerouting priority -400; policy accept; iifname \"{b}\" meta l4proto udp drop; }}\n\
             chain out {{ type filter hook output priority -400; policy accept; oifname \"{b}\" meta l4proto udp drop; }}\n\
             }}\n"
        );
        self.nft_stdin(&rules)
    }

    /// Undoes [`block_udp`](Self::block_udp).
    pub fn unblock_udp(&self) -> Result<()> {
        run(
            "ip",
            &[
                "netns", "exec", &self.name, "nft", "delete", "table", "inet", "rtcs_udp",
            ],
        )
    }

    /// Every connection to the host from outside its namespace is refused
    /// (a TCP reset, as from a host where nothing listens), anything else
    /// dropped, both ways; the host's own loopback is left alone, so its
    /// peers stay. [`accept_connections`](Self::accept_connections) undoes it.
    pub fn refuse_connections(&self) -> Result<()> {
        self.nft_stdin(
            "table inet rtcs_refuse {\n\
             chain in { type filter hook input priority -300; policy accept; \
               iifname \"lo\" accept; meta l4proto tcp reject with tcp reset; drop; }\n\
             chain out { type filter hook output priority -300; policy accept; \
               oifname \"lo\" accept; meta l4proto tcp accept; drop; }\n\
             }\n",
        )
    }

    pub fn accept_connections(&self) -> Result<()> {
        self.nft_stdin("delete table inet rtcs_refuse\n")
    }

    /// TCP from our side reaches only `ports` (a proxy's): new connections
    /// to any other port are dropped (those already open live on: the
    /// chain sits after connection tracking), as on a network whose only
    /// way out is its proxy. UDP is left alone.
    pub fn only_tcp_to(&self, ports: &[u16]) -> Result<()> {
        let b = self.host_if();
        let allowed = nft_set(ports);
        let rules = format!(
            "table inet rtcs_tcp {{\n\
             chain in {{ type filter hook prerouting priority 0; policy accept; \
             iifname \"{b}\" tcp dport != {{ {allowed} }} ct state new drop; }}\n\
             }}\n"
        );
        self.nft_stdin(&rules)
    }

    /// UDP from our side reaches only `ports` (a TURN server's) and comes
    /// back only from them; all other UDP is dropped both ways.
    pub fn only_udp_to(&self, ports: &[u16]) -> Result<()> {
        let b = self.host_if();
        let allowed = nft_set(ports);
        let rules = format!(
            "table inet rtcs_udp_only {{\n\
             chain in {{ type filter hook prerouting priority -400; policy accept; \
             iifname \"{b}\" udp dport != {{ {allowed} }} drop; }}\n\
             chain out {{ type filter hook output priority -400; policy accept; \
             oifname \"{b}\" udp sport != {{ {allowed} }} drop; }}\n\
             }}\n"
        );
        self.nft_stdin(&rules)
    }

    /// Undoes [`only_tcp_to`](Self::only_tcp_to) and
    /// [`only_udp_to`](Self::only_udp_to), whichever are in force.
    pub fn lift_port_limits(&self) -> Result<()> {
        for table in ["rtcs_tcp", "rtcs_udp_only"] {
            // Absent when its rule was never set: nothing to undo.
            let _ = run(
                "ip",
                &[
                    "netns", "exec", &self.name, "nft", "delete", "table", "inet", table,
                ],
            );
        }
        Ok(())
    }

    /// Loud cut: our side of the link goes down, as when Wi-Fi is switched off.
    pub fn link_down(&self) -> Result<()> {
        run("ip", &["link", "set", &self.root_if(), "down"])
    }

    /// Undoes [`link_down`](Self::link_down).
    pub fn link_up(&self) -> Result<()> {
        run("ip", &["link", "set", &self.root_if(), "up"])
    }

    /// Moves our end of the link to another address, as a network switch
    /// does (Wi-Fi to Ethernet, a VPN on): a new address in a block of its
    /// own (10.214.0.0/16, so no other test's) that the host routes back to,
    /// a host route to the server from it, then the old address removed.
    /// Connections bound to the old address are dead from then on; new ones
    /// leave from the new one. Returns the new address. (The namespace's
    /// deletion undoes it all.)
    pub fn move_client(&self) -> Result<Ipv4Addr> {
        let off = self.slot * 4 + 1;
        let new = Ipv4Addr::new(10, 214, (off >> 8) as u8, (off & 0xff) as u8);
        let (a, b) = (self.root_if(), self.host_if());
        let (new_s, host) = (new.to_string(), self.host_ip().to_string());
        run("ip", &["addr", "add", &format!("{new_s}/32"), "dev", &a])?;
        run(
            "ip",
            &[
                "-n",
                &self.name,
                "route",
                "add",
                &format!("{new_s}/32"),
                "dev",
                &b,
            ],
        )?;
        run(
            "ip",
            &[
                "route",
                "add",
                &format!("{host}/32"),
                "dev",
                &a,
                "src",
                &new_s,
            ],
        )?;
        run(
            "ip",
            &[
                "addr",
                "del",
                &format!("{}/30", self.client_ip()),
                "dev",
                &a,
            ],
        )?;
        Ok(new)
    }

    /// Degrades the link both ways (replaces any earlier impairment).
    pub fn degrade(&self, netem: Netem) -> Result<()> {
        self.clear_degrade()?;
        let b = self.host_if();
        if netem.loss_percent > 0.0 {
            self.nft_stdin(&impair::loss_rules(&b, netem.loss_percent))?;
        }
        if netem.delay_ms > 0 || netem.jitter_ms > 0 {
            let delayer = Delayer::start(&self.name, netem)?;
            *self.delayer.lock().expect("delayer lock") = Some(delayer);
            for rule in impair::queue_rules(&b, "-A") {
                let mut args = vec!["netns", "exec", self.name.as_str(), "iptables"];
                args.extend(rule.iter().map(String::as_str));
                run("ip", &args)?;
            }
        }
        Ok(())
    }

    /// Removes any impairment; held packets are released, not lost.
    pub fn clear_degrade(&self) -> Result<()> {
        let b = self.host_if();
        // Each step fails when nothing of its kind is installed: that is the
        // state we want, so those errors are not errors.
        let _ = run(
            "ip",
            &[
                "netns",
                "exec",
                &self.name,
                "nft",
                "delete",
                "table",
                "inet",
                "rtcs_loss",
            ],
        );
        for rule in impair::queue_rules(&b, "-D") {
            let mut args = vec!["netns", "exec", self.name.as_str(), "iptables"];
            args.extend(rule.iter().map(String::as_str));
            let _ = run("ip", &args);
        }
        if let Some(mut d) = self.delayer.lock().expect("delayer lock").take() {
            d.stop();
        }
        Ok(())
    }

    fn nft_stdin(&self, rules: &str) -> Result<()> {
        use std::io::Write;
        let mut child = self
            .command("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running nft")?;
        child
            .stdin
            .take()
            .context("nft stdin")?
            .write_all(rules.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "nft failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for NetHost {
    fn drop(&mut self) {
        let _ = self.clear_degrade();
        // Our end first: a namespace can outlive its name while sockets in
        // it wind down (a server's connection to an address that moved
        // away), and its veth would keep our end, and the slot, taken.
        let _ = run("ip", &["link", "del", &self.root_if()]);
        // Deleting the namespace removes its end of the veth, which removes
        // ours, and everything configured inside it.
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// Runs a system tool and turns a non-zero exit into an error with its stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("could not run {program} (is it installed? scripts/setup)"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Ports as the inside of an nftables set: `80, 443`.
fn nft_set(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_inside_the_test_block() {
        let last = NetHost {
            name: "x".into(),
            slot: SLOTS - 1,
            delayer: Mutex::new(None),
        };
        assert_eq!(last.client_ip(), Ipv4Addr::new(10, 213, 255, 253));
        assert_eq!(last.host_ip(), Ipv4Addr::new(10, 213, 255, 254));
        std::mem::forget(last); // no namespace to delete
    }
}
