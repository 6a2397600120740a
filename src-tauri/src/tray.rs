//! The tray icon and its menu (`rtcstack_desktop_core::tray` says what they
//! show), and closing the window during a call: the window goes, the call
//! stays, the icon brings it back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use rtcstack_desktop_core::call::CallView;
use rtcstack_desktop_core::tray::{self, OnClose, TrayView, ICON_SIZE};
use rtcstack_desktop_core::Desktop;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Window, WindowEvent};

use crate::shell;

/// The menu's items, by id.
const STATUS: &str = "status";
const SHOW: &str = "show";
const MUTE: &str = "mute";
const LEAVE: &str = "leave";
const QUIT: &str = "quit";

pub struct Tray {
    /// To the thread that draws: the menu's setters wait for the main
    /// thread, and a view is shown under the call's lock, which a command
    /// on the main thread may be waiting for.
    /// None without an icon (its library is not installed).
    draw: Option<Mutex<mpsc::Sender<TrayView>>>,
    /// What was last sent to be drawn: unchanged views (stats, levels)
    /// change nothing on the bus.
    shown: Mutex<Option<TrayView>>,
    /// A tray host was there when last asked (at start, and as each call
    /// starts).
    host: AtomicBool,
    /// The user was told that closing the window keeps the call.
    told: AtomicBool,
}

/// Puts the icon in the tray, where it can be; the app manages the result.
pub fn build(app: &AppHandle) -> tauri::Result<Tray> {
    let draw = if tray::can_draw() {
        Some(Mutex::new(icon(app)?))
    } else {
        None
    };
    let tray = Tray {
        draw,
        shown: Mutex::new(None),
        host: AtomicBool::new(false),
        told: AtomicBool::new(false),
    };
    Ok(tray)
}

/// The icon and its menu, drawn by a thread of their own; returns the way
/// to it.
fn icon(app: &AppHandle) -> tauri::Result<mpsc::Sender<TrayView>> {
    // In the app's language before any call.
    let first = TrayView::of(
        &CallView::default(),
        &app.state::<Desktop>().language.current(),
    );
    let status = MenuItem::with_id(app, STATUS, &first.headline, false, None::<&str>)?;
    let show = MenuItem::with_id(app, SHOW, &first.show, true, None::<&str>)?;
    let mute = MenuItem::with_id(app, MUTE, &first.mute, false, None::<&str>)?;
    let leave = MenuItem::with_id(app, LEAVE, &first.leave, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, &first.quit, true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &show,
            &mute,
            &leave,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("main")
        .icon(picture(tray::TrayStatus::Idle))
        .tooltip("RTCstack")
        .menu(&menu)
        .on_menu_event(|app, event| chosen(app, event.id().as_ref()))
        .build(app)?;
    let (draw, views) = mpsc::channel();
    let items = Items {
        icon,
        status,
        show,
        mute,
        leave,
        quit,
    };
    std::thread::Builder::new()
        .name("tray".into())
        .spawn(move || items.draw_each(views))?;
    Ok(draw)
}

fn picture(status: tray::TrayStatus) -> Image<'static> {
    Image::new_owned(tray::icon(status), ICON_SIZE, ICON_SIZE)
}

/// Asks whether a tray host is there, in the background; the answer is
/// kept for the next close. No icon, no host. Once the tray is managed.
pub fn look_for_host<R: tauri::Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(tray) = app.try_state::<Tray>() else {
            return;
        };
        let present = tray.draw.is_some() && tray::host_present().await;
        tray.host.store(present, Ordering::Relaxed);
    });
}

impl Tray {
    /// Shows `view` on the icon and in the menu, if it changes what they
    /// say (in the app's language: a new one redraws). Never waits for the
    /// main thread.
    pub fn show<R: tauri::Runtime>(&self, app: &AppHandle<R>, view: &CallView) {
        let Some(desktop) = app.try_state::<Desktop>() else {
            return;
        };
        let next = TrayView::of(view, &desktop.language.current());
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if shown.as_ref() == Some(&next) {
            return;
        }
        let call_started = next.in_call && !shown.as_ref().is_some_and(|s| s.in_call);
        if let Some(draw) = &self.draw {
            let sent = draw
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(next.clone());
            if sent.is_err() {
                tracing::warn!("the tray's thread has ended");
            }
        }
        *shown = Some(next);
        if call_started {
            look_for_host(app);
        }
    }
}

