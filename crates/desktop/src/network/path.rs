//! The path to the call's server as the kernel would route it now: which
//! local address a packet to the server leaves from, and which leaves for
//! the internet at large (the default route, IPv4 and IPv6). A change in
//! these is what matters to a call; the rest of the OS's network news
//! (containers' links, other namespaces, addresses elsewhere) is not.
//!
//! Read with connected UDP sockets: `connect` only looks up the route (no
//! packet is sent) and `local_addr` says where it leads. Portable, and
//! needs no privilege.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// Documentation addresses (never routed anywhere specific), so the lookup
/// follows the default route.
const ANY_V4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)), 9);
const ANY_V6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    9,
);

/// Where traffic leaves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// The local address toward the call's server (None: no route).
    pub to_server: Option<IpAddr>,
    pub default_v4: Option<IpAddr>,
    pub default_v6: Option<IpAddr>,
}

/// The local address the kernel would send from to reach `to`.
fn local_toward(to: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(any).ok()?;
    s.connect(to).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// Whether `ip` is still one of this machine's addresses.
fn is_local(ip: IpAddr) -> bool {
    UdpSocket::bind((ip, 0)).is_ok()
}

/// The path now, toward `server`.
pub fn read(server: SocketAddr) -> Fingerprint {
    Fingerprint {
        to_server: local_toward(server),
        default_v4: local_toward(ANY_V4),
        default_v6: local_toward(ANY_V6),
    }
}

/// What changed, in words for the log.
pub fn describe(before: &Fingerprint, now: &Fingerprint) -> String {
    let show = |a: Option<IpAddr>| a.map_or("none".to_string(), |a| a.to_string());
    let mut parts = Vec::new();
    if before.to_server != now.to_server {
        parts.push(format!(
            "to the server via {} (was {})",
            show(now.to_server),
            show(before.to_server)
        ));
    }
    if before.default_v4 != now.default_v4 {
        parts.push(format!(
            "IPv4 default via {} (was {})",
            show(now.default_v4),
            show(before.default_v4)
        ));
    }
    if before.default_v6 != now.default_v6 {
        parts.push(format!(
            "IPv6 default via {} (was {})",
            show(now.default_v6),
            show(before.default_v6)
        ));
    }
    parts.join(", ")
}

/// The monitor's memory: which server it watches and the path it last saw
/// to it. Sans-IO: readings go in, "the call should know" comes out.
#[derive(Debug, Default)]
pub struct Watch {
    current: Option<(SocketAddr, Fingerprint)>,
}

/// What a reading means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing that matters to the call.
    Same,
    /// A new call (or the first look): this is its path from now on.
    Baseline,
    /// The path changed: tell the call (with what changed, for the log).
    Changed(String),
}

impl Watch {
    /// A reading after the OS reported changes (`local_gone`: whether the
    /// address the call used has left the machine).
    pub fn after_event(
        &mut self,
        server: SocketAddr,
        now: Fingerprint,
        local_gone: bool,
    ) -> Verdict {
        match self.current.replace((server, now)) {
            Some((s, before)) if s == server => {
                if before != now {
                    Verdict::Changed(describe(&before, &now))
                } else if local_gone {
                    Verdict::Changed("the call's local address is gone".into())
                } else {
                    Verdict::Same
                }
            }
            _ => Verdict::Baseline,
        }
    }

    /// A periodic look: only takes the baseline of a call it has not seen
    /// yet (a change is the OS events' to report, so a look between an
    /// event and its debounced reading cannot swallow it).
    pub fn look(
        &mut self,
        server: Option<SocketAddr>,
        now: impl FnOnce(SocketAddr) -> Fingerprint,
    ) -> Option<Fingerprint> {
        match server {
            None => {
                self.current = None;
                None
            }
            Some(s) if self.current.is_some_and(|(c, _)| c == s) => None,
            Some(s) => {
                let f = now(s);
                self.current = Some((s, f));
                Some(f)
            }
        }
    }

    /// The local address the call's path used, to check it is still ours.
    pub fn local(&self) -> Option<IpAddr> {
        self.current.and_then(|(_, f)| f.to_server)
    }
}

/// Whether the call's local address has gone from the machine.
pub fn gone(local: Option<IpAddr>) -> bool {
    local.is_some_and(|ip| !ip.is_loopback() && !is_local(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(to_server: &str, v4: &str) -> Fingerprint {
        Fingerprint {
            to_server: to_server.parse().ok(),
            default_v4: v4.parse().ok(),
            default_v6: None,
        }
    }

    fn server() -> SocketAddr {
        "10.0.0.2:7880".parse().unwrap()
    }

    #[test]
    fn the_first_reading_for_a_call_is_its_baseline_not_a_change() {
        let mut w = Watch::default();
        let v = w.after_event(server(), fp("10.0.0.1", "192.168.1.5"), false);
        assert_eq!(v, Verdict::Baseline);
        // Noise: the same path again.
        let v = w.after_event(server(), fp("10.0.0.1", "192.168.1.5"), false);
        assert_eq!(v, Verdict::Same);
    }

    #[test]
    fn a_new_source_address_or_default_route_is_a_change() {
        let mut w = Watch::default();
        w.look(Some(server()), |_| fp("10.0.0.1", "192.168.1.5"));
        let Verdict::Changed(why) = w.after_event(server(), fp("10.0.9.1", "192.168.1.5"), false)
        else {
            panic!("not a change")
        };
        assert!(
            why.contains("to the server via 10.0.9.1 (was 10.0.0.1)"),
            "{why}"
        );
        // Wi-Fi to Ethernet: the default route moves.
        assert!(matches!(
            w.after_event(server(), fp("10.0.9.1", "192.168.7.9"), false),
            Verdict::Changed(_)
        ));
        assert_eq!(w.local(), "10.0.9.1".parse().ok());
    }

    #[test]
    fn a_vanished_local_address_is_a_change_even_if_the_path_reads_the_same() {
        let mut w = Watch::default();
        w.look(Some(server()), |_| fp("10.0.0.1", "192.168.1.5"));
        let v = w.after_event(server(), fp("10.0.0.1", "192.168.1.5"), true);
        assert!(matches!(v, Verdict::Changed(_)), "{v:?}");
    }

    #[test]
    fn looks_take_a_baseline_once_per_call() {
        let mut w = Watch::default();
        w.look(Some(server()), |_| fp("10.0.0.1", ""));
        // A later look does not move it (that is the events' job).
        w.look(Some(server()), |_| fp("10.0.5.5", ""));
        assert_eq!(w.local(), "10.0.0.1".parse().ok());
        // No call: forgotten; another server: a new baseline.
        w.look(None, |_| unreachable!());
        assert_eq!(w.local(), None);
        let other: SocketAddr = "10.9.9.9:443".parse().unwrap();
        w.look(Some(other), |_| fp("10.0.7.7", ""));
        assert_eq!(w.local(), "10.0.7.7".parse().ok());
    }

    #[test]
    fn reads_this_machines_loopback_path() {
        let f = read("127.0.0.1:9".parse().unwrap());
        assert_eq!(f.to_server, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(!gone(f.to_server));
        // A documentation address is never one of ours.
        assert!(gone("203.0.113.77".parse().ok()));
        assert!(!gone(None));
    }
}
