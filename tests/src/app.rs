//! The real desktop app in a real window, driven by `tauri-driver` (which
//! runs WebKitWebDriver) through the WebDriver client `fantoccini`.
//!
//! Needs a display and a session bus: `scripts/test app` runs these tests
//! under `xvfb-run` and `dbus-run-session`.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// The app binary built by `scripts/build-app` (UI embedded).
pub fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("RTCSTACK_APP_BINARY") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join(format!(
        "debug/rtcstack-desktop{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// Where tests leave screenshots and logs for people to look at.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("RTCSTACK_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../artifacts"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn tauri_driver() -> PathBuf {
    let cache = std::env::var_os("RTCSTACK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/rtcstack")
        });
    cache.join(format!("bin/tauri-driver{}", std::env::consts::EXE_SUFFIX))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// One app window under WebDriver.
pub struct AppSession {
    pub client: Client,
    driver: Child,
    app: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl AppSession {
    /// Starts tauri-driver and, through it, the app.
    pub async fn start(envs: &[(&str, &str)]) -> Result<Self> {
        Self::start_app(&app_binary(), envs).await
    }

    /// Starts tauri-driver and, through it, the app binary at `app` (an
    /// installed copy, for instance).
    pub async fn start_app(app: &Path, envs: &[(&str, &str)]) -> Result<Self> {
        anyhow::ensure!(
            app.exists(),
            "app binary {} not found: run scripts/build-app",
            app.display()
        );
        anyhow::ensure!(
            !cfg!(target_os = "linux") || std::env::var_os("DISPLAY").is_some(),
            "no DISPLAY: run the app tests with scripts/test app (it starts Xvfb)"
        );
        let dir = tempfile::Builder::new().prefix("rtcstack-app-").tempdir()?;
        let log = dir.path().join("tauri-driver.log");
        let (port, native) = (free_port()?, free_port()?);
        let mut cmd = Command::new(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.path().join("tauri-driver.err"))?)
        // Xvfb has no GPU: without these WebKit paints the window blank.
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut driver = cmd
            .spawn()
            .context("starting tauri-driver (scripts/setup installs it)")?;

        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({ "tauri:options": { "application": app } }))?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    if let Some(status) = driver.try_wait()? {
                        bail!("tauri-driver exited ({status}) before a session: {e}");
                    }
                    if Instant::now() > deadline {
                        let _ = driver.kill();
                        bail!("no WebDriver session within 30 s: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        Ok(AppSession {
            client,
            driver,
            app: app.to_path_buf(),
            log,
            _dir: dir,
        })
    }

    /// Waits until the page has set up its form and listeners (the UI marks
    /// `body[data-ready]`).
    pub async fn wait_ready(&self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let ready = self
                .client
                .execute("return document.body.dataset.ready === '1';", vec![])
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the page did not become ready within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element's text satisfies `pred`; returns the text.
    pub async fn wait_text(
        &self,
        css: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + within;
        let mut last = String::from("<no element>");
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if pred(&text) {
                        return Ok(text);
                    }
                    last = text;
                }
            }
            if Instant::now() > deadline {
                bail!("{css}: text still {last:?} after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The app's process id (a descendant of tauri-driver running the app
    /// binary), to freeze it as a machine's sleep would.
    #[cfg(target_os = "linux")]
    pub fn app_pid(&self) -> Option<u32> {
        let want = std::fs::canonicalize(&self.app).ok()?;
        let parent_of = |pid: u32| -> Option<u32> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid …; comm may hold spaces and parens.
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let driver = self.driver.id();
        std::fs::read_dir("/proc")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == want))
            .find(|&pid| {
                // Ours only: tauri-driver among its ancestors.
                let mut p = pid;
                for _ in 0..8 {
                    match parent_of(p) {
                        Some(q) if q == driver => return true,
                        Some(q) if q > 1 => p = q,
                        _ => return false,
                    }
                }
                false
            })
    }

    /// A PNG of the app's real window (the X11 window, decorations and
    /// all, not the web view's own rendering), saved as `name`.png.
    pub fn screenshot_window(&self, name: &str) -> Result<PathBuf> {
        let out = artifacts_dir()?.join(format!("{name}.png"));
        let id = window_id("RTCstack")?;
        let status = Command::new("import")
            .args(["-window", &id])
            .arg(&out)
            .status()
            .context("running import (imagemagick)")?;
        anyhow::ensure!(status.success(), "import failed for window {id}");
        Ok(out)
    }

    /// The app's (and the drivers') stderr, as written so far.
    pub fn stderr_path(&self) -> PathBuf {
        self.log.with_file_name("tauri-driver.err")
    }

    /// Clicks the element with this `data-testid`.
    pub async fn click(&self, id: &str) -> Result<()> {
        self.client
            .find(Locator::Css(&format!("[data-testid={id}]")))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Replaces the text of the input with this `data-testid`.
    pub async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        let el = self
            .client
            .find(Locator::Css(&format!("[data-testid={id}]")))
            .await?;
        el.clear().await?;
        if !text.is_empty() {
            el.send_keys(text).await?;
        }
        Ok(())
    }

    /// Whether the element is shown (its `hidden` attribute off).
    pub async fn shown(&self, id: &str) -> bool {
        let js = format!(
            "const e = document.querySelector('[data-testid={id}]'); return !!e && !e.hidden;"
        );
        self.client
            .execute(&js, vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// The element's text (empty when there is none).
    pub async fn text(&self, id: &str) -> String {
        let js = format!(
            "const e = document.querySelector('[data-testid={id}]'); return e ? e.textContent : '';"
        );
        self.client
            .execute(&js, vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The value of the input or select with this `data-testid`.
    pub async fn value(&self, id: &str) -> String {
        let js = format!("return document.querySelector('[data-testid={id}]').value;");
        self.client
            .execute(&js, vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Calls one of the app's commands the way the UI does, returning its
    /// answer (or its error) as JSON.
    pub async fn invoke(
        &self,
        command: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let js = "const [cmd, args, done] = arguments; \
                  window.__TAURI_INTERNALS__.invoke(cmd, args) \
                    .then((v) => done({ ok: v }), (e) => done({ err: e }));";
        Ok(self
            .client
            .execute_async(js, vec![command.into(), args])
            .await?)
    }

    pub async fn close(mut self) -> Result<()> {
        self.client.clone().close().await.ok();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        Ok(())
    }
}

impl Drop for AppSession {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("---- tauri-driver log ----\n{text}");
            let err = self.log.with_file_name("tauri-driver.err");
            // The whole of it, for reading later.
            if let Ok(dir) = artifacts_dir() {
                let _ = std::fs::copy(&err, dir.join("app-stderr.log"));
            }
            eprintln!(
                "---- the app's and drivers' stderr (tail) ----\n{}",
                crate::tail::file_tail(&err, 120)
            );
        }
        let _ = self.driver.kill();
    }
}

/// The X11 id of the top-level window titled `title`.
fn window_id(title: &str) -> Result<String> {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .output()
        .context("running xwininfo (x11-utils)")?;
    let tree = String::from_utf8_lossy(&out.stdout);
    let needle = format!("\"{title}\"");
    tree.lines()
        .find(|l| l.contains(&needle))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
        .with_context(|| format!("no window titled {title} in xwininfo -root -tree"))
}

/// Width and height from a PNG's header.
pub fn png_size(path: &Path) -> Result<(u32, u32)> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Ok((be(16), be(20)))
}

/// How many distinct colours an image has: a blank (unpainted) window has one.
pub fn distinct_colours(path: &Path) -> Result<u64> {
    let out = Command::new("convert")
        .arg(path)
        .args(["-format", "%k", "info:"])
        .output()
        .context("running convert (imagemagick)")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("convert said {:?}", String::from_utf8_lossy(&out.stderr)))
}
