//! A real `livekit-server` per test.
//!
//! Two placements: in a network namespace of its own ([`NetHost`], the usual
//! one for tests, so the path to it can be cut), or on loopback with free
//! ports (the demo, and machines without root). Either way the config makes
//! no outbound lookups: explicit node IP, no external-IP discovery, a dead
//! local STUN address, ICE candidates restricted to the one test address.
//! The server's log is kept in a file and printed if the test panics.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::distr::{Alphanumeric, SampleString};

use crate::netns::NetHost;
use crate::paths;
use crate::peer::{PeerOptions, PythonPeer};
use crate::room_service::RoomService;
use crate::tokens::TokenSpec;

const READY_DEADLINE: Duration = Duration::from_secs(30);

/// A server's ports: signal and API (HTTP), ICE-TCP, and the one UDP port
/// all media shares.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub http: u16,
    pub tcp: u16,
    pub udp: u16,
}

/// A running (or deliberately stopped) livekit-server.
pub struct LiveKitServer {
    /// Shared by the nodes of a cluster, which live in one namespace.
    net: Option<Arc<NetHost>>,
    ip: IpAddr,
    ports: Ports,
    api_key: String,
    api_secret: String,
    /// A cluster node's Redis, where the nodes share rooms and routes.
    redis: Option<SocketAddr>,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
    /// Its TURN server is on (certificate and key in `dir`).
    turn: bool,
}

/// Parts of the server logged at debug, for failure output: a publisher's
/// buffers (the frame rates it measures per temporal layer) and a
/// subscriber's forwarding (the settings applied, the layers chosen).
/// Logged on events, not per packet: about 190 lines in a 20 s video test.
const DEBUG_COMPONENTS: [&str; 2] = ["pub.pub.sfu", "sub"];

/// The TURN server's TLS port: 443, the one port every network lets out.
pub const TURN_TLS_PORT: u16 = 443;
/// The TURN server's UDP port (LiveKit's default).
pub const TURN_UDP_PORT: u16 = 3478;

impl LiveKitServer {
    /// Starts a server in a fresh network namespace (needs root).
    pub async fn start() -> Result<Self> {
        Self::start_in_namespace(|net| net.host_ip().into(), false).await
    }

    /// Starts a server in a fresh namespace with its TURN server on, as a
    /// production deployment has it: TURN over UDP on 3478 and over TLS on
    /// 443 ([`TURN_TLS_PORT`]), with a certificate for the server's address
    /// from a private authority ([`turn_ca_file`](Self::turn_ca_file)).
    /// It relays to its own (private) address only: LiveKit refuses to
    /// relay to private addresses unless told.
    pub async fn start_with_turn() -> Result<Self> {
        Self::start_in_namespace(|net| net.host_ip().into(), true).await
    }

    /// Starts a server in a fresh namespace that listens, and offers media,
    /// on its IPv6 address only.
    pub async fn start_ipv6_only() -> Result<Self> {
        Self::start_in_namespace(|net| net.host_ip6().into(), false).await
    }

    /// A server in a fresh namespace on the address `ip_of` picks there.
    async fn start_in_namespace(ip_of: impl Fn(&NetHost) -> IpAddr, turn: bool) -> Result<Self> {
        let net = NetHost::new()?;
        let ip = ip_of(&net);
        // Ports are private to the namespace, so the defaults never clash.
        let ports = Ports {
            http: 7880,
            tcp: 7881,
            udp: 7882,
        };
        Self::launch(Some(Arc::new(net)), ip, ports, None, None, turn).await
    }

    /// Starts one node of a cluster in `net`, on `ports`, with the cluster's
    /// keys and its Redis.
    pub async fn start_node(
        net: Arc<NetHost>,
        ports: Ports,
        keys: (&str, &str),
        redis: SocketAddr,
    ) -> Result<Self> {
        let ip = net.host_ip();
        Self::launch(Some(net), ip.into(), ports, Some(keys), Some(redis), false).await
    }

