//! The desktop's own proxy setting, for when the environment names none,
//! as a browser on that desktop would find it: on Linux, GNOME's manual
//! proxy (`org.gnome.system.proxy`, which KDE-less desktops and many apps
//! share). Read at most every 30 s, so a change made mid-session counts
//! from the next connection. Automatic (PAC) configuration is not read.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(not(target_os = "linux"))]
mod unsupported;
#[cfg(not(target_os = "linux"))]
use unsupported as os;

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A desktop's manual proxies, `host:port` each, and the hosts it exempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) https: Option<String>,
    pub(crate) http: Option<String>,
    /// Hosts, domains and address blocks, as `NO_PROXY` lists them.
    pub(crate) ignore: Vec<String>,
}

impl Settings {
    /// The proxy for `target` (`wss://` takes the HTTPS one), `None` when
    /// it goes direct.
    pub(crate) fn proxy_for(&self, target: &url::Url) -> Option<&str> {
        let host = target.host_str()?;
        if super::proxy::exempted(host, &self.ignore.join(",")) {
            return None;
        }
        match target.scheme() {
            "wss" | "https" => self.https.as_deref(),
            _ => self.http.as_deref(),
        }
    }
}

/// How long a reading is taken as current.
const FRESH: Duration = Duration::from_secs(30);

static READ: Mutex<Option<(Instant, Option<Settings>)>> = Mutex::new(None);

/// The desktop's setting now (reading it may start a process: call from a
/// blocking task).
pub(crate) fn settings() -> Option<Settings> {
    // Held while reading: callers arriving together wait for one reading.
    let mut read = READ.lock().ok()?;
    if let Some((at, s)) = read.as_ref() {
        if at.elapsed() < FRESH {
            return s.clone();
        }
    }
    let s = os::read();
    *read = Some((Instant::now(), s.clone()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_https_proxy_for_wss_the_http_one_for_ws_and_exempt_hosts_direct() {
        let s = Settings {
            https: Some("10.0.0.9:3128".into()),
            http: Some("10.0.0.9:8080".into()),
            ignore: vec!["localhost".into(), "127.0.0.0/8".into(), "::1".into()],
        };
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert_eq!(
            s.proxy_for(&url("wss://lk.example.com")),
            Some("10.0.0.9:3128")
        );
        assert_eq!(
            s.proxy_for(&url("ws://lk.example.com:7880")),
            Some("10.0.0.9:8080")
        );
        assert_eq!(s.proxy_for(&url("ws://127.0.0.1:7880")), None);
        assert_eq!(s.proxy_for(&url("wss://[::1]:7880")), None);
        assert_eq!(s.proxy_for(&url("ws://localhost:7880")), None);
        let none = Settings::default();
        assert_eq!(none.proxy_for(&url("wss://lk.example.com")), None);
    }
}
