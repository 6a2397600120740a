//! A LiveKit cluster shaped as a self-hosted deployment: livekit-server nodes
//! sharing one Redis (rooms, routes, node stats), with a load balancer in
//! front (haproxy in TCP mode with health checks) whose address is the URL
//! clients use. Everything lives in one network namespace, so the client
//! under test reaches it over the veth like a single server.
//!
//! ```text
//!   root ns (client)  ==veth==>  haproxy :7870 ─┬─ node 0 :7880 (tcp 7881, udp 7882)
//!                                               ├─ node 1 :7890 (tcp 7891, udp 7892)
//!                                   redis :6379 ┘
//! ```
//!
//! Needs root, Debian's `redis-server` and `haproxy`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::netns::NetHost;
use crate::peer::{PeerOptions, PythonPeer};
use crate::room_service::RoomService;
use crate::server::{new_keys, LiveKitServer, Ports};
use crate::tokens::TokenSpec;

const BALANCER_PORT: u16 = 7870;
const REDIS_PORT: u16 = 6379;
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// Node `i`'s ports: 7880, 7890, … and the two after each.
fn node_ports(i: usize) -> Ports {
    let base = 7880 + 10 * i as u16;
    Ports {
        http: base,
        tcp: base + 1,
        udp: base + 2,
    }
}

fn node_name(i: usize) -> String {
    format!("node{i}")
}

pub struct Cluster {
    /// The nodes by index; `None` for one not (yet, or any longer) started.
    nodes: Vec<Option<LiveKitServer>>,
    keys: (String, String),
    redis: Child,
    balancer: Child,
    dir: tempfile::TempDir,
    net: Arc<NetHost>,
}

