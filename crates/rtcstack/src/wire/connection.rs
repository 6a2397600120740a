//! One open signal websocket: binary frames in and out; pings answered,
//! an abrupt close taken as a close.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use livekit_net::{TransportError, WsConnection};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(super) struct Connection {
    writer: Mutex<SplitSink<Socket, Message>>,
    reader: Mutex<SplitStream<Socket>>,
}

impl Connection {
    pub(super) fn new(ws: Socket) -> Self {
        let (writer, reader) = ws.split();
        Connection {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        }
    }
}

/// A refused upgrade keeps its HTTP status (the server's answer, e.g. 404
/// for an old server's path); anything else is the connection's failure.
pub(super) fn handshake_error(e: WsError) -> TransportError {
    match e {
        WsError::Http(response) => TransportError::Http {
            status: response.status().as_u16(),
        },
        other => TransportError::Connection(other.to_string()),
    }
}

#[async_trait::async_trait]
impl WsConnection for Connection {
    async fn send(&self, frame: Vec<u8>) -> Result<(), TransportError> {
        self.writer
            .lock()
            .await
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| TransportError::Connection(e.to_string()))
    }

    async fn recv(&self) -> Result<Option<Vec<u8>>, TransportError> {
        let mut reader = self.reader.lock().await;
        loop {
            match reader.next().await {
                Some(Ok(Message::Binary(data))) => return Ok(Some(data.to_vec())),
                Some(Ok(Message::Ping(payload))) => {
                    let _ = self.writer.lock().await.send(Message::Pong(payload)).await;
                }
                // LiveKit's signalling is binary; nothing else carries news.
                Some(Ok(Message::Pong(_) | Message::Frame(_) | Message::Text(_))) => {}
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                // A server (or balancer) that drops the connection without
                // the closing handshake, or TLS without close_notify: closed.
                Some(Err(
                    WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                    | WsError::ConnectionClosed
                    | WsError::AlreadyClosed,
                )) => return Ok(None),
                Some(Err(WsError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(None)
                }
                Some(Err(e)) => return Err(TransportError::Connection(e.to_string())),
            }
        }
    }

    async fn close(&self) {
        let _ = self.writer.lock().await.close().await;
    }
}
