//! An HTTP CONNECT proxy as offices run them (Debian's tinyproxy), in the
//! server's namespace: it opens tunnels to the ports it is told to allow
//! and refuses the rest with its own 403, as a company proxy refuses a
//! destination its policy does not list.

use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cluster::spawn_logged;
use crate::netns::NetHost;

pub struct HttpProxy {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
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
        let child = spawn_logged(
            net.command("tinyproxy").arg("-d").arg("-c").arg(&config),
            &dir.path().join("tinyproxy.log"),
        )
        .context("starting tinyproxy (scripts/setup installs it)")?;
        let mut proxy = HttpProxy {
            child,
            url: format!("http://{ip}:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect((ip, port)).await.is_err() {
            if let Some(status) = proxy.child.try_wait()? {
                bail!("tinyproxy exited ({status}): {}", proxy.log());
            }
            if Instant::now() > deadline {
                bail!("tinyproxy is not listening after 10 s: {}", proxy.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(proxy)
    }

    /// `http://address:port`, as `HTTP_PROXY` / `HTTPS_PROXY` name it.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- proxy (tinyproxy) log ----\n{}", self.log());
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