impl Cluster {
    /// Redis and a balancer that knows `size` nodes, with the first
    /// `running` of them started.
    pub async fn start(size: usize, running: usize) -> Result<Cluster> {
        let net = Arc::new(NetHost::new()?);
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-cluster-")
            .tempdir()?;
        let ip = net.host_ip();
        let redis = spawn_logged(
            net.command("redis-server")
                .args(["--bind", &ip.to_string(), "--port", &REDIS_PORT.to_string()])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]),
            &dir.path().join("redis.log"),
        )
        .context("starting redis-server (scripts/setup installs it)")?;
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(
            &config,
            balancer_config(&net, size, &dir.path().join("haproxy.sock")),
        )?;
        let balancer = match spawn_logged(
            net.command("haproxy").arg("-db").arg("-f").arg(&config),
            &dir.path().join("haproxy.log"),
        ) {
            Ok(b) => b,
            Err(e) => {
                let mut redis = redis;
                redis.kill().ok();
                redis.wait().ok();
                return Err(e.context("starting haproxy (scripts/setup installs it)"));
            }
        };
        let mut cluster = Cluster {
            nodes: (0..size).map(|_| None).collect(),
            keys: new_keys(),
            redis,
            balancer,
            dir,
            net,
        };
        cluster.wait_redis().await?;
        for i in 0..running {
            cluster.start_node(i).await?;
        }
        Ok(cluster)
    }

    /// Starts node `i` (again, after a kill) and waits until the balancer
    /// sends to it.
    pub async fn start_node(&mut self, i: usize) -> Result<()> {
        if self.nodes[i].as_mut().is_some_and(|n| n.is_running()) {
            bail!("{} is already running", node_name(i));
        }
        let redis = SocketAddr::new(self.net.host_ip().into(), REDIS_PORT);
        let node = LiveKitServer::start_node(
            self.net.clone(),
            node_ports(i),
            (&self.keys.0, &self.keys.1),
            redis,
        )
        .await?;
        self.nodes[i] = Some(node);
        self.wait_balancer(i, true, READY_DEADLINE).await
    }

    /// Node `i`, started.
    pub fn node(&mut self, i: usize) -> &mut LiveKitServer {
        self.nodes[i]
            .as_mut()
            .unwrap_or_else(|| panic!("{} was never started", node_name(i)))
    }

    /// The address clients use: the balancer's.
    pub fn url(&self) -> String {
        format!("ws://{}:{BALANCER_PORT}", self.net.host_ip())
    }

    pub fn http_url(&self) -> String {
        format!("http://{}:{BALANCER_PORT}", self.net.host_ip())
    }

    pub fn token(&self, spec: &TokenSpec) -> Result<String> {
        spec.mint(&self.keys.0, &self.keys.1)
    }

    /// RoomService through the balancer: any node answers for the cluster.
    pub fn room_service(&self) -> RoomService {
        RoomService::new(&self.http_url(), &self.keys.0, &self.keys.1)
    }

    pub fn net(&self) -> &NetHost {
        &self.net
    }

    /// A Python peer beside the cluster, joining through the balancer.
    pub async fn spawn_peer(&self, opts: PeerOptions) -> Result<PythonPeer> {
        let token = self.token(&TokenSpec::join(&opts.room, &opts.identity))?;
        PythonPeer::spawn(Some(&self.net), &self.url(), &token, &opts).await
    }

    /// Waits until the balancer's health checks mark node `i` up (or down).
    pub async fn wait_balancer(&mut self, i: usize, up: bool, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let want = if up { "UP" } else { "DOWN" };
        let socket = self.dir.path().join("haproxy.sock");
        loop {
            if let Some(status) = self.balancer.try_wait()? {
                bail!(
                    "haproxy exited ({status}): {}",
                    self.log_tail("haproxy.log")
                );
            }
            let socket = socket.clone();
            // The socket is read with a blocking timeout: off the async threads.
            let status = tokio::task::spawn_blocking(move || balancer_status(&socket, i)).await?;
            match &status {
                Ok(s) if s == want => return Ok(()),
                _ if Instant::now() > deadline => bail!(
                    "the balancer did not mark {} {want} within {within:?}: {status:?}; log: {}",
                    node_name(i),
                    self.log_tail("haproxy.log")
                ),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Answers PING once Redis is up.
    async fn wait_redis(&mut self) -> Result<()> {
        let addr = SocketAddr::new(self.net.host_ip().into(), REDIS_PORT);
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
                let mut buf = [0u8; 7];
                if s.write_all(b"PING\r\n").await.is_ok()
                    && s.read_exact(&mut buf).await.is_ok()
                    && &buf == b"+PONG\r\n"
                {
                    return Ok(());
                }
            }
            if let Some(status) = self.redis.try_wait()? {
                bail!(
                    "redis-server exited ({status}): {}",
                    self.log_tail("redis.log")
                );
            }
            if Instant::now() > deadline {
                bail!("redis-server not answering after {READY_DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self, name: &str) -> String {
        crate::tail::file_tail(&self.dir.path().join(name), 40)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- haproxy log ----\n{}\n---- redis log ----\n{}\n---- end ----",
                self.log_tail("haproxy.log"),
                self.log_tail("redis.log")
            );
        }
        // The nodes first (each prints its log on a panic), then what they use.
        self.nodes.clear();
        for child in [&mut self.balancer, &mut self.redis] {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// Node `i`'s status in haproxy ("UP", "DOWN", "UP 1/2", …), from its stats
/// socket.
fn balancer_status(socket: &std::path::Path, i: usize) -> Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"show stat\n")?;
    let mut lines = BufReader::new(s).lines();
    let header = lines.next().context("empty stats")??;
    let columns: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| columns.iter().position(|c| *c == name);
    let (px, sv, st) = (
        col("pxname").context("no pxname")?,
        col("svname").context("no svname")?,
        col("status").context("no status")?,
    );
    let name = node_name(i);
    for line in lines {
        let line = line?;
        let f: Vec<&str> = line.split(',').collect();
        if f.get(px) == Some(&"nodes") && f.get(sv) == Some(&name.as_str()) {
            return Ok(f.get(st).unwrap_or(&"").to_string());
        }
    }
    bail!("{name} is not in haproxy's stats")
}

/// haproxy as a self-hosted LiveKit puts it in front of its nodes: TCP mode
/// (the websocket passes through), an HTTP health check on the server's
/// `/` (which fails once the node's stats go stale), long timeouts for
/// calls, and a failed connect tried again on another node.
fn balancer_config(net: &NetHost, size: usize, socket: &std::path::Path) -> String {
    let ip = net.host_ip();
    let servers: String = (0..size)
        .map(|i| {
            format!(
                "  server {} {ip}:{} check inter 500ms fall 2 rise 1\n",
                node_name(i),
                node_ports(i).http
            )
        })
        .collect();
    format!(
        "global\n  stats socket {socket} mode 600 level admin\n  maxconn 2000\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1h\n  timeout server 1h\n\
         \x20 timeout check 1s\n  retries 2\n  option redispatch\n\
         frontend signal\n  bind {ip}:{BALANCER_PORT}\n  default_backend nodes\n\
         backend nodes\n  balance roundrobin\n  option httpchk GET /\n{servers}",
        socket = socket.display()
    )
}

/// Spawns `cmd` with stdout and stderr appended to `log`.
pub(crate) fn spawn_logged(cmd: &mut std::process::Command, log: &PathBuf) -> Result<Child> {
    let file = File::options().create(true).append(true).open(log)?;
    Ok(cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()?)
}

impl crate::client::Serves for Cluster {
    fn url(&self) -> String {
        Cluster::url(self)
    }
    fn token(&self, spec: &TokenSpec) -> Result<String> {
        Cluster::token(self, spec)
    }
}
