//! How we reach the server: the signal websocket and LiveKit's HTTP calls
//! (`rtc/validate`), ours rather than livekit-net's built-in ones and
//! registered with it, for what a desktop client on real networks needs:
//! the server's certificate checked against the operating system's trust
//! store (a company root installed on the machine is honoured, as in the
//! browser), the proxy the environment names, and failures that say which
//! of these it was (see [`crate::ConnectError`]).

mod connection;
mod http;
mod proxy;
mod system_proxy;
mod tls;
mod turn_framing;
mod turn_stream;

use std::sync::{Arc, Once};
use std::time::Duration;

use livekit_net::{Header, TransportError, WsClient, WsConnectResult};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::MaybeTlsStream;

pub(crate) use proxy::{first_hop, refusal};
pub(crate) use tls::untrusted;
pub(crate) use turn_stream::TurnStreams;

/// Makes ours the process's websocket and HTTP client for LiveKit's
/// signalling. Once; an application that registered its own first keeps
/// them.
pub(crate) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        livekit_net::set_ws_client(Arc::new(Client));
        match http::Http::new() {
            Ok(h) => livekit_net::set_http_client(Arc::new(h)),
            // livekit-net's own clients are not built: without ours, the
            // refused websocket's reason (rtc/validate) cannot be asked.
            Err(e) => tracing::warn!("no HTTP client: {e}"),
        }
    });
}

struct Client;

#[async_trait::async_trait]
impl WsClient for Client {
    async fn connect(
        &self,
        url: String,
        headers: Vec<Header>,
        timeout_ms: u64,
    ) -> Result<WsConnectResult, TransportError> {
        let target =
            url::Url::parse(&url).map_err(|e| TransportError::Connection(e.to_string()))?;
        let mut request = target
            .as_str()
            .into_client_request()
            .map_err(|e| TransportError::Connection(e.to_string()))?;
        for h in &headers {
            let name: ::http::HeaderName = h
                .name
                .parse()
                .map_err(|_| TransportError::Other(format!("bad header name {:?}", h.name)))?;
            let value = ::http::HeaderValue::from_str(&h.value)
                .map_err(|_| TransportError::Other(format!("bad value for header {name}")))?;
            request.headers_mut().insert(name, value);
        }
        let open = async {
            let host = target
                .host_str()
                .ok_or_else(|| TransportError::Connection("the URL names no host".into()))?;
            let port = target
                .port_or_known_default()
                .ok_or_else(|| TransportError::Connection("the URL names no port".into()))?;
            let tcp = match proxy::for_target(&target).await? {
                Some(p) => p.tunnel(host, port).await?,
                None => TcpStream::connect(format!("{host}:{port}"))
                    .await
                    .map_err(|e| TransportError::Connection(e.to_string()))?,
            };
            let _ = tcp.set_nodelay(true);
            let stream = if target.scheme() == "wss" {
                MaybeTlsStream::Rustls(tls::handshake(host, tcp).await?)
            } else {
                MaybeTlsStream::Plain(tcp)
            };
            let (ws, _) = tokio_tungstenite::client_async(request, stream)
                .await
                .map_err(connection::handshake_error)?;
            Ok::<_, TransportError>(ws)
        };
        let ws = tokio::time::timeout(Duration::from_millis(timeout_ms), open)
            .await
            .map_err(|_| TransportError::Timeout)??;
        Ok(WsConnectResult {
            connection: Arc::new(connection::Connection::new(ws)),
        })
    }
}
