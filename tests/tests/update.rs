//! The app updates itself (`scripts/test update`): version A (0.1.0) is
//! installed as a real .deb with dpkg, started from /usr/bin under
//! tauri-driver in Xvfb, and finds version B (0.2.0) on a loopback release
//! host. A good, signed B is installed after the call ends and the app
//! restarts into it; a tampered signature, a cut download and another app's
//! package are each refused with a message, and A stays installed.
//!
//! Needs root (dpkg -i, as CI runs) and the fixtures that
//! `scripts/build-update-fixtures` makes (both builds and their signatures,
//! from a throwaway key pair); `scripts/test update` does both.
//!
//! The .deb updater installs with `pkexec dpkg -i`: polkit's prompt has no
//! one to answer it here, so a `pkexec` on the app's PATH runs the command
//! as it is (we are root already). Everything else is the real thing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use base64::Engine as _;
use fantoccini::Locator;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::update_server::{Delivery, UpdateServer};

const A: &str = "0.1.0";
const B: &str = "0.2.0";
const PLATFORM: &str = "linux-x86_64-deb";
const INSTALLED: &str = "/usr/bin/rtcstack-desktop";
const NOTES: &str = "Calls reconnect faster.\nA new icon.";

/// The tests share the installed package and one port: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Fixtures {
    dir: PathBuf,
    port: u16,
    package: String,
}

impl Fixtures {
    fn load() -> Result<Self> {
        ensure!(
            nix_is_root(),
            "the update test installs .deb packages with dpkg: run it as root (CI does)"
        );
        let dir = PathBuf::from(std::env::var_os("RTCSTACK_UPDATE_FIXTURES").context(
            "RTCSTACK_UPDATE_FIXTURES is not set: run scripts/test update \
             (it builds the fixtures with scripts/build-update-fixtures)",
        )?);
        let port = std::fs::read_to_string(dir.join("port"))
            .context("fixtures have no port file")?
            .trim()
            .parse()
            .context("port file")?;
        let package = run(
            "dpkg-deb",
            &["-f", &path_str(&dir.join("a.deb")), "Package"],
        )?;
        Ok(Self { dir, port, package })
    }

    fn bytes(&self, name: &str) -> Result<Vec<u8>> {
        std::fs::read(self.dir.join(name)).with_context(|| format!("fixture {name}"))
    }

    fn text(&self, name: &str) -> Result<String> {
        std::fs::read_to_string(self.dir.join(name)).with_context(|| format!("fixture {name}"))
    }

    /// Installs version A, whatever was installed before.
    fn install_a(&self) -> Result<()> {
        run("dpkg", &["-i", &path_str(&self.dir.join("a.deb"))])?;
        ensure!(self.installed().as_deref() == Some(A), "A did not install");
        Ok(())
    }

    /// The installed version of the app's package, as dpkg knows it.
    fn installed(&self) -> Option<String> {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Status} ${Version}", &self.package])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.strip_prefix("install ok installed ")
            .map(|v| v.trim().to_string())
    }

    async fn wait_installed(&self, version: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let now = self.installed();
            if now.as_deref() == Some(version) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("dpkg still shows {now:?} after {within:?}, not {version}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn nix_is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn run(cmd: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .with_context(|| format!("running {cmd}"))?;
    ensure!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A folder with a `pkexec` that runs its arguments, first on the app's
/// PATH (see the module docs).
fn pkexec_shim() -> Result<(tempfile::TempDir, String)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("rtcstack-pkexec-")
        .tempdir()?;
    let shim = dir.path().join("pkexec");
    std::fs::write(&shim, "#!/bin/sh\nexec \"$@\"\n")?;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755))?;
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Ok((dir, path))
}

/// The same signature with one byte of the signature proper changed: still
/// well-formed, naming the same file and version, but no longer valid.
fn tamper(signature_file: &str) -> Result<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(b64.decode(signature_file.trim())?)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    ensure!(lines.len() >= 4, "unexpected .sig layout");
    let mut sig = b64.decode(&lines[1])?;
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    lines[1] = b64.encode(sig);
    Ok(b64.encode(lines.join("\n") + "\n"))
}

/// The app's update notice, as the window shows it.
struct Notice<'a> {
    app: &'a AppSession,
}

