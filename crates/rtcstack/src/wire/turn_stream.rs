//! TURN over TCP and TLS for a WebRTC library whose TURN client speaks UDP
//! only. Each `turn:…?transport=tcp` or `turns:` server of the join is
//! handed to the library as a UDP address on loopback; what its client
//! sends there goes on a connection of its own to the real server (TCP, or
//! TLS verified as `wss://` is, through the proxy the environment names),
//! one connection per client socket, because an allocation made over TCP
//! lives exactly as long as its connection (RFC 8656 §3.1). The TURN
//! exchange itself (credentials, allocation, permissions, channels) stays
//! the library's; only the carriage changes. Messages are found on the
//! stream by [`super::turn_framing`].
//!
//! Why not a patch to the library: its relayer shares the host candidates'
//! UDP sockets and is built around datagrams; TCP and TLS would reach into
//! its socket layer, the driver and the candidate types, where this stays a
//! few hundred lines of ours that also brings the proxy and the OS trust
//! store, which libwebrtc's TURN honours too.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::turn_framing::{is_allocate, to_stream, Deframer};
use super::{proxy, tls};
use crate::RelayProtocol;

/// A connection to a TURN server that takes longer than this is a failure
/// (ICE has long given up on its candidate by then).
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);
/// Datagrams waiting for a connection to open, or for the stream to take
/// them; beyond this they are dropped, as a full UDP buffer would.
const QUEUE: usize = 256;
/// After a client socket's connection fails, its datagrams (the client's
/// retransmissions) are dropped this long rather than each opening another
/// connection (a TLS handshake apiece) to a server that just failed.
const COOLDOWN: Duration = Duration::from_secs(3);
/// Connections one TURN server's carrier keeps at most: the library opens
/// one per local address and connection (a handful).
const MAX_CARRIERS: usize = 16;

/// A TURN server as a URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TurnUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) protocol: RelayProtocol,
}

/// `turn:host[:port][?transport=udp|tcp]` and `turns:…`; `None` for STUN
/// and anything else.
pub(crate) fn parse(url: &str) -> Option<TurnUrl> {
    let (scheme, rest) = url.split_once(':')?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "turns" => true,
        "turn" => false,
        _ => return None,
    };
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let transport = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("transport="))
        .unwrap_or(if secure { "tcp" } else { "udp" });
    let protocol = match (secure, transport.to_ascii_lowercase().as_str()) {
        (false, "udp") => RelayProtocol::Udp,
        (false, "tcp") => RelayProtocol::Tcp,
        (true, "tcp") => RelayProtocol::Tls,
        // TURN over DTLS: neither the library nor we speak it.
        _ => return None,
    };
    let (host, port) = match address.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        // An IPv6 address must be in brackets: "fd00::1" is not a host
        // "fd00:" on port 1.
        None if address.matches(':').count() > 1 => return None,
        None => match address.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (address, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if secure => 5349,
        None => 3478,
    };
    if host.is_empty() {
        return None;
    }
    Some(TurnUrl {
        host: host.to_string(),
        port,
        protocol,
    })
}

/// The session's TURN carriers: the ICE servers to give the library (ours
/// on loopback in place of TCP and TLS ones), and the tasks that carry them,
/// ended when this is dropped.
pub(crate) struct TurnStreams {
    ice_servers: Vec<proto::IceServer>,
    /// Our loopback port → how it reaches its server.
    carried: HashMap<u16, RelayProtocol>,
    /// The last connection to a TURN server that failed, in words.
    failure: Arc<Mutex<Option<String>>>,
    _tasks: JoinSet<()>,
}

