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

    /// The app set up by its environment for `server`'s `room` (tokens
    /// signed with `secret`, which may be wrong on purpose), with `extra`
    /// variables after, on its join screen ready for input.
    #[cfg(feature = "linux-bench")]
    pub async fn for_server(
        server: &crate::server::LiveKitServer,
        room: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self> {
        let url = server.url();
        let mut envs = vec![
            ("RTCSTACK_SERVER_URL", url.as_str()),
            ("RTCSTACK_API_KEY", server.api_key()),
            ("RTCSTACK_API_SECRET", secret),
            ("RTCSTACK_ROOM", room),
        ];
        envs.extend_from_slice(extra);
        let app = Self::start(&envs).await?;
        app.wait_ready(Duration::from_secs(30)).await?;
        Ok(app)
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
        // Once in many runs the native driver never answered a first
        // session (every request dropped for 30 s); a fresh driver on fresh
        // ports is the bench's set-up, not the app, so it gets one more go.
        let first = match Self::launch(app, envs, Duration::from_secs(20)).await {
            Ok(session) => return Ok(session),
            Err(e) => e,
        };
        eprintln!("app session: no session from the first driver, starting another: {first:#}");
        Self::launch(app, envs, Duration::from_secs(30))
            .await
            .with_context(|| format!("a second driver, after the first: {first:#}"))
    }

    /// One tauri-driver on ports of its own, and a session through it
    /// within `within`; on failure the driver is stopped and its output
    /// is in the error.
    async fn launch(app: &Path, envs: &[(&str, &str)], within: Duration) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("rtcstack-app-").tempdir()?;
        let log = dir.path().join("tauri-driver.log");
        let err = dir.path().join("tauri-driver.err");
        let port = free_port()?;
        let native = loop {
            // Two binds in a row may be handed the same port.
            let p = free_port()?;
            if p != port {
                break p;
            }
        };
        let mut cmd = Command::new(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(&err)?)
        // The tests read the page's English words; a test of another
        // language sets its own.
        .env("LANGUAGE", "en")
        // Xvfb has no GPU: without these WebKit paints the window blank.
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({ "tauri:options": { "application": app } }))?;
        // From here every way out stops the driver.
        let mut driver = cmd
            .spawn()
            .context("starting tauri-driver (scripts/setup installs it)")?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + within;
        loop {
            // A driver that takes the request and never answers is bounded
            // by the same deadline.
            let left = deadline.saturating_duration_since(Instant::now());
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps.clone());
            let connect = builder.connect(&url);
            let e = match tokio::time::timeout(left, connect).await {
                Err(_) => "no answer".to_string(),
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(client)) => {
                    return Ok(AppSession {
                        client,
                        driver,
                        app: app.to_path_buf(),
                        log,
                        _dir: dir,
                    })
                }
            };
            let failed = if let Ok(Some(status)) = driver.try_wait() {
                format!("tauri-driver exited ({status}) before a session: {e}")
            } else if Instant::now() >= deadline {
                format!("no WebDriver session within {within:?}: {e}")
            } else {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            };
            let app = app_process(app, &driver);
            stop_driver(&mut driver);
            end(app, Duration::ZERO);
            bail!(
                "{failed}\n---- tauri-driver log ----\n{}\n---- its stderr (tail) ----\n{}",
                crate::tail::file_tail(&log, 40),
                crate::tail::file_tail(&err, 40)
            );
        }
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
        app_pid_under(&self.app, self.driver.id())
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

    /// Clicks the element with this `data-testid` whose text is `text`
    /// (one of a list).
    pub async fn click_text(&self, id: &str, text: &str) -> Result<()> {
        for e in self
            .client
            .find_all(Locator::Css(&format!("[data-testid={id}]")))
            .await?
        {
            if e.text().await? == text {
                e.click().await?;
                return Ok(());
            }
        }
        bail!("no {id} reads {text:?}")
    }

    /// The texts of every element with this `data-testid`, in page order.
    pub async fn texts(&self, id: &str) -> Vec<String> {
        let js = format!(
            "return [...document.querySelectorAll('[data-testid={id}]')].map((e) => e.textContent);"
        );
        self.client
            .execute(&js, vec![])
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
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

    /// Whether a person sees the element with this `data-testid`: see
    /// [`Seen::visible`]. What the page *says* (its `hidden` property, a
    /// class) is no answer: a stylesheet can show what the page hid.
    pub async fn visible(&self, id: &str) -> bool {
        self.seen(id).await.visible()
    }

    /// [`AppSession::visible`] for any CSS selector.
    pub async fn visible_css(&self, css: &str) -> bool {
        self.seen_css(css).await.visible()
    }

    /// How the element with this `data-testid` is seen (for messages).
    pub async fn seen(&self, id: &str) -> Seen {
        self.seen_css(&format!("[data-testid={id}]")).await
    }

    /// How the element `css` selects is seen: WebDriver's judgement, its
    /// rendered box and its computed style.
    pub async fn seen_css(&self, css: &str) -> Seen {
        let js = "const e = document.querySelector(arguments[0]); \
                  if (!e) return { exists: false }; \
                  const r = e.getBoundingClientRect(); \
                  const s = getComputedStyle(e); \
                  let opacity = 1; \
                  for (let a = e; a; a = a.parentElement) opacity *= parseFloat(getComputedStyle(a).opacity); \
                  return { exists: true, x: r.x, y: r.y, width: r.width, height: r.height, \
                    display: s.display, visibility: s.visibility, opacity, \
                    text: e.innerText ?? e.textContent ?? '', \
                    viewWidth: window.innerWidth, viewHeight: window.innerHeight, \
                    scrollX: window.scrollX, scrollY: window.scrollY, \
                    pageWidth: document.documentElement.scrollWidth, \
                    pageHeight: document.documentElement.scrollHeight };";
        let mut seen: Seen = match self.client.execute(js, vec![css.into()]).await {
            Ok(v) => serde_json::from_value(v).unwrap_or_default(),
            Err(_) => Seen::default(),
        };
        if seen.exists {
            seen.displayed = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.is_displayed().await.unwrap_or(false),
                Err(_) => false,
            };
        }
        seen.selector = css.to_string();
        // A block's own line break at its end (a paragraph inside) is not
        // something seen.
        seen.text = seen.text.trim_end().to_string();
        seen
    }

    /// Waits until the element with this `data-testid` is visible; returns
    /// how it was seen.
    pub async fn wait_visible(&self, id: &str, within: Duration) -> Result<Seen> {
        self.wait_seen(id, true, within).await
    }

    /// Waits until the element with this `data-testid` is not visible.
    pub async fn wait_gone(&self, id: &str, within: Duration) -> Result<()> {
        self.wait_seen(id, false, within).await.map(|_| ())
    }

    /// Waits until the element's visibility is `visible`; returns how it
    /// was seen then.
    async fn wait_seen(&self, id: &str, visible: bool, within: Duration) -> Result<Seen> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.seen(id).await;
            if seen.visible() == visible {
                return Ok(seen);
            }
            if Instant::now() > deadline {
                let still = if visible {
                    "not visible"
                } else {
                    "still visible"
                };
                bail!("{id}: {still} within {within:?}: {seen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A screenshot of the real window ([`AppSession::screenshot_window`],
    /// saved as `name`.png), decoded, with the page's geometry to find an
    /// element's box in it. The screenshot comes first: measure the page
    /// after it, and check it did not change meanwhile.
    pub async fn window_pixels(&self, name: &str) -> Result<WindowPixels> {
        let path = self.screenshot_window(name)?;
        let geometry = self
            .client
            .execute(
                "return [window.innerWidth, window.innerHeight, window.devicePixelRatio];",
                vec![],
            )
            .await?;
        let g: Vec<f64> = serde_json::from_value(geometry)?;
        anyhow::ensure!(g.len() == 3, "page geometry {g:?}");
        WindowPixels::load(&path, (g[0], g[1]), g[2])
    }

    /// What the window's pixels show of the reconnect banner, in a fresh
    /// screenshot saved as `name`.png. The banner's colours are read from
    /// the page's own stylesheet (its computed style), so a restyled
    /// banner is still found.
    pub async fn banner_pixels(&self, name: &str) -> Result<BannerPixels> {
        let shot = self.window_pixels(name).await?;
        let js = "const b = document.querySelector('[data-testid=reconnect-banner]'); \
                  const h = document.querySelector('header'); \
                  const s = getComputedStyle(b); \
                  return [s.backgroundColor, s.borderTopColor, h.getBoundingClientRect().bottom];";
        let v: (String, String, f64) =
            serde_json::from_value(self.client.execute(js, vec![]).await?)?;
        let fill = css_rgb(&v.0)?;
        let border = css_rgb(&v.1)?;
        let banner = self.seen("reconnect-banner").await;
        // The band right under the header, the window's width across: the
        // banner is the first thing there when it is shown.
        let band = shot.css_rect(0.0, v.2, shot.view.0, BANNER_BAND);
        let outline = banner.visible().then(|| shot.box_of(&banner));
        // Its inside, clear of the border and the rounded corners.
        let inside = outline.map(|r| r.inset(3));
        Ok(BannerPixels {
            band_fill: shot.count(band, fill),
            band_border: shot.count(band, border),
            band_area: band.area(),
            box_fill: inside.map_or(0, |r| shot.count(r, fill)),
            box_area: inside.map_or(0, Rect::area),
            box_border: outline.map_or(0, |r| shot.count(r, border)),
            box_width: outline.map_or(0, |r| r.w),
            fill,
            banner,
            shot,
        })
    }

    /// Screenshots saved as `name`.png, taken again until every element
    /// in `ids` is painted or `within` has passed; what the last one shows
    /// of each. The page's DOM changes before the toolkit paints it, so a
    /// shot right after an element shows up can still hold the frame
    /// before it (seen under CI load).
    pub async fn wait_painted(
        &self,
        name: &str,
        ids: &[&str],
        within: Duration,
    ) -> Result<(WindowPixels, Vec<BoxPixels>)> {
        let deadline = Instant::now() + within;
        loop {
            let shot = self.window_pixels(name).await?;
            let mut seen = Vec::with_capacity(ids.len());
            for id in ids {
                seen.push(self.box_pixels(&shot, id).await?);
            }
            if seen.iter().all(BoxPixels::painted) || Instant::now() > deadline {
                return Ok((shot, seen));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What `shot` shows inside the box of the element with this
    /// `data-testid` (measured now: take it right after the shot, while
    /// the page is as it was): how much of it is the element's background
    /// (its own, or the nearest ancestor's it shows through) and how much
    /// is drawn on that (text, lines).
    pub async fn box_pixels(&self, shot: &WindowPixels, id: &str) -> Result<BoxPixels> {
        let seen = self.seen(id).await;
        let js = "let e = document.querySelector(arguments[0]); \
                  for (; e; e = e.parentElement) { \
                    const c = getComputedStyle(e).backgroundColor; \
                    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; \
                  } \
                  return 'rgb(255, 255, 255)';";
        let css: String = serde_json::from_value(
            self.client
                .execute(js, vec![format!("[data-testid={id}]").into()])
                .await?,
        )?;
        let background = css_rgb(&css)?;
        let inside = if seen.visible() {
            shot.box_of(&seen).inset(3)
        } else {
            Rect::default()
        };
        Ok(BoxPixels {
            background,
            area: inside.area(),
            filled: shot.count(inside, background),
            ink: shot.ink(inside, background),
            seen,
            path: shot.path.clone(),
        })
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

    /// Sends `event` with `payload` to the page as the app's events come
    /// (to stage an old one arriving late), once the app has taken it.
    pub async fn emit(&self, event: &str, payload: serde_json::Value) -> Result<()> {
        let answer = self
            .invoke(
                "plugin:event|emit",
                serde_json::json!({"event": event, "payload": payload}),
            )
            .await?;
        if let Some(e) = answer.get("err") {
            bail!("emitting {event}: {e}");
        }
        Ok(())
    }

    /// Everything the UI holds where a secret could be left, for a leak
    /// search, as (place, bytes): the page as serialized, every field's
    /// value (a typed value is no attribute, so not in the page), web
    /// storage, and the answer of each command that reads state (the
    /// `call-view` event carries the same view as `call_view`).
    pub async fn ui_contents(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let js = "const dump = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)])); \
                  return { page: document.documentElement.outerHTML, \
                    fields: [...document.querySelectorAll('input, textarea, select')] \
                      .map((e) => `${e.dataset.testid ?? e.name}=${e.value}`), \
                    storage: { local: dump(localStorage), session: dump(sessionStorage) } };";
        let v = self.client.execute(js, vec![]).await?;
        let mut places = Vec::new();
        for (place, key) in [
            ("the page", "page"),
            ("the form fields", "fields"),
            ("web storage", "storage"),
        ] {
            let part = v
                .get(key)
                .with_context(|| format!("no {key} in {v}"))?
                .to_string();
            places.push((place.to_string(), part.into_bytes()));
        }
        for command in ["profiles", "call_view", "audio_view", "update_status"] {
            let answer = self.invoke(command, serde_json::json!({})).await?;
            anyhow::ensure!(answer.get("ok").is_some(), "{command} answered {answer}");
            places.push((
                format!("the answer to {command}"),
                answer.to_string().into_bytes(),
            ));
        }
        Ok(places)
    }

    pub async fn close(mut self) -> Result<()> {
        let app = self.app_process();
        self.client.clone().close().await.ok();
        stop_driver(&mut self.driver);
        end(app, Duration::from_secs(5));
        Ok(())
    }

    /// The app's process, where it can be found.
    fn app_process(&self) -> Option<u32> {
        app_process(&self.app, &self.driver)
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
        let app = self.app_process();
        stop_driver(&mut self.driver);
        end(app, Duration::ZERO);
    }
}

/// The process running `app` below the tauri-driver `driver`.
#[cfg(target_os = "linux")]
fn app_pid_under(app: &Path, driver: u32) -> Option<u32> {
    let want = std::fs::canonicalize(app).ok()?;
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

/// The app's process, where it can be found.
fn app_process(app: &Path, driver: &Child) -> Option<u32> {
    #[cfg(target_os = "linux")]
    return app_pid_under(app, driver.id());
    #[cfg(not(target_os = "linux"))]
    return {
        let _ = (app, driver);
        None
    };
}

/// Stops tauri-driver so that it takes its native driver with it (a kill
/// would leave WebKitWebDriver running, and its port taken).
fn stop_driver(driver: &mut Child) {
    if let Ok(Some(_)) = driver.try_wait() {
        return; // Stopped already (closed, then dropped).
    }
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-TERM", &driver.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = driver.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = driver.kill();
    let _ = driver.wait();
}

/// Gives the app `grace` to end, then kills it: the app is a single
/// instance per session bus, and one left running would take the next
/// test's launch for a second instance.
fn end(app: Option<u32>, grace: Duration) {
    let Some(pid) = app else { return };
    let gone = || !Path::new(&format!("/proc/{pid}")).exists();
    let deadline = Instant::now() + grace;
    while !gone() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !gone() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
}

/// The X11 id of the top-level window titled `title`.
pub fn window_id(title: &str) -> Result<String> {
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

/// How an element is seen, for [`AppSession::visible`] and its messages.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Seen {
    /// The selector it was found by.
    #[serde(skip)]
    pub selector: String,
    /// The element is in the page at all.
    pub exists: bool,
    /// WebDriver's Element Displayed (the displayedness atom).
    #[serde(skip)]
    pub displayed: bool,
    /// Its rendered box (`getBoundingClientRect`), CSS px in the viewport.
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Its computed `display` and `visibility`; its opacity times its
    /// ancestors'.
    pub display: String,
    pub visibility: String,
    pub opacity: f64,
    /// Its text as rendered (`innerText`).
    pub text: String,
    /// The viewport's size, how far the page is scrolled, and the page's
    /// whole size, CSS px.
    pub view_width: f64,
    pub view_height: f64,
    pub scroll_x: f64,
    pub scroll_y: f64,
    pub page_width: f64,
    pub page_height: f64,
}

impl Seen {
    /// Seen as a person meets it: WebDriver says it is displayed, it has a
    /// box of some size on the page (in the window, or there by scrolling:
    /// a long form reaches below the window), it is not `display: none`,
    /// `visibility: hidden` or fully transparent. Where it must be in the
    /// window as it stands, ask [`Seen::in_view`] too, or look at the
    /// window's pixels.
    pub fn visible(&self) -> bool {
        self.exists
            && self.displayed
            && self.width > 0.0
            && self.height > 0.0
            && self.display != "none"
            && self.visibility == "visible"
            && self.opacity > 0.0
            && self.on_page()
    }

    /// Its box overlaps the window's view, as the page is scrolled now.
    pub fn in_view(&self) -> bool {
        self.x < self.view_width
            && self.y < self.view_height
            && self.x + self.width > 0.0
            && self.y + self.height > 0.0
    }

    /// Its box overlaps the page, where scrolling can bring it into view.
    pub fn on_page(&self) -> bool {
        let (x, y) = (self.x + self.scroll_x, self.y + self.scroll_y);
        x < self.page_width.max(self.view_width)
            && y < self.page_height.max(self.view_height)
            && x + self.width > 0.0
            && y + self.height > 0.0
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.exists {
            return write!(f, "{} is not in the page", self.selector);
        }
        write!(
            f,
            "{} {}: displayed {}, box {:.0}x{:.0} at ({:.0}, {:.0}) in a {:.0}x{:.0} view \
             ({}) scrolled to ({:.0}, {:.0}) of a {:.0}x{:.0} page, \
             display {}, visibility {}, opacity {}, text {:?}",
            self.selector,
            if self.visible() {
                "visible"
            } else {
                "not visible"
            },
            self.displayed,
            self.width,
            self.height,
            self.x,
            self.y,
            self.view_width,
            self.view_height,
            if self.in_view() {
                "in view"
            } else {
                "out of view"
            },
            self.scroll_x,
            self.scroll_y,
            self.page_width,
            self.page_height,
            self.display,
            self.visibility,
            self.opacity,
            self.text
        )
    }
}

/// How far below the header the banner's band reaches, CSS px: the banner
/// (about 45 px with its margin) fits; the next thing's colours barely enter.
const BANNER_BAND: f64 = 64.0;

/// A rectangle of a screenshot, in image pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn area(self) -> usize {
        self.w as usize * self.h as usize
    }

    /// The rectangle `by` pixels smaller on every side.
    pub fn inset(self, by: u32) -> Rect {
        Rect {
            x: self.x + by,
            y: self.y + by,
            w: self.w.saturating_sub(2 * by),
            h: self.h.saturating_sub(2 * by),
        }
    }
}

/// The window's pixels (RGB) and where the page sits in them.
pub struct WindowPixels {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    rgb: Vec<u8>,
    /// The viewport's size in CSS px, and image px per CSS px.
    pub view: (f64, f64),
    pub scale: f64,
    /// Where the viewport's top left is in the image (the web view fills
    /// the window's bottom right: anything above or left is the window's).
    pub origin: (f64, f64),
}

impl WindowPixels {
    /// Decodes the PNG at `path` (with ImageMagick, which the screenshots
    /// already need) for a page whose viewport is `view` CSS px at
    /// `scale` device pixels each.
    pub fn load(path: &Path, view: (f64, f64), scale: f64) -> Result<WindowPixels> {
        let (width, height) = png_size(path)?;
        let out = Command::new("convert")
            .arg(path)
            .args(["-depth", "8", "rgb:-"])
            .output()
            .context("running convert (imagemagick)")?;
        let rgb = out.stdout;
        anyhow::ensure!(
            rgb.len() == width as usize * height as usize * 3,
            "convert gave {} bytes for a {width}x{height} image: {}",
            rgb.len(),
            String::from_utf8_lossy(&out.stderr)
        );
        let origin = (
            (f64::from(width) - view.0 * scale).max(0.0),
            (f64::from(height) - view.1 * scale).max(0.0),
        );
        Ok(WindowPixels {
            path: path.to_path_buf(),
            width,
            height,
            rgb,
            view,
            scale,
            origin,
        })
    }

    /// The image rectangle of an element's rendered box.
    pub fn box_of(&self, seen: &Seen) -> Rect {
        self.css_rect(seen.x, seen.y, seen.width, seen.height)
    }

    /// The image rectangle of a box given in the page's CSS px, clipped to
    /// the image.
    pub fn css_rect(&self, x: f64, y: f64, w: f64, h: f64) -> Rect {
        let clip = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
        let x0 = clip(self.origin.0 + x * self.scale, self.width);
        let y0 = clip(self.origin.1 + y * self.scale, self.height);
        let x1 = clip(self.origin.0 + (x + w) * self.scale, self.width);
        let y1 = clip(self.origin.1 + (y + h) * self.scale, self.height);
        Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }

    /// The colour at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// How many pixels of `r` are `colour` (each channel within 3).
    pub fn count(&self, r: Rect, colour: [u8; 3]) -> usize {
        self.pixels(r).filter(|p| near(*p, colour, 3)).count()
    }

    /// How many pixels of `r` stand out from the `background` colour (some
    /// channel off by more than 40): text and lines drawn there.
    pub fn ink(&self, r: Rect, background: [u8; 3]) -> usize {
        self.pixels(r).filter(|p| !near(*p, background, 40)).count()
    }

    fn pixels(&self, r: Rect) -> impl Iterator<Item = [u8; 3]> + '_ {
        let (x1, y1) = ((r.x + r.w).min(self.width), (r.y + r.h).min(self.height));
        (r.y..y1).flat_map(move |y| (r.x..x1).map(move |x| self.pixel(x, y)))
    }
}

/// Whether every channel of `a` is within `by` of `b`'s.
fn near(a: [u8; 3], b: [u8; 3], by: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= by)
}

/// `rgb(r, g, b)` or `rgba(r, g, b, a)` as the browser computes a colour.
fn css_rgb(css: &str) -> Result<[u8; 3]> {
    let inner = css
        .trim()
        .strip_prefix("rgba(")
        .or_else(|| css.trim().strip_prefix("rgb("))
        .and_then(|s| s.strip_suffix(')'))
        .with_context(|| format!("not an rgb() colour: {css:?}"))?;
    let parts: Vec<u8> = inner
        .split(',')
        .take(3)
        .map(|p| p.trim().parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("not an rgb() colour: {css:?}"))?;
    anyhow::ensure!(parts.len() == 3, "not an rgb() colour: {css:?}");
    Ok([parts[0], parts[1], parts[2]])
}

/// What a screenshot of the window shows of the reconnect banner: its
/// colours in the band under the header where it sits, and inside its own
/// box when the page has given it one.
pub struct BannerPixels {
    /// Pixels of the banner's fill and border colour in the band, and the
    /// band's size.
    pub band_fill: usize,
    pub band_border: usize,
    pub band_area: usize,
    /// Inside the banner's box (0 when it has none): fill pixels and the
    /// inside's size; border pixels and the box's width.
    pub box_fill: usize,
    pub box_area: usize,
    pub box_border: usize,
    pub box_width: u32,
    /// The banner's fill colour, and how the page rendered it.
    pub fill: [u8; 3],
    pub banner: Seen,
    /// The screenshot.
    pub shot: WindowPixels,
}

impl BannerPixels {
    /// The banner is on screen: its box mostly its fill, edged by its
    /// border (top and bottom at least).
    pub fn seen(&self) -> bool {
        self.box_area > 0
            && self.box_fill * 10 >= self.box_area * 6
            && self.box_border >= self.box_width as usize
    }

    /// No trace of the banner where it would be: neither its border nor
    /// more than a sliver of its fill in the band under the header.
    pub fn absent(&self) -> bool {
        self.band_border < 8 && self.band_fill * 100 < self.band_area
    }

    /// "seen", "absent", or "unclear" (neither: a part of it, say).
    pub fn verdict(&self) -> &'static str {
        if self.seen() {
            "seen"
        } else if self.absent() {
            "absent"
        } else {
            "unclear"
        }
    }

    /// Pixels drawn on the banner's fill inside `part`'s box (its text).
    pub fn ink_in(&self, part: &Seen) -> usize {
        if !part.visible() {
            return 0;
        }
        self.shot.ink(self.shot.box_of(part), self.fill)
    }
}

impl std::fmt::Display for BannerPixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "in {}: the band under the header has {} fill and {} border pixels of {}; \
             the banner's box {} fill pixels of {} inside, {} border pixels (width {})",
            self.shot.path.display(),
            self.band_fill,
            self.band_border,
            self.band_area,
            self.box_fill,
            self.box_area,
            self.box_border,
            self.box_width
        )
    }
}

/// What a screenshot shows inside one element's box.
#[derive(Debug, Clone)]
pub struct BoxPixels {
    /// The colour behind the element (its own background or an ancestor's).
    pub background: [u8; 3],
    /// The inside of its box (3 px in from each edge), and how many of
    /// those pixels are the background and how many stand out from it.
    pub area: usize,
    pub filled: usize,
    pub ink: usize,
    pub seen: Seen,
    pub path: PathBuf,
}

impl BoxPixels {
    /// Painted as the page means it: the box mostly its background, with
    /// something (its text) drawn on it.
    pub fn painted(&self) -> bool {
        self.area > 0 && self.filled * 10 >= self.area * 5 && self.ink >= 20
    }
}

impl std::fmt::Display for BoxPixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "in {}: {} of {} pixels are its background {:?}, {} are drawn on it; {}",
            self.path.display(),
            self.filled,
            self.area,
            self.background,
            self.ink,
            self.seen
        )
    }
}