impl Notice<'_> {
    /// A screenshot of the window saved as `name`, the notice scrolled into
    /// view first (it is at the page's end, below the fold in a short
    /// window).
    async fn shot(&self, name: &str) {
        let js = "document.querySelector('[data-testid=update-notice]')\
                  ?.scrollIntoView({block: 'end'}); return true;";
        let _ = self.app.client.execute(js, vec![]).await;
        let _ = self.app.screenshot_window(name);
    }

    async fn attr(&self, name: &str) -> Option<String> {
        let el = self
            .app
            .client
            .find(Locator::Css("[data-testid=update-notice]"))
            .await
            .ok()?;
        el.attr(name).await.ok().flatten()
    }

    /// Waits until the notice is in `state`; returns its message.
    async fn wait_state(&self, state: &str, within: Duration) -> Result<String> {
        let deadline = Instant::now() + within;
        let mut last = None;
        loop {
            let now = self.attr("data-state").await;
            if now.as_deref() == Some(state) {
                return self.text("update-message").await;
            }
            if now != last {
                eprintln!(
                    "update notice: {now:?} {:?}",
                    self.text("update-message").await.unwrap_or_default()
                );
                last = now.clone();
            }
            if Instant::now() > deadline {
                bail!(
                    "update notice still {now:?} ({:?}) after {within:?}, not {state}",
                    self.text("update-message").await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&self, testid: &str) -> Result<String> {
        Ok(self
            .app
            .client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await?
            .text()
            .await?)
    }

    /// Of the notice's parts (message, notes, progress bar, both buttons),
    /// exactly `shown` are on screen, as a person sees them.
    async fn shows(&self, shown: &[&str]) -> Result<()> {
        const PARTS: [&str; 5] = [
            "update-message",
            "update-notes",
            "update-progress",
            "update-apply",
            "update-check",
        ];
        let notice = self.app.seen("update-notice").await;
        ensure!(
            notice.visible(),
            "the update notice is not on screen: {notice}"
        );
        for part in PARTS {
            let seen = self.app.seen(part).await;
            let want = shown.contains(&part);
            ensure!(
                seen.visible() == want,
                "{part} should {}be on screen: {seen}",
                if want { "" } else { "not " }
            );
        }
        Ok(())
    }

    /// The page keeps the newest status it hears. A status event and the
    /// `update_status` reply come by different ways, so an older one can
    /// arrive last (a reply read during the signature check, after the
    /// refusal's event: the notice stuck at "Downloading 100 %"). Staged
    /// from the page with two events, in order: an old one (change 1,
    /// all of it downloaded), then a newer one (up to date). Once the
    /// newer one shows, the old one was heard first: it must never have
    /// been drawn.
    async fn drops_an_older_status(&self) -> Result<()> {
        self.app
            .client
            .execute(
                "const n = document.querySelector('[data-testid=update-notice]');
                 window.__statesDrawn = [];
                 new MutationObserver(() => window.__statesDrawn.push(n.dataset.state))
                   .observe(n, {attributes: true, attributeFilter: ['data-state']});
                 return true;",
                vec![],
            )
            .await?;
        let old = serde_json::json!({"state": "downloading", "current": "a", "version": "b",
                                     "notes": "", "received": 100, "total": 100});
        let new = serde_json::json!({"state": "upToDate", "current": "a"});
        for (seq, status) in [(1u64, old), (1 << 40, new)] {
            self.app
                .emit(
                    "update-status",
                    serde_json::json!({"seq": seq, "status": status}),
                )
                .await?;
        }
        self.wait_state("upToDate", Duration::from_secs(5)).await?;
        let drawn = self
            .app
            .client
            .execute("return window.__statesDrawn;", vec![])
            .await?;
        ensure!(
            drawn == serde_json::json!(["upToDate"]),
            "states drawn: {drawn}"
        );
        Ok(())
    }

    async fn click(&self, testid: &str) -> Result<()> {
        self.app
            .client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await?
            .click()
            .await?;
        Ok(())
    }
}

/// Calls one of the app's commands from its page, as its UI does.
async fn invoke(app: &AppSession, command: &str) -> Result<()> {
    app.client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke(arguments[0])
               .then(() => done(null), (e) => done(String(e)));",
            vec![serde_json::json!(command)],
        )
        .await
        .map(|r| match r.as_str() {
            Some(err) => Err(anyhow::anyhow!("{command}: {err}")),
            None => Ok(()),
        })?
}

/// Starts the installed app (A) with the release host already answering.
async fn start_installed() -> Result<(AppSession, tempfile::TempDir)> {
    let (shim, path) = pkexec_shim()?;
    let app = AppSession::start_app(Path::new(INSTALLED), &[("PATH", &path)]).await?;
    Ok((app, shim))
}

/// One refused update: the app finds it at start, says why, stays on A.
async fn refused(
    fx: &Fixtures,
    server: &UpdateServer,
    problem: &str,
    shot: &str,
) -> Result<String> {
    fx.install_a()?;
    let (app, _shim) = start_installed().await?;
    let notice = Notice { app: &app };
    let message = notice.wait_state("failed", Duration::from_secs(60)).await?;
    assert_eq!(
        notice.attr("data-problem").await.as_deref(),
        Some(problem),
        "{message}"
    );
    assert!(
        message.ends_with(&format!("Staying on {A}.")),
        "message: {message}"
    );
    assert_eq!(notice.text("app-version").await?, A);
    notice.shows(&["update-message", "update-check"]).await?;
    notice.shot(shot).await;
    notice.drops_an_older_status().await?;
    app.close().await?;
    assert_eq!(fx.installed().as_deref(), Some(A), "A must stay installed");
    assert!(server
        .requests()
        .iter()
        .any(|r| r.contains(&format!("/{A}/latest.json"))));
    Ok(message)
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let _serial = SERIAL.lock().await;
    let fx = Fixtures::load().unwrap();
    let server = UpdateServer::start(fx.port).await.unwrap();
    server.put_file("b.deb", fx.bytes("b.deb").unwrap(), Delivery::Whole);
    let bad = tamper(&fx.text("b.deb.sig").unwrap()).unwrap();
    server.serve_release(B, NOTES, PLATFORM, "b.deb", &bad);
    let message = refused(&fx, &server, "badSignature", "update-refused-signature")
        .await
        .unwrap();
    assert!(message.contains("signature"), "{message}");
    // It was downloaded and then refused, not skipped.
    assert!(server.requests().contains(&"GET /files/b.deb".to_string()));
}

#[tokio::test]
async fn a_cut_download_is_refused() {
    let _serial = SERIAL.lock().await;
    let fx = Fixtures::load().unwrap();
    let server = UpdateServer::start(fx.port).await.unwrap();
    let b = fx.bytes("b.deb").unwrap();
    let half = b.len() / 2;
    server.put_file("b.deb", b, Delivery::CutAfter(half));
    server.serve_release(B, NOTES, PLATFORM, "b.deb", &fx.text("b.deb.sig").unwrap());
    let message = refused(&fx, &server, "incomplete", "update-refused-cut")
        .await
        .unwrap();
    assert!(message.contains("stopped after"), "{message}");
}

#[tokio::test]
async fn another_apps_package_is_refused() {
    let _serial = SERIAL.lock().await;
    let fx = Fixtures::load().unwrap();
    let server = UpdateServer::start(fx.port).await.unwrap();
    // Signed with the app's own key, for the version on offer: only what
    // the signature names tells it apart.
    server.put_file("other.deb", fx.bytes("other.deb").unwrap(), Delivery::Whole);
    server.serve_release(
        B,
        NOTES,
        PLATFORM,
        "other.deb",
        &fx.text("other.deb.sig").unwrap(),
    );
    let message = refused(&fx, &server, "wrongApp", "update-refused-other-app")
        .await
        .unwrap();
    assert!(message.contains("other-app_0.2.0_amd64.deb"), "{message}");
    assert!(
        !server.requests().iter().any(|r| r.contains("/files/")),
        "refused before downloading"
    );
    assert!(Command::new("dpkg-query")
        .args(["-W", "other-app"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true));
}

/// The installed package's desktop entry registers the meeting links'
/// scheme, with the link passed to the app (`%u`): the OS launches the app
/// for `rtcstack://` links with nothing done at run time.
#[tokio::test]
async fn the_installed_package_handles_meeting_links() {
    let _serial = SERIAL.lock().await;
    let fx = Fixtures::load().unwrap();
    fx.install_a().unwrap();
    let files = run("dpkg", &["-L", &fx.package]).unwrap();
    let entry = files
        .lines()
        .find(|f| f.starts_with("/usr/share/applications/") && f.ends_with(".desktop"))
        .unwrap_or_else(|| panic!("no desktop entry in the package: {files}"));
    let text = std::fs::read_to_string(entry).unwrap();
    let mime = text
        .lines()
        .find(|l| l.starts_with("MimeType="))
        .unwrap_or_else(|| panic!("no MimeType in {entry}:\n{text}"));
    assert!(
        mime.split(['=', ';'])
            .any(|m| m == "x-scheme-handler/rtcstack"),
        "{entry}: {mime}"
    );
    let exec = text.lines().find(|l| l.starts_with("Exec=")).unwrap();
    assert!(
        exec.contains("%u") || exec.contains("%U"),
        "{entry}: {exec}"
    );
}

#[tokio::test]
async fn an_update_found_during_a_call_waits_then_installs_and_restarts_into_b() {
    let _serial = SERIAL.lock().await;
    let fx = Fixtures::load().unwrap();
    let server = UpdateServer::start(fx.port).await.unwrap();
    // About 4 s of download, so the progress bar can be seen.
    let b = fx.bytes("b.deb").unwrap();
    let pace = b.len() / 4;
    server.put_file("RTCstack_0.2.0_amd64.deb", b, Delivery::Paced(pace));
    server.serve_no_update();
    fx.install_a().unwrap();

    let (app, _shim) = start_installed().await.unwrap();
    let notice = Notice { app: &app };
    let msg = notice
        .wait_state("upToDate", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(msg, format!("RTCstack {A} is up to date."));
    notice
        .shows(&["update-message", "update-check"])
        .await
        .unwrap();

    // A call starts; then a release appears and the user checks.
    invoke(&app, "test_call_started").await.unwrap();
    // The manifest the release workflow's own tool wrote for B.
    server.serve_manifest(fx.text("latest.json").unwrap());
    notice.click("update-check").await.unwrap();
    let msg = notice
        .wait_state("waitingForCall", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(msg.contains("when your call ends"), "{msg}");
    assert_eq!(notice.text("update-notes").await.unwrap(), NOTES);
    notice
        .shows(&["update-message", "update-notes"])
        .await
        .unwrap();
    notice.shot("update-waiting-for-call").await;
    // Held: during the call nothing is fetched, let alone installed. (A
    // bounded look for something that must not happen.)
    let held_since = Instant::now();
    while held_since.elapsed() < Duration::from_secs(3) {
        assert!(
            !server.requests().iter().any(|r| r.contains("/files/")),
            "downloaded during the call"
        );
        assert_eq!(
            notice.attr("data-state").await.as_deref(),
            Some("waitingForCall")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fx.installed().as_deref(), Some(A));

    // The call ends: download (with progress), then ready.
    invoke(&app, "test_call_ended").await.unwrap();
    notice
        .wait_state("downloading", Duration::from_secs(10))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = app
            .client
            .find(Locator::Css("[data-testid=update-progress]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let bar = app.seen("update-progress").await;
        if value > 0.0 && bar.visible() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "progress bar never moved on screen (value {value}): {bar}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    notice.shot("update-downloading").await;
    let msg = notice
        .wait_state("ready", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(msg.contains(&format!("Update {B} is ready")), "{msg}");
    notice
        .shows(&["update-message", "update-notes", "update-apply"])
        .await
        .unwrap();
    assert_eq!(
        fx.installed().as_deref(),
        Some(A),
        "installed only on restart"
    );
    notice.shot("update-ready").await;

    // A new call starts before the user restarts: restarting is refused,
    // nothing is installed, the update stays ready.
    invoke(&app, "test_call_started").await.unwrap();
    notice.click("update-apply").await.unwrap();
    app.wait_text(
        "[data-testid=update-message]",
        Duration::from_secs(10),
        |t| t.starts_with("A call is in progress"),
    )
    .await
    .unwrap();
    assert_eq!(notice.attr("data-state").await.as_deref(), Some("ready"));
    assert_eq!(fx.installed().as_deref(), Some(A));
    invoke(&app, "test_call_ended").await.unwrap();

    // The user restarts: dpkg installs B and the app comes back as B.
    notice.click("update-apply").await.unwrap();
    fx.wait_installed(B, Duration::from_secs(90)).await.unwrap();
    server
        .wait_request(Duration::from_secs(60), |r| {
            r.contains(&format!("/{B}/latest.json"))
        })
        .await
        .expect("the restarted app asks for updates as version B");
    app.close().await.ok();
    stop_installed_app();
}

/// Ends the app that restarted itself into B: it is no child of
/// tauri-driver, so closing the session does not end it.
fn stop_installed_app() {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("exe")).is_ok_and(|p| p == Path::new(INSTALLED)) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}
