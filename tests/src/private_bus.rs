//! A private `dbus-daemon` for one test: the app is pointed at it instead of
//! the machine's buses. It starts no services by itself (no service files),
//! so only what the test puts on it is there, and anyone may own and call
//! anything: the only clients are the test and the app under test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

/// Which kind of bus it plays.
#[derive(Debug, Clone, Copy)]
pub enum BusKind {
    /// For `DBUS_SESSION_BUS_ADDRESS`.
    Session,
    /// For `DBUS_SYSTEM_BUS_ADDRESS`.
    System,
}

pub struct PrivateBus {
    daemon: Child,
    address: String,
}

impl PrivateBus {
    /// Starts one with its socket and configuration in `dir`. Blocks until
    /// it listens (it prints its address then).
    pub fn start(dir: &Path, kind: BusKind) -> Result<Self> {
        let socket = dir.join("bus_socket");
        let config = dir.join("bus.conf");
        let kind_word = match kind {
            BusKind::Session => "session",
            BusKind::System => "system",
        };
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{kind_word}</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )?;
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting dbus-daemon (apt dbus-daemon; scripts/setup)")?;
        let stdout = daemon.stdout.take().context("dbus-daemon stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            bail!("dbus-daemon printed no address");
        }
        Ok(PrivateBus { daemon, address })
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
