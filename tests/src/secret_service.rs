//! A real keychain for the app's tests: a private D-Bus session bus with
//! GNOME Keyring's Secret Service on it, unlocked with a throwaway password,
//! its keyrings in a temporary directory. The app is pointed at the bus by
//! `DBUS_SESSION_BUS_ADDRESS`; `secret-tool` (libsecret) reads what it
//! stored. Also a bus with no Secret Service at all, and locking.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::private_bus::{BusKind, PrivateBus};

/// The keychain service the app files its entries under.
pub const SERVICE: &str = "dev.rtcstack.desktop";

pub struct SecretService {
    dir: tempfile::TempDir,
    bus: PrivateBus,
    keyring: Option<Child>,
}

impl SecretService {
    /// A private bus with an unlocked GNOME Keyring.
    pub fn start() -> Result<Self> {
        let mut s = Self::bus_only()?;
        let data = s.dir.path().join("data");
        let run = s.dir.path().join("run");
        let mut keyring = s
            .command("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting gnome-keyring-daemon (apt gnome-keyring; scripts/setup)")?;
        // The password on stdin, then EOF: it creates and unlocks "login".
        keyring
            .stdin
            .take()
            .context("keyring stdin")?
            .write_all(b"throwaway-test-password")?;
        s.keyring = Some(keyring);
        // Ready when the "login" collection is there to be made the default
        // one, as a desktop login makes it: where applications' secrets go.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let made_default = s.secret_service_call(
                "SetAlias",
                &[
                    "string:default",
                    "objpath:/org/freedesktop/secrets/collection/login",
                ],
            );
            match made_default {
                Ok(()) => return Ok(s),
                Err(e) if Instant::now() > deadline => {
                    bail!("gnome-keyring's Secret Service not ready within 15 s: {e:#}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A private bus with nothing on it: no keychain at all.
    pub fn bus_only() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-keyring-")
            .tempdir()?;
        for d in ["data", "run"] {
            std::fs::create_dir_all(dir.path().join(d))?;
        }
        set_private(&dir.path().join("run"))?;
        // A bus that starts nothing by itself: with the system's service
        // files it would start a second GNOME Keyring (unlocked by nobody)
        // the moment anyone asked for org.freedesktop.secrets before ours was
        // up, and ours would give up ("another secret service is running");
        // and "no keychain" would not be no keychain.
        let bus = PrivateBus::start(dir.path(), BusKind::Session)?;
        Ok(SecretService {
            dir,
            bus,
            keyring: None,
        })
    }

    /// The bus address to give the app.
    pub fn address(&self) -> &str {
        self.bus.address()
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DBUS_SESSION_BUS_ADDRESS", self.bus.address());
        c
    }

    /// The app's secret for `profile_id`, if the keychain holds one.
    pub fn lookup(&self, profile_id: &str) -> Result<Option<String>> {
        let out = self
            .command("secret-tool")
            .args(["lookup", "service", SERVICE, "username", profile_id])
            .output()?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string()))
    }

    /// How many entries the app has in the keychain.
    pub fn entries(&self) -> Result<usize> {
        let out = self
            .command("secret-tool")
            .args(["search", "--all", "service", SERVICE])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        Ok(text
            .lines()
            .filter(|l| l.starts_with("attribute.username"))
            .count())
    }

    /// Locks the login keyring, as a screen lock or a timeout would.
    pub fn lock(&self) -> Result<()> {
        self.secret_service_call(
            "Lock",
            &["array:objpath:/org/freedesktop/secrets/collection/login"],
        )
    }

    /// One Secret Service method call on the bus (dbus-send).
    fn secret_service_call(&self, method: &str, args: &[&str]) -> Result<()> {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                &format!("org.freedesktop.Secret.Service.{method}"),
            ])
            .args(args)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "Secret Service {method} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Where the keyrings are kept (encrypted): not the app's files.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }
}

fn set_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(k) = self.keyring.as_mut() {
            let _ = k.kill();
            let _ = k.wait();
        }
    }
}
