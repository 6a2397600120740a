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

/// Resolves once a TCP connection to the first hop succeeds (it is closed
/// at once): the server, or the proxy the environment names for it (on a
/// network whose only way out is its proxy, the server itself is never
/// reachable). The caller bounds the wait; an unreadable URL does not wait.
pub(crate) async fn until_reachable(url: &str) {
    let Some((host, port)) = crate::wire::first_hop(url).await else {
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

    #[tokio::test]
    async fn a_listening_server_is_reachable_at_once() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", l.local_addr().unwrap());
        tokio::time::timeout(Duration::from_secs(1), until_reachable(&url))
            .await
            .expect("reachable");
    }
}