/// Draws the menu again in the app's language, just chosen.
pub fn redraw<R: tauri::Runtime>(app: &AppHandle<R>) {
    if let (Some(tray), Some(desktop)) = (app.try_state::<Tray>(), app.try_state::<Desktop>()) {
        tray.show(app, &desktop.calls.view());
    }
}

/// The icon and the menu items that change.
struct Items {
    icon: TrayIcon,
    status: MenuItem<tauri::Wry>,
    show: MenuItem<tauri::Wry>,
    mute: MenuItem<tauri::Wry>,
    leave: MenuItem<tauri::Wry>,
    quit: MenuItem<tauri::Wry>,
}

impl Items {
    /// Draws each view sent, the newest of any that queued meanwhile.
    fn draw_each(self, views: mpsc::Receiver<TrayView>) {
        while let Ok(mut view) = views.recv() {
            while let Ok(newer) = views.try_recv() {
                view = newer;
            }
            let changed = [
                self.icon.set_icon(Some(picture(view.status))),
                self.icon
                    .set_tooltip(Some(format!("RTCstack — {}", view.headline))),
                self.status.set_text(&view.headline),
                self.show.set_text(&view.show),
                self.mute.set_text(&view.mute),
                self.leave.set_text(&view.leave),
                self.quit.set_text(&view.quit),
                self.mute.set_enabled(view.in_call),
                self.leave.set_enabled(view.in_call),
            ];
            for e in changed.into_iter().filter_map(Result::err) {
                tracing::warn!("tray not updated: {e}");
            }
        }
    }
}

/// A menu item was chosen.
fn chosen(app: &AppHandle, id: &str) {
    let app = app.clone();
    match id {
        SHOW => show_window(&app),
        MUTE => {
            tauri::async_runtime::spawn(async move {
                let desktop = app.state::<Desktop>();
                // What was last asked, not what the server last confirmed:
                // two quick clicks toggle twice.
                let muted = desktop.calls.is_muted();
                desktop.set_muted(!muted).await;
            });
        }
        LEAVE => {
            tauri::async_runtime::spawn(async move {
                app.state::<Desktop>().calls.leave().await;
            });
        }
        QUIT => {
            // Leave first: the others see us go at once, not after the
            // server's timeout.
            tauri::async_runtime::spawn(async move {
                app.state::<Desktop>().calls.leave().await;
                crate::mini_view::full_before_quit(&app).await;
                app.exit(0);
            });
        }
        _ => {}
    }
}

/// Brings the window back and to the front.
pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let shown = [w.show(), w.unminimize(), w.set_focus()];
        for e in shown.into_iter().filter_map(Result::err) {
            tracing::warn!("window not shown: {e}");
        }
    }
}

/// The window is being closed: during a call it goes to the tray (or is
/// minimised where there is none) and the call goes on.
pub fn window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let (Some(desktop), Some(tray)) = (app.try_state::<Desktop>(), app.try_state::<Tray>()) else {
        return;
    };
    let host = tray.host.load(Ordering::Relaxed);
    let done = match tray::on_close(&desktop.calls.view(), host) {
        OnClose::Close => return,
        OnClose::Hide => {
            api.prevent_close();
            window.hide()
        }
        OnClose::Minimise => {
            api.prevent_close();
            window.minimize()
        }
    };
    if let Err(e) = done {
        tracing::warn!("window not put away: {e}");
    }
    tracing::info!("window closed during a call: the call goes on (tray host: {host})");
    if !tray.told.swap(true, Ordering::Relaxed) {
        shell::post(app, &tray::still_in_call(host));
    }
}
