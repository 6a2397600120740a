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
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
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
        Self::start_on(TcpListener::bind("127.0.0.1:0").await?, upstream)
    }

    /// Serves on a listener made elsewhere: one inside the server's
    /// namespace ([`crate::netns::NetHost::listen_tcp`]) stands beside the
    /// server, so a cut of the link cuts the proxy too, as it would a real
    /// server (a proxy on loopback would stay reachable through a cut and
    /// hide it from a client that waits for its server to be reachable).
    pub fn start_on(listener: TcpListener, upstream: &str) -> Result<Self> {
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

/// The client's request head (request line and headers), read without
/// consuming it, so the websocket handshake can still be answered later.
async fn peek_head(client: &TcpStream) -> Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::time::timeout_at(deadline, client.peek(&mut buf))
            .await
            .context("no request from the client")??;
        anyhow::ensure!(n > 0, "the client closed before its request");
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(end) = text.find("\r\n\r\n") {
            return Ok(text[..end].to_string());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Resolves when the client has closed its connection (its request still
/// unread, so the read side's hang-up is what tells).
async fn gone(client: &TcpStream) {
    loop {
        match client.ready(tokio::io::Interest::READABLE).await {
            Ok(r) if !r.is_read_closed() => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return,
        }
    }
}

async fn relay(client: TcpStream, upstream: &str, dropped: Arc<AtomicU32>) -> Result<()> {
    // The client's request (path, query, Authorization) goes upstream as
    // is, and only once the server has accepted it is the client's
    // handshake answered: as with a direct connection, a client whose
    // connect is still pending when it gives up leaves nothing behind (a
    // late join or resume reaching the server after the link came back
    // would take our identity from the session that replaced it).
    let head = peek_head(&client).await?;
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .context("no request line")?
        .to_string();
    let auth = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("authorization")
            .then(|| v.trim().to_string())
    });
    let url = format!("{upstream}{path}");
    let mut up_req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )?;
    if let Some(auth) = auth {
        up_req.headers_mut().insert("authorization", auth.parse()?);
    }
    let upstream = tokio::select! {
        up = tokio_tungstenite::connect_async(up_req) => up.context("upstream handshake")?.0,
        _ = gone(&client) => return Ok(()),
    };
    let downstream = tokio_tungstenite::accept_async(client)
        .await
        .context("client handshake")?;
    let (mut down_tx, mut down_rx) = downstream.split();
    let (mut up_tx, mut up_rx) = upstream.split();
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
