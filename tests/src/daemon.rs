//! A program the test bench runs beside the server (a TLS front, an office
//! proxy): its output appended to a log file, awaited until it listens,
//! stopped when dropped, and its log printed if the test failed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cluster::spawn_logged;

pub struct Daemon {
    child: Child,
    log: PathBuf,
    name: &'static str,
}

impl Daemon {
    /// Starts `cmd` (the program `name`, which scripts/setup installs),
    /// its output appended to `log`.
    pub fn spawn(cmd: &mut Command, log: PathBuf, name: &'static str) -> Result<Daemon> {
        let child = spawn_logged(cmd, &log)
            .with_context(|| format!("starting {name} (scripts/setup installs it)"))?;
        Ok(Daemon { child, log, name })
    }

    /// Waits until a TCP connect to `at` succeeds; an error if the program
    /// exits first or `within` passes.
    pub async fn wait_listening(&mut self, at: SocketAddr, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while tokio::net::TcpStream::connect(at).await.is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}): {}", self.name, self.log());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} is not listening after {within:?}: {}",
                    self.name,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Everything it has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- {} log ----\n{}", self.name, self.log());
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
