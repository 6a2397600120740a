//! An HTTP CONNECT proxy as offices run them (Debian's tinyproxy), in the
//! server's namespace: it opens tunnels to the ports it is told to allow
//! and refuses the rest with its own 403, as a company proxy refuses a
//! destination its policy does not list.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;

use crate::daemon::Daemon;
use crate::netns::NetHost;

pub struct HttpProxy {
    // Dropped before `_dir`, whose log it prints on a failure.
    daemon: Daemon,
    url: String,
    _dir: tempfile::TempDir,
}

impl HttpProxy {
    /// A proxy at `port` in `net` that tunnels only to `allowed` ports.
    pub async fn start(net: &NetHost, port: u16, allowed: &[u16]) -> Result<HttpProxy> {
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-proxy-")
            .tempdir()?;
        let ip = net.host_ip();
        let connect_ports: String = allowed
            .iter()
            .map(|p| format!("ConnectPort {p}\n"))
            .collect();
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "User nobody\nGroup nogroup\nListen {ip}\nPort {port}\nTimeout 600\n\
                 MaxClients 50\nLogLevel Info\n{connect_ports}"
            ),
        )?;
        let mut daemon = Daemon::spawn(
            net.command("tinyproxy").arg("-d").arg("-c").arg(&config),
            dir.path().join("tinyproxy.log"),
            "tinyproxy",
        )?;
        daemon
            .wait_listening(SocketAddr::new(ip.into(), port), Duration::from_secs(10))
            .await?;
        Ok(HttpProxy {
            daemon,
            url: format!("http://{ip}:{port}"),
            _dir: dir,
        })
    }

    /// `http://address:port`, as `HTTP_PROXY` / `HTTPS_PROXY` name it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What it has logged so far (each tunnel it opened, each refusal).
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}
