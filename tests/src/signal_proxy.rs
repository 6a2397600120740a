//! A websocket proxy in front of the server's signal endpoint that passes
//! everything through except the server's in-band refreshed tokens.
//!
//! LiveKit's server re-mints a participant's token over the signal channel
//! at join and every 5 minutes (valid 10), so against it the token a client
//! holds never expires during a short outage. Servers that do not do this,
//! or a sleep longer than the in-band token, leave the client with its own
//! token; this proxy recreates that with the real server behind it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// A running proxy.
pub struct SignalProxy {
    addr: SocketAddr,
    dropped: Arc<AtomicU32>,
    task: JoinHandle<()>,
}

impl SignalProxy {
    /// Listens on loopback and forwards to `upstream` (`ws://host:port`).
    pub async fn start(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let dropped = Arc::new(AtomicU32::new(0));
        let upstream = upstream.trim_end_matches('/').to_string();
        let count = Arc::clone(&dropped);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    if let Err(e) = relay(client, &upstream, count).await {
                        eprintln!("signal proxy: {e:#}");
                    }
                });
            }
        });
        Ok(SignalProxy {
            addr,
            dropped,
            task,
        })
    }

    /// The URL clients use instead of the server's.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// How many refreshed tokens the proxy has withheld.
    pub fn dropped_refreshes(&self) -> u32 {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for SignalProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn relay(client: TcpStream, upstream: &str, dropped: Arc<AtomicU32>) -> Result<()> {
    // The client's request (path, query, Authorization) goes upstream as is.
    let mut seen: Option<Request> = None;
    let downstream =
        tokio_tungstenite::accept_hdr_async(client, |req: &Request, resp: Response| {
            seen = Some(req.clone());
            Ok(resp)
        })
        .await
        .context("client handshake")?;
    let req = seen.context("no request seen")?;
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{upstream}{path}");
    let mut up_req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )?;
    if let Some(auth) = req.headers().get("authorization") {
        up_req.headers_mut().insert("authorization", auth.clone());
    }
    let (mut down_tx, mut down_rx) = downstream.split();
    // A client that gives up (its attempt timed out) takes its upstream
    // connection with it: a connect still pending when the link comes back
    // must not reach the server late, as a stale join or resume would.
    let mut early = Vec::new();
    let connect = tokio_tungstenite::connect_async(up_req);
    tokio::pin!(connect);
    let upstream = loop {
        tokio::select! {
            up = &mut connect => break up.context("upstream handshake")?.0,
            m = down_rx.next() => match m {
                Some(Ok(m)) => early.push(m),
                _ => return Ok(()),
            },
        }
    };
    let (mut up_tx, mut up_rx) = upstream.split();
    for m in early {
        up_tx.send(m).await?;
    }
    let to_server = async {
        while let Some(Ok(m)) = down_rx.next().await {
            if up_tx.send(m).await.is_err() {
                break;
            }
        }
        let _ = up_tx.close().await;
    };
    let to_client = async {
        while let Some(Ok(m)) = up_rx.next().await {
            if let Message::Binary(bytes) = &m {
                let refresh = proto::SignalResponse::decode(bytes.as_ref())
                    .ok()
                    .and_then(|r| r.message)
                    .is_some_and(|msg| {
                        matches!(msg, proto::signal_response::Message::RefreshToken(_))
                    });
                if refresh {
                    dropped.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
            }
            if down_tx.send(m).await.is_err() {
                break;
            }
        }
        let _ = down_tx.close().await;
    };
    // Either side closing ends the relay, as a dropped connection would.
    tokio::select! {
        _ = to_server => {}
        _ = to_client => {}
    }
    Ok(())
}
