//! GNOME's proxy settings, read with `gsettings` (through `sysproxy`):
//! only the manual mode; a desktop without the schema or the tool has none.

use sysproxy::Sysproxy;

use super::Settings;

pub(super) fn read() -> Option<Settings> {
    if !Sysproxy::get_enable().ok()? {
        return None;
    }
    let address = |p: Sysproxy| {
        let host = p.host.trim();
        (!host.is_empty()).then(|| match host.parse::<std::net::Ipv6Addr>().is_ok() {
            true => format!("[{host}]:{}", p.port),
            false => format!("{host}:{}", p.port),
        })
    };
    let settings = Settings {
        https: Sysproxy::get_https().ok().and_then(address),
        http: Sysproxy::get_http().ok().and_then(address),
        ignore: Sysproxy::get_bypass()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(String::from)
            .collect(),
    };
    // Which proxies, not their addresses: a host field may hold a password.
    tracing::debug!(
        "the desktop's proxy is set: https {}, http {}",
        settings.https.is_some(),
        settings.http.is_some()
    );
    Some(settings)
}
