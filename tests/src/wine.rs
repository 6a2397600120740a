//! Windows programs of ours run under Wine (Debian's `wine64`) on the
//! test's X display, in a Wine prefix of their own that goes with it.
//! scripts/test builds them and gathers the DLLs they need that Wine does
//! not have (MinGW's runtime; `ProcessPrng`, tests/wine/process_prng.c)
//! in one directory, `$RTCSTACK_WINE_DLLS`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

use crate::lines::Lines;

/// Where Debian's wine64 puts its loader (the `wine` package adds only a
/// wrapper on the PATH).
const LOADERS: [&str; 2] = ["/usr/lib/wine/wine64", "/usr/bin/wine64"];
/// A new prefix takes seconds to set up on two busy cores.
const BOOT: Duration = Duration::from_secs(120);

pub struct Wine {
    loader: PathBuf,
    prefix: tempfile::TempDir,
    dlls: PathBuf,
}

/// A Windows program running under Wine, its standard output followed as
/// JSON lines.
pub struct Running {
    pub child: Child,
    pub lines: Lines,
}

impl Wine {
    /// A new prefix, set up (`wineboot`) before anything runs in it. Its
    /// DLLs from `$RTCSTACK_WINE_DLLS`.
    pub async fn new() -> Result<Wine> {
        let loader = LOADERS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .context("Wine is not installed (scripts/setup installs wine64)")?;
        let dlls = std::env::var_os("RTCSTACK_WINE_DLLS")
            .map(PathBuf::from)
            .context("RTCSTACK_WINE_DLLS is not set: run this through scripts/test windows")?;
        let wine = Wine {
            loader,
            prefix: tempfile::Builder::new().prefix("rtcstack-wine").tempdir()?,
            dlls,
        };
        // Its output is told only if it fails (it says each time that
        // there is no 32-bit Wine, which nothing here needs).
        let boot = wine
            .command("wineboot")
            .arg("--init")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        let boot = tokio::time::timeout(BOOT, boot)
            .await
            .context("wineboot took too long")??;
        if !boot.status.success() {
            bail!(
                "wineboot failed ({}): {}{}",
                boot.status,
                String::from_utf8_lossy(&boot.stdout),
                String::from_utf8_lossy(&boot.stderr)
            );
        }
        Ok(wine)
    }

    /// `program` with `args` in this prefix; nothing started yet.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(&self.loader);
        command
            .arg(program)
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEPATH", &self.dlls)
            // No .NET or HTML engine: their installers would ask, and
            // download.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            // Quiet, but for a DLL that cannot be found or loaded.
            .env("WINEDEBUG", "-all,err+module")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Starts `exe` with `args`, following what it prints.
    pub fn spawn(&self, exe: &Path, args: &[&str]) -> Result<Running> {
        let mut child = self
            .command(exe)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} under Wine", exe.display()))?;
        let lines = Lines::follow(child.stdout.take().context("no stdout")?);
        Ok(Running { child, lines })
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        // The prefix's wineserver outlives its programs for a few seconds:
        // ended now, before its directory goes.
        let _ = std::process::Command::new(self.loader.with_file_name("wineserver"))
            .arg("--kill")
            .env("WINEPREFIX", self.prefix.path())
            .status();
    }
}