    /// Starts a server on 127.0.0.1 with free ports (no root needed).
    pub async fn start_loopback() -> Result<Self> {
        let ports = Ports {
            http: free_tcp_port()?,
            tcp: free_tcp_port()?,
            udp: free_udp_port()?,
        };
        Self::launch(None, Ipv4Addr::LOCALHOST.into(), ports, None, None, false).await
    }

    async fn launch(
        net: Option<Arc<NetHost>>,
        ip: IpAddr,
        ports: Ports,
        keys: Option<(&str, &str)>,
        redis: Option<SocketAddr>,
        turn: bool,
    ) -> Result<Self> {
        paths::check_installed()?;
        let (api_key, api_secret) = match keys {
            Some((k, s)) => (k.to_string(), s.to_string()),
            None => new_keys(),
        };
        let mut server = LiveKitServer {
            net,
            ip,
            ports,
            api_key,
            api_secret,
            redis,
            dir: tempfile::Builder::new().prefix("rtcstack-lk-").tempdir()?,
            child: None,
            starts: 0,
            turn,
        };
        if turn {
            crate::tls_front::private_pki(server.dir.path(), &ip.to_string())?;
        }
        std::fs::write(server.config_path(), server.config_yaml())?;
        server.spawn_and_wait().await?;
        Ok(server)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("livekit.yaml")
    }