impl TurnStreams {
    /// Carriers for the TCP and TLS servers among `servers`; the rest go to
    /// the library as they are. A carrier that cannot be set up is left
    /// out (and said in the log): the others may still do.
    pub(crate) async fn open(servers: &[proto::IceServer]) -> TurnStreams {
        let failure = Arc::new(Mutex::new(None));
        let mut tasks = JoinSet::new();
        let mut carried = HashMap::new();
        let mut ice_servers = Vec::new();
        for server in servers {
            let mut direct = Vec::new();
            for url in &server.urls {
                let Some(turn) = parse(url).filter(|t| t.protocol != RelayProtocol::Udp) else {
                    direct.push(url.clone());
                    continue;
                };
                let socket = match UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("no loopback socket for TURN at {url}: {e}");
                        continue;
                    }
                };
                let Ok(local) = socket.local_addr() else {
                    continue;
                };
                tracing::debug!(
                    "TURN over {} to {}:{} carried from {local}",
                    turn.protocol,
                    turn.host,
                    turn.port
                );
                carried.insert(local.port(), turn.protocol);
                ice_servers.push(proto::IceServer {
                    urls: vec![format!("turn:{local}?transport=udp")],
                    username: server.username.clone(),
                    credential: server.credential.clone(),
                });
                tasks.spawn(serve(Arc::new(socket), turn, failure.clone()));
            }
            if !direct.is_empty() {
                ice_servers.push(proto::IceServer {
                    urls: direct,
                    ..server.clone()
                });
            }
        }
        TurnStreams {
            ice_servers,
            carried,
            failure,
            _tasks: tasks,
        }
    }

    /// What the library is to use.
    pub(crate) fn ice_servers(&self) -> &[proto::IceServer] {
        &self.ice_servers
    }

    /// How a relay candidate gathered from `url` (as the library names its
    /// server) reaches that server.
    pub(crate) fn protocol_of(&self, url: &str) -> RelayProtocol {
        parse(url)
            .filter(|t| t.host == Ipv4Addr::LOCALHOST.to_string())
            .and_then(|t| self.carried.get(&t.port).copied())
            .unwrap_or(RelayProtocol::Udp)
    }

    /// Why the last connection to a TURN server failed, if one did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure.lock().ok()?.clone()
    }
}

/// Takes the library's datagrams on `socket`, each client socket's to a
/// connection of its own.
async fn serve(socket: Arc<UdpSocket>, turn: TurnUrl, failure: Arc<Mutex<Option<String>>>) {
    let mut carriers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut failed: HashMap<SocketAddr, Instant> = HashMap::new();
    // Ended with this task: the connections die with the session.
    let mut running = JoinSet::new();
    let mut clients: HashMap<tokio::task::Id, SocketAddr> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors from earlier sends surface here; go on.
                tracing::debug!("TURN loopback socket: {e}");
                continue;
            }
        };
        let Some(framed) = to_stream(&buf[..n]) else {
            continue;
        };
        // Reap finished carriers: their clients' allocations are gone with
        // their connections; a failure (or a panic) starts the cooldown.
        while let Some(done) = running.try_join_next_with_id() {
            let (id, failed_at) = match done {
                Ok((id, failed_at)) => (id, failed_at),
                Err(e) => (e.id(), Some(Instant::now())),
            };
            if let Some(client) = clients.remove(&id) {
                carriers.remove(&client);
                if let Some(at) = failed_at {
                    failed.insert(client, at);
                }
            }
        }
        failed.retain(|_, at| at.elapsed() < COOLDOWN);
        if let Some(tx) = carriers.get(&from) {
            let _ = tx.try_send(framed);
            continue;
        }
        // Only an Allocate begins a connection: anything else from a
        // client without one (a refresh for an allocation that died with
        // its connection) would only be refused by the server. So many
        // clients at once is not the library's (the socket takes any
        // local sender).
        if !is_allocate(&framed) || failed.contains_key(&from) || carriers.len() >= MAX_CARRIERS {
            continue;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let _ = tx.try_send(framed);
        let task = running.spawn(carry(
            socket.clone(),
            from,
            turn.clone(),
            rx,
            failure.clone(),
        ));
        clients.insert(task.id(), from);
        carriers.insert(from, tx);
    }
}

