//! Waiting for the path to the server to come back before an attempt.
//!
//! An attempt started while the link is still cut sends a TCP SYN that is
//! lost; the kernel retries it after 1, 3, 7 s, so an attempt that began
//! just before the link came back can sit seconds behind it. A short
//! connect every 200 ms notices the path within a fifth of a second, and
//! only then does the attempt go ahead.

use std::time::Duration;

use tokio::net::TcpStream;

/// How often the path is tried, and how long each try may take.
const EVERY: Duration = Duration::from_millis(200);

/// The server's host and port from a `ws(s)://` or `http(s)://` URL.
pub(crate) fn endpoint(url: &str) -> Option<(String, u16)> {
    let u = url::Url::parse(url).ok()?;
    let port = u.port_or_known_default().or(match u.scheme() {
        "ws" => Some(80),
        "wss" => Some(443),
        _ => None,
    })?;
    Some((u.host_str()?.trim_matches(['[', ']']).to_string(), port))
}

/// Resolves once a TCP connection to the server succeeds (it is closed at
/// once). The caller bounds the wait; an unreadable URL does not wait.
pub(crate) async fn until_reachable(url: &str) {
    let Some((host, port)) = endpoint(url) else {
        return;
    };
    loop {
        let tried = tokio::time::timeout(EVERY, TcpStream::connect((host.as_str(), port))).await;
        match tried {
            Ok(Ok(_)) => return,
            // Refused outright: the host is reachable; let the attempt say why.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            // Unreachable or lost: wait for the next try.
            Ok(Err(_)) => tokio::time::sleep(EVERY).await,
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_every_scheme() {
        assert_eq!(
            endpoint("ws://10.0.0.1:7880"),
            Some(("10.0.0.1".into(), 7880))
        );
        assert_eq!(
            endpoint("wss://lk.example.com"),
            Some(("lk.example.com".into(), 443))
        );
        assert_eq!(endpoint("http://[::1]:7880/x"), Some(("::1".into(), 7880)));
        assert_eq!(endpoint("not a url"), None);
    }

    #[tokio::test]
    async fn a_listening_server_is_reachable_at_once() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", l.local_addr().unwrap());
        tokio::time::timeout(Duration::from_secs(1), until_reachable(&url))
            .await
            .expect("reachable");
    }
}