    /// The server's log (all starts, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("livekit.log")
    }

    fn config_yaml(&self) -> String {
        let loopback = self.net.is_none();
        format!(
            "port: {http}\n\
             bind_addresses: [\"{ip}\"]\n\
             keys:\n  {key}: {secret}\n\
             logging:\n  level: info\n  component_levels:\n{debug}  pion_level: warn\n\
             rtc:\n\
             \x20 tcp_port: {tcp}\n\
             \x20 udp_port: {udp}\n\
             \x20 node_ip: {ip}\n\
             \x20 use_external_ip: false\n\
             \x20 stun_servers: [\"127.0.0.1:9\"]\n\
             \x20 enable_loopback_candidate: {loopback}\n\
             \x20 ips:\n    includes: [\"{ip}/{prefix}\"]\n\
             room:\n  auto_create: true\n  empty_timeout: 30\n  departure_timeout: 10\n\
             {redis}{turn}",
            debug = DEBUG_COMPONENTS
                .iter()
                .map(|c| format!("    {c}: debug\n"))
                .collect::<String>(),
            turn = if self.turn {
                format!(
                    "turn:\n  enabled: true\n  domain: \"{ip}\"\n  tls_port: {TURN_TLS_PORT}\n  \
                     udp_port: {TURN_UDP_PORT}\n  cert_file: \"{crt}\"\n  key_file: \"{key}\"\n  \
                     allow_restricted_peer_cidrs: [\"{ip}/{prefix}\"]\n",
                    prefix = if self.ip.is_ipv6() { 128 } else { 32 },
                    ip = self.ip,
                    crt = self.dir.path().join("server.crt").display(),
                    key = self.dir.path().join("server.key").display(),
                )
            } else {
                String::new()
            },
            redis = self
                .redis
                .map(|a| format!("redis:\n  address: \"{a}\"\n"))
                .unwrap_or_default(),
            http = self.ports.http,
            tcp = self.ports.tcp,
            udp = self.ports.udp,
            ip = self.ip,
            prefix = if self.ip.is_ipv6() { 128 } else { 32 },
            key = self.api_key,
            secret = self.api_secret,
        )
    }

    async fn spawn_and_wait(&mut self) -> Result<()> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut cmd = match &self.net {
            Some(net) => net.command(paths::livekit_server()),
            None => Command::new(paths::livekit_server()),
        };
        cmd.arg("--config")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn().context("starting livekit-server")?;
        self.child = Some(child);
        self.starts += 1;
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .no_proxy()
            .build()?;
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "livekit-server exited during start-up ({status}); log:\n{}",
                        self.log_tail(60)
                    );
                }
            }
            if let Ok(resp) = client.get(self.http_url()).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "livekit-server not ready after {READY_DEADLINE:?}; log:\n{}",
                    self.log_tail(60)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The signalling URL for a client in the root namespace (the client
    /// under test), across the veth when the server has a namespace.
    pub fn url(&self) -> String {
        format!("ws://{}", SocketAddr::new(self.ip, self.ports.http))
    }

    /// The HTTP base for readiness and the Twirp RoomService.
    pub fn http_url(&self) -> String {
        format!("http://{}", SocketAddr::new(self.ip, self.ports.http))
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The server's ICE-TCP candidate, `address:port`.
    pub fn ice_tcp_address(&self) -> String {
        SocketAddr::new(self.ip, self.ports.tcp).to_string()
    }

    /// The private authority that signed the TURN server's certificate.
    pub fn turn_ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn http_port(&self) -> u16 {
        self.ports.http
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn api_secret(&self) -> &str {
        &self.api_secret
    }

    /// The namespace the server lives in, if any: cut and degrade it here.
    pub fn net(&self) -> Option<&NetHost> {
        self.net.as_deref()
    }

    /// Like [`net`](Self::net), but an error when the server has none.
    pub fn link(&self) -> Result<&NetHost> {
        self.net
            .as_deref()
            .context("this server runs on loopback: start it with LiveKitServer::start() to cut or degrade its link")
    }

    /// A token for this server, signed with its keys.
    pub fn token(&self, spec: &TokenSpec) -> Result<String> {
        spec.mint(&self.api_key, &self.api_secret)
    }

    pub fn room_service(&self) -> RoomService {
        RoomService::new(&self.http_url(), &self.api_key, &self.api_secret)
    }

    /// A Python peer on the server's side of the link: it keeps talking while
    /// the client under test is cut off.
    pub async fn spawn_peer(&self, opts: PeerOptions) -> Result<PythonPeer> {
        let token = self.token(&TokenSpec::join(&opts.room, &opts.identity))?;
        PythonPeer::spawn(self.net(), &self.url(), &token, &opts).await
    }

    /// A Python peer in the root namespace, as the client under test.
    pub async fn spawn_client_peer(&self, opts: PeerOptions) -> Result<PythonPeer> {
        let token = self.token(&TokenSpec::join(&opts.room, &opts.identity))?;
        PythonPeer::spawn(None, &self.url(), &token, &opts).await
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGTERM without waiting: a cluster node drains (it takes no new
    /// rooms and waits for its participants to leave before it exits).
    pub fn terminate(&self) -> Result<()> {
        let pid = self.pid().context("the server is not running")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )?;
        Ok(())
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL: the server vanishes without a goodbye, as in a crash.
    pub fn hard_kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM and wait: the server shuts down and tells its clients.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).ok();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    child.kill().ok();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the server again on the same address, ports and keys (after
    /// [`stop`](Self::stop) or [`hard_kill`](Self::hard_kill)).
    pub async fn start_again(&mut self) -> Result<()> {
        if self.is_running() {
            bail!("start_again: the server is still running");
        }
        self.spawn_and_wait().await
    }

    /// Graceful stop, then start on the same address, ports and keys.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.start_again().await
    }

    /// How many times this server has been started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The lines of the server's log that contain any of `needles`, each
    /// cut to a readable length.
    pub fn log_lines(&self, needles: &[&str]) -> String {
        crate::tail::file_lines(&self.log_path(), |l| needles.iter().any(|n| l.contains(n)))
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::tail::file_tail(&self.log_path(), lines)
    }
}

impl Drop for LiveKitServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- livekit-server log (last 120 lines) ----\n{}\n---- end of log ----",
                self.log_tail(120)
            );
        }
        let _ = self.hard_kill();
        // `net` drops after this, deleting the namespace.
    }
}

/// A fresh API key and secret.
pub fn new_keys() -> (String, String) {
    (
        format!("key{}", Alphanumeric.sample_string(&mut rand::rng(), 8)),
        Alphanumeric.sample_string(&mut rand::rng(), 48),
    )
}

fn free_tcp_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
