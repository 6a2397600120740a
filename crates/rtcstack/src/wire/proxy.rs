//! The proxy the environment names (`HTTPS_PROXY` for `wss://`,
//! `HTTP_PROXY` for `ws://`, either in lower case, `NO_PROXY` exempting
//! hosts, domains and address blocks), else the desktop's own setting
//! ([`super::system_proxy`]), reached with HTTP CONNECT. Its failures are named: a
//! proxy that cannot be reached, or one that refuses the tunnel, with its
//! answer. The proxy's address appears in errors; its credentials never do.

use base64::Engine as _;
use livekit_net::TransportError;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a proxy's refusal begins, through livekit-net's string-only
/// errors, for [`refusal`] to find.
const REFUSED: &str = "the proxy refused the connection: ";
/// A CONNECT answer's head, at most.
const MAX_HEAD: usize = 8 * 1024;
/// The proxy's status line as quoted in an error, at most (its words are
/// the proxy's to choose).
const MAX_QUOTED: usize = 200;

/// What the proxy answered, if `message` (as our websocket said it) says a
/// proxy refused.
pub(crate) fn refusal(message: &str) -> Option<&str> {
    message.strip_prefix(REFUSED)
}

/// Where a connection to `url` goes first: the proxy the environment
/// names for it, else the server itself. What "is the path back?" probes.
pub(crate) async fn first_hop(url: &str) -> Option<(String, u16)> {
    let target = url::Url::parse(url).ok()?;
    match for_target(&target).await {
        Ok(Some(p)) => Some((p.host, p.port)),
        // An unusable proxy setting: the attempt itself will say so.
        Err(_) => None,
        Ok(None) => direct(&target),
    }
}

/// The server's host (no brackets) and port from a `ws(s)://` or
/// `http(s)://` URL.
fn direct(target: &url::Url) -> Option<(String, u16)> {
    Some((
        target.host_str()?.trim_matches(['[', ']']).to_string(),
        target.port_or_known_default().or(match target.scheme() {
            "ws" => Some(80),
            "wss" => Some(443),
            _ => None,
        })?,
    ))
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Proxy {
    /// Its host (no brackets) and port, as probed.
    host: String,
    port: u16,
    /// `host:port`, as dialled and as errors name it.
    address: String,
    /// `Proxy-Authorization` value, from the URL's user and password.
    authorization: Option<String>,
}

fn var(names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (n.to_string(), v))
    })
}

/// The proxy for `target`: the environment's if it names one for it
/// (`NO_PROXY` may then still send it direct), else the desktop's.
pub(super) async fn for_target(target: &url::Url) -> Result<Option<Proxy>, TransportError> {
    if env_names_one(target) {
        return from_env(target);
    }
    let settings = tokio::task::spawn_blocking(super::system_proxy::settings)
        .await
        .ok()
        .flatten();
    from_settings(settings, target)
}

fn from_settings(
    settings: Option<super::system_proxy::Settings>,
    target: &url::Url,
) -> Result<Option<Proxy>, TransportError> {
    match settings.as_ref().and_then(|s| s.proxy_for(target)) {
        Some(address) => parse("the desktop's proxy setting", address).map(Some),
        None => Ok(None),
    }
}

fn env_names(target: &url::Url) -> &'static [&'static str] {
    if matches!(target.scheme(), "wss" | "https") {
        &["HTTPS_PROXY", "https_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy"]
    }
}

fn env_names_one(target: &url::Url) -> bool {
    var(env_names(target)).is_some()
}

/// The proxy for `target` from the environment, if any.
fn from_env(target: &url::Url) -> Result<Option<Proxy>, TransportError> {
    let Some((name, value)) = var(env_names(target)) else {
        return Ok(None);
    };
    let host = target.host_str().unwrap_or_default();
    if let Some((_, exempt)) = var(&["NO_PROXY", "no_proxy"]) {
        if exempted(host, &exempt) {
            return Ok(None);
        }
    }
    parse(&name, &value).map(Some)
}

/// Whether `NO_PROXY`'s list (`*`, hosts, domains with or without a
/// leading dot, address blocks such as `127.0.0.0/8`) covers `host`.
pub(super) fn exempted(host: &str, list: &str) -> bool {
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    list.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_matches(['[', ']']).to_ascii_lowercase();
        // ".example.com", "*.example.com" (GNOME's form) and "example.com"
        // all cover the domain and its hosts.
        let domain = entry.trim_start_matches("*.").trim_start_matches('.');
        entry == "*"
            || in_block(&host, &entry)
            || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
    })
}