/// What our wire's failure says, without the error type's own preamble.
fn words(e: livekit_net::TransportError) -> String {
    match e {
        livekit_net::TransportError::Connection(s) | livekit_net::TransportError::Other(s) => s,
        other => other.to_string(),
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to the TURN server: through the proxy if one is named for
/// `https`, then TLS for `turns:`.
async fn connect(turn: &TurnUrl) -> Result<Box<dyn Stream>, String> {
    let host = turn.host.as_str();
    let bracketed = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let target = url::Url::parse(&format!("wss://{bracketed}:{}", turn.port))
        .map_err(|e| format!("{host} is not a server name: {e}"))?;
    let open = async {
        let tcp = match proxy::for_target(&target).await.map_err(words)? {
            Some(p) => p.tunnel(&bracketed, turn.port).await.map_err(words)?,
            None => TcpStream::connect((host, turn.port))
                .await
                .map_err(|e| e.to_string())?,
        };
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match turn.protocol {
            RelayProtocol::Tls => Box::new(tls::handshake(&bracketed, tcp).await.map_err(words)?),
            _ => Box::new(tcp),
        };
        Ok(stream)
    };
    tokio::time::timeout(CONNECT_DEADLINE, open)
        .await
        .map_err(|_| format!("no connection within {CONNECT_DEADLINE:?}"))?
}

/// One client socket's connection: its datagrams onto the stream, the
/// stream's messages back to it. Ends when either side does; answers when
/// it failed, if it did.
async fn carry(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    turn: TurnUrl,
    mut datagrams: mpsc::Receiver<Vec<u8>>,
    failure: Arc<Mutex<Option<String>>>,
) -> Option<Instant> {
    let fail = |why: String| {
        let words = format!(
            "TURN over {} at {}:{}: {why}",
            turn.protocol, turn.host, turn.port
        );
        tracing::warn!("{words}");
        if let Ok(mut f) = failure.lock() {
            *f = Some(words);
        }
        Some(Instant::now())
    };
    let stream = match connect(&turn).await {
        Ok(s) => s,
        Err(why) => return fail(why),
    };
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut deframer = Deframer::default();
    let mut buf = vec![0u8; 16_384];
    loop {
        tokio::select! {
            d = datagrams.recv() => {
                // The session is over: an end, not a failure.
                let d = d?;
                if let Err(e) = writer.write_all(&d).await {
                    return fail(format!("the connection broke: {e}"));
                }
            }
            n = reader.read(&mut buf) => {
                let n = match n {
                    Ok(0) => return fail("the server closed the connection".into()),
                    Ok(n) => n,
                    Err(e) => return fail(format!("the connection broke: {e}")),
                };
                deframer.push(&buf[..n]);
                loop {
                    match deframer.next() {
                        Ok(Some(m)) => {
                            let _ = socket.send_to(&m, client).await;
                        }
                        Ok(None) => break,
                        Err(e) => return fail(e.to_string()),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(host: &str, port: u16, protocol: RelayProtocol) -> Option<TurnUrl> {
        Some(TurnUrl {
            host: host.into(),
            port,
            protocol,
        })
    }

    #[test]
    fn turn_urls_as_livekit_and_others_write_them() {
        use RelayProtocol::*;
        assert_eq!(
            parse("turns:turn.example.com:443?transport=tcp"),
            turn("turn.example.com", 443, Tls)
        );
        assert_eq!(
            parse("turn:10.0.0.1:3478?transport=udp"),
            turn("10.0.0.1", 3478, Udp)
        );
        assert_eq!(
            parse("turn:10.0.0.1:3478?transport=tcp"),
            turn("10.0.0.1", 3478, Tcp)
        );
        assert_eq!(parse("turn:example.com"), turn("example.com", 3478, Udp));
        assert_eq!(parse("turns:example.com"), turn("example.com", 5349, Tls));
        assert_eq!(
            parse("turns:[fd00::1]:5349?transport=tcp"),
            turn("fd00::1", 5349, Tls)
        );
        assert_eq!(parse("stun:example.com:3478"), None);
        assert_eq!(parse("turns:example.com?transport=udp"), None, "DTLS");
        assert_eq!(parse("turn::3478"), None);
        assert_eq!(parse("turn:example.com:port"), None);
        assert_eq!(
            parse("turn:fd00::1"),
            None,
            "an IPv6 address without brackets"
        );
        assert_eq!(
            parse("TURNS:Example.com:443?transport=tcp"),
            turn("Example.com", 443, Tls)
        );
    }

    #[tokio::test]
    async fn tcp_and_tls_servers_are_carried_and_the_rest_left_alone() {
        let servers = vec![proto::IceServer {
            urls: vec![
                "turn:192.0.2.1:3478?transport=udp".into(),
                "turns:192.0.2.1:443?transport=tcp".into(),
                "stun:192.0.2.1:3478".into(),
            ],
            username: "u".into(),
            credential: "c".into(),
        }];
        let streams = TurnStreams::open(&servers).await;
        let given = streams.ice_servers();
        assert_eq!(given.len(), 2, "{given:?}");
        let carried = &given[0];
        assert_eq!(
            (carried.username.as_str(), carried.credential.as_str()),
            ("u", "c")
        );
        let local = &carried.urls[0];
        assert!(local.starts_with("turn:127.0.0.1:"), "{local}");
        assert_eq!(streams.protocol_of(local), RelayProtocol::Tls);
        assert_eq!(
            given[1].urls,
            vec!["turn:192.0.2.1:3478?transport=udp", "stun:192.0.2.1:3478"]
        );
        assert_eq!(
            streams.protocol_of("turn:192.0.2.1:3478?transport=udp"),
            RelayProtocol::Udp
        );
    }
}
