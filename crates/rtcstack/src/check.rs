//! The parts of a pre-call check that need the engine: how far away the
//! server is, and a test join that learns which path media would take
//! before anyone is in a call.
//!
//! The round trip is a TCP handshake to the server's signal port: one
//! network round trip, answered by the server's kernel, before any TLS or
//! token is involved, so it says "reachable, and this far" even when the
//! token would be refused. Where the environment names a proxy for the
//! server, it is the proxy's port: the first hop a call takes (on a network
//! whose only way out is its proxy, the server never answers directly).

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::{Call, CallOptions, ConnectError, MediaPaths};

/// Handshakes timed; the median is reported (one slow SYN does not count).
const HANDSHAKES: usize = 3;

/// The server's signal port answered: its median handshake time.
pub async fn server_round_trip(url: &str, within: Duration) -> Result<Duration, ConnectError> {
    let (host, port) = crate::wire::first_hop(url).await.ok_or_else(|| {
        ConnectError::InvalidUrl(format!("cannot read {url:?} as ws(s):// or http(s)://"))
    })?;
    let deadline = Instant::now() + within;
    let mut times = Vec::with_capacity(HANDSHAKES);
    for _ in 0..HANDSHAKES {
        let left = deadline.saturating_duration_since(Instant::now());
        let started = Instant::now();
        match tokio::time::timeout(left, TcpStream::connect((host.as_str(), port))).await {
            Ok(Ok(stream)) => {
                times.push(started.elapsed());
                drop(stream);
            }
            Ok(Err(e)) => return Err(ConnectError::Unreachable(e.to_string())),
            Err(_) if times.is_empty() => return Err(ConnectError::Timeout(within)),
            // Answered before: reachable, if slow.
            Err(_) => break,
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// What a test join learned.
#[derive(Debug, Clone)]
pub struct TestJoin {
    /// The path each connection took (the publisher's is ours to the
    /// server).
    pub paths: MediaPaths,
    /// From the start of the join until media could flow.
    pub took: Duration,
}

/// Joins with `options` (publishing nothing), reads the path media would
/// take, and leaves at once: the server removes us as soon as it hears the
/// leave, so others see at most a moment's participant. A join that fails
/// says why, as `connect()` would.
pub async fn test_join(options: CallOptions) -> Result<TestJoin, ConnectError> {
    let started = Instant::now();
    let (call, _events) = Call::new(options);
    let joined = call.connect().await;
    let took = started.elapsed();
    let paths = match &joined {
        Ok(()) => call.media_paths().await,
        Err(_) => None,
    };
    call.leave().await;
    joined?;
    Ok(TestJoin {
        paths: paths.unwrap_or(MediaPaths {
            publisher: None,
            subscriber: None,
        }),
        took,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listening_port_answers_and_a_closed_one_is_refused() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let rtt = server_round_trip(&format!("ws://{addr}"), Duration::from_secs(2))
            .await
            .unwrap();
        assert!(rtt < Duration::from_millis(200), "{rtt:?}");
        drop(l);
        let refused = server_round_trip(&format!("ws://{addr}"), Duration::from_secs(2)).await;
        assert!(
            matches!(refused, Err(ConnectError::Unreachable(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_url_is_said_to_be_one() {
        let e = server_round_trip("not a url", Duration::from_secs(1)).await;
        assert!(matches!(e, Err(ConnectError::InvalidUrl(_))), "{e:?}");
    }
}