/// Whether `host` is an address inside `block` (`address/bits`).
fn in_block(host: &str, block: &str) -> bool {
    use std::net::IpAddr;
    let Some((base, bits)) = block.split_once('/') else {
        return false;
    };
    let (Ok(host), Ok(base), Ok(bits)) = (
        host.parse::<IpAddr>(),
        base.trim_matches(['[', ']']).parse::<IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let masked = |a: u128, width: u32| {
        let keep = bits.min(width);
        if keep == 0 {
            0
        } else {
            a >> (width - keep)
        }
    };
    match (host, base) {
        (IpAddr::V4(h), IpAddr::V4(b)) => {
            masked(u32::from(h).into(), 32) == masked(u32::from(b).into(), 32)
        }
        (IpAddr::V6(h), IpAddr::V6(b)) => masked(u128::from(h), 128) == masked(u128::from(b), 128),
        _ => false,
    }
}

fn parse(name: &str, value: &str) -> Result<Proxy, TransportError> {
    // "host:port" alone is common: read as http://.
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let bad =
        |why: &str| TransportError::Connection(format!("{name} is not a usable proxy: {why}"));
    let url = url::Url::parse(&with_scheme).map_err(|_| bad("not a URL"))?;
    if url.scheme() != "http" {
        return Err(bad("only an http:// proxy is supported"));
    }
    // A password with an unencoded '/', '?' or '#' spills into a path, a
    // query or a fragment: refused, so no part of it is read as the
    // address and named in an error.
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "a proxy URL has a host, a port and an encoded user:password, nothing else",
        ));
    }
    let host = url.host_str().ok_or_else(|| bad("it names no host"))?;
    let port = url.port().unwrap_or(80);
    let authorization = (!url.username().is_empty()).then(|| {
        let user = percent_decode_str(url.username()).decode_utf8_lossy();
        let password = percent_decode_str(url.password().unwrap_or_default()).decode_utf8_lossy();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    });
    Ok(Proxy {
        host: host.trim_matches(['[', ']']).to_string(),
        port,
        address: format!("{host}:{port}"),
        authorization,
    })
}

impl Proxy {
    /// A TCP tunnel through the proxy to `host:port`.
    pub(super) async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, TransportError> {
        let mut tcp = TcpStream::connect(&self.address).await.map_err(|e| {
            TransportError::Connection(format!(
                "the proxy at {} could not be reached: {e}",
                self.address
            ))
        })?;
        let mut ask = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some(auth) = &self.authorization {
            ask.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        ask.push_str("\r\n");
        let lost = |e: std::io::Error| {
            TransportError::Connection(format!(
                "the proxy at {} dropped the connection: {e}",
                self.address
            ))
        };
        tcp.write_all(ask.as_bytes()).await.map_err(lost)?;
        // Byte by byte to the head's end (a blank line, CRLF or bare LF):
        // what follows is the server's.
        let mut head = Vec::with_capacity(256);
        while !(head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n")) {
            if head.len() >= MAX_HEAD {
                return Err(TransportError::Connection(format!(
                    "the proxy at {} answered with no end to its headers",
                    self.address
                )));
            }
            let b = tcp.read_u8().await.map_err(lost)?;
            head.push(b);
        }
        let status_line: String = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_QUOTED)
            .collect();
        match status_line.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(tcp),
            _ => Err(TransportError::Connection(format!(
                "{REFUSED}{status_line} (proxy {})",
                self.address
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_url_gives_its_address_and_credentials_not_in_words() {
        let p = parse("HTTPS_PROXY", "http://ada:s%40c+ret@proxy.corp:3128").unwrap();
        assert_eq!(p.address, "proxy.corp:3128");
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(
            p.authorization.as_deref(),
            Some("Basic YWRhOnNAYytyZXQ=") // ada:s@c+ret
        );
        assert_eq!(
            parse("HTTP_PROXY", "10.0.0.1:8080").unwrap().address,
            "10.0.0.1:8080"
        );
        let e = parse("HTTPS_PROXY", "socks5://ada:secret@h:1").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("HTTPS_PROXY"), "{e}");
        // An unencoded '/' in a password is not read as an address.
        let e = parse("HTTPS_PROXY", "http://ada:12/34@proxy.corp:3128").unwrap_err();
        assert!(!e.to_string().contains("12"), "{e}");
    }

    #[test]
    fn the_server_s_address_from_every_scheme() {
        let d = |u: &str| direct(&url::Url::parse(u).unwrap());
        assert_eq!(d("ws://10.0.0.1:7880"), Some(("10.0.0.1".into(), 7880)));
        assert_eq!(
            d("wss://lk.example.com"),
            Some(("lk.example.com".into(), 443))
        );
        assert_eq!(d("http://[::1]:7880/x"), Some(("::1".into(), 7880)));
    }

    #[test]
    fn no_proxy_exempts_hosts_and_domains() {
        assert!(exempted("localhost", "localhost,127.0.0.1"));
        assert!(exempted("lk.example.com", ".example.com"));
        assert!(exempted("lk.example.com", "example.com"));
        assert!(exempted("lk.example.com", "*.example.com"));
        assert!(!exempted("lk.example.org", "*.example.com"));
        assert!(exempted("LK.Example.com", "EXAMPLE.COM"));
        assert!(!exempted("example.com.evil", "example.com"));
        assert!(exempted("[::1]", "::1"));
        assert!(exempted("anything", "*"));
        assert!(!exempted("lk.example.com", ""));
        assert!(exempted("127.0.0.1", "127.0.0.0/8"));
        assert!(exempted("10.213.4.5", "localhost, 10.0.0.0/8"));
        assert!(!exempted("11.0.0.1", "10.0.0.0/8"));
        assert!(exempted("fd72::1", "fd00::/8"));
        assert!(!exempted("fe80::1", "fd00::/8"));
        assert!(!exempted("10.0.0.1", "fd00::/8"));
        assert!(exempted("192.0.2.7", "0.0.0.0/0"));
        assert!(!exempted("lk.example.com", "10.0.0.0/8"));
    }

    #[test]
    fn a_refusal_is_ours_only_at_the_start() {
        let words = format!("{REFUSED}HTTP/1.1 403 Forbidden (proxy p:1)");
        assert_eq!(refusal(&words), Some("HTTP/1.1 403 Forbidden (proxy p:1)"));
        assert_eq!(refusal("connection refused"), None);
        assert_eq!(refusal(&format!("the server said {words}")), None);
    }
}
