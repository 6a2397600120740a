//! Signed self-update: check on start and every few hours, tell the UI what
//! is on offer, hold it while a call is on, download it with progress,
//! refuse it loudly when it is not ours or not whole, and install it when
//! the user restarts.
//!
//! One concern a file: the gate (no update during a call), the status
//! (what the UI sees) and provenance (is the package ours) are in the
//! desktop core (`rtcstack_desktop_core::update`); here [`problem`] (the
//! updater's errors in words) and `os/<os>.rs` (how each OS installs). This
//! file only wires them to `tauri-plugin-updater` and to the app's commands.

mod problem;

#[cfg_attr(target_os = "linux", path = "os/linux.rs")]
#[cfg_attr(target_os = "macos", path = "os/macos.rs")]
#[cfg_attr(target_os = "windows", path = "os/windows.rs")]
mod os;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::Notify;

use rtcstack_desktop_core::i18n::Sentence;
use rtcstack_desktop_core::ipc;
use rtcstack_desktop_core::update::provenance;
pub use rtcstack_desktop_core::update::{ProblemKind, UpdateGate, UpdateStatus, UpdateView};

use problem::{explain, explain_provenance, Problem, Stage};

/// How often a running app looks for a new release.
const CHECK_EVERY: Duration = Duration::from_secs(6 * 60 * 60);
/// The manifest is small: a check that takes longer has failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// A download may be long, but not silent for this long.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A downloaded, verified update waiting for the user to restart.
struct Pending {
    update: Update,
    bytes: Vec<u8>,
}

/// The updater's state, managed by Tauri.
pub struct Updates {
    status: Mutex<UpdateView>,
    pending: Mutex<Option<Pending>>,
    check_now: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can leave the data half-written, so a poisoned lock is
    // still good to read.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `tauri-plugin-updater` plugin, configured from `plugins.updater` in
/// tauri.conf.json (public key, endpoints).
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

/// Registers the gate (shared with the call controller) and the updater
/// state, and starts checking if this copy of the app can update itself.
pub fn setup<R: Runtime>(app: &AppHandle<R>, gate: UpdateGate) {
    let current = current_version(app);
    let initial = match os::can_self_update() {
        Ok(()) => UpdateStatus::Idle { current },
        Err(reason) => UpdateStatus::Unavailable { current, reason },
    };
    let enabled = matches!(initial, UpdateStatus::Idle { .. });
    app.manage(gate);
    app.manage(Updates {
        status: Mutex::new(UpdateView::new(initial)),
        pending: Mutex::new(None),
        check_now: Notify::new(),
    });
    if enabled {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { check_forever(app).await });
    }
}

fn current_version<R: Runtime>(app: &AppHandle<R>) -> String {
    app.package_info().version.to_string()
}

fn set_status<R: Runtime>(app: &AppHandle<R>, status: UpdateStatus) {
    // Numbered under the lock: the page keeps the newest of what it hears.
    let view = lock(&app.state::<Updates>().status).change(status).clone();
    // No window (yet) to tell is not an error: the UI reads the status
    // with `update_status` when it loads.
    let _ = app.emit(ipc::event::UPDATE_STATUS, view);
}

fn fail<R: Runtime>(app: &AppHandle<R>, version: Option<String>, problem: Problem) {
    eprintln!("update: {}", problem.message);
    set_status(
        app,
        UpdateStatus::Failed {
            current: current_version(app),
            version,
            problem: problem.kind,
            message: problem.message,
        },
    );
}

async fn check_forever<R: Runtime>(app: AppHandle<R>) {
    loop {
        check_once(&app).await;
        let updates = app.state::<Updates>();
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = updates.check_now.notified() => {}
        }
    }
}

/// One check; when it finds an update, waits for any call to end and
/// downloads it.
async fn check_once<R: Runtime>(app: &AppHandle<R>) {
    let updates = app.state::<Updates>();
    if lock(&updates.status).status.busy() {
        return;
    }
    let current = current_version(app);
    set_status(
        app,
        UpdateStatus::Checking {
            current: current.clone(),
        },
    );
    let updater = match app
        .updater_builder()
        .timeout(CHECK_TIMEOUT)
        .configure_client(|c| {
            c.connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
        })
        .build()
    {
        Ok(u) => u,
        Err(e) => return fail(app, None, explain(&e, Stage::Check, &current, None)),
    };
    let update = match updater.check().await {
        Ok(Some(update)) => update,
        Ok(None) => return set_status(app, UpdateStatus::UpToDate { current }),
        Err(e) => return fail(app, None, explain(&e, Stage::Check, &current, None)),
    };
    let version = update.version.clone();
    let notes = update.body.clone().unwrap_or_default();
    let product = app.package_info().name.clone();
    if let Err(e) = provenance::check(&update.signature, &product) {
        let problem = explain_provenance(&e, &product, &current, &version);
        return fail(app, Some(version), problem);
    }

    let gate = app.state::<UpdateGate>();
    if gate.call_active() {
        set_status(
            app,
            UpdateStatus::WaitingForCall {
                current: current.clone(),
                version: version.clone(),
                notes: notes.clone(),
            },
        );
        gate.wait_until_no_call().await;
    }

    match download(app, &update, &current, &notes).await {
        Ok(bytes) => {
            *lock(&updates.pending) = Some(Pending { update, bytes });
            set_status(
                app,
                UpdateStatus::Ready {
                    current,
                    version,
                    notes,
                    action: Sentence::new(os::APPLY_LABEL),
                },
            );
        }
        Err(problem) => fail(app, Some(version), problem),
    }
}

/// Downloads and verifies (signature, signed version) the update, telling
/// the UI how far it got.
async fn download<R: Runtime>(
    app: &AppHandle<R>,
    update: &Update,
    current: &str,
    notes: &str,
) -> Result<Vec<u8>, Problem> {
    let progress = Arc::new(Mutex::new((0u64, None::<u64>)));
    let downloading = |received, total| UpdateStatus::Downloading {
        current: current.to_string(),
        version: update.version.clone(),
        notes: notes.to_string(),
        received,
        total,
    };
    set_status(app, downloading(0, None));
    let mut last_percent = None;
    let result = update
        .download(
            |chunk, total| {
                let (received, total) = {
                    let mut p = lock(&progress);
                    p.0 += chunk as u64;
                    p.1 = total;
                    *p
                };
                // One event per percent, not one per chunk.
                let percent = total.map(|t| received.saturating_mul(100) / t.max(1));
                if percent != last_percent || total.is_none() {
                    last_percent = percent;
                    set_status(app, downloading(received, total));
                }
            },
            || {},
        )
        .await;
    result.map_err(|e| {
        let (received, total) = *lock(&progress);
        explain(
            &e,
            Stage::Download { received, total },
            current,
            Some(&update.version),
        )
    })
}

/// The updater's current status, for the UI when it loads.
#[tauri::command]
pub fn update_status(updates: State<'_, Updates>) -> UpdateView {
    lock(&updates.status).clone()
}

/// Looks for an update now (the "Check for updates" button).
#[tauri::command]
pub fn update_check(updates: State<'_, Updates>) {
    updates.check_now.notify_one();
}

/// Installs the downloaded update and restarts the app into it. Refused
/// while a call is on.
#[tauri::command]
pub async fn update_apply<R: Runtime>(app: AppHandle<R>) -> Result<(), Sentence> {
    if app.state::<UpdateGate>().call_active() {
        return Err(Sentence::new("update.refusedInCall"));
    }
    let Some(pending) = lock(&app.state::<Updates>().pending).take() else {
        return Err(Sentence::new("update.noneReady"));
    };
    let current = current_version(&app);
    let version = pending.update.version.clone();
    set_status(
        &app,
        UpdateStatus::Installing {
            current: current.clone(),
            version: version.clone(),
        },
    );
    let installed =
        // On Windows this starts the installer and exits the app; elsewhere
        // it returns once installed (see os::RESTART_AFTER_INSTALL).
        tauri::async_runtime::spawn_blocking(move || pending.update.install(&pending.bytes))
            .await;
    let problem = match installed {
        Ok(Ok(())) => {
            if os::RESTART_AFTER_INSTALL {
                app.restart();
            }
            return Ok(());
        }
        Ok(Err(e)) => explain(&e, Stage::Install, &current, Some(&version)),
        Err(e) => Problem {
            kind: ProblemKind::InstallFailed,
            message: problem::staying(
                Sentence::new("updateProblem.installerStopped").with("why", e),
                &current,
                Some(&version),
            ),
        },
    };
    let message = problem.message.clone();
    fail(&app, Some(version), problem);
    Err(message)
}

/// Test hook: "a call has started", for the end-to-end update test until
/// the call code drives the gate. Only in builds with `--features test-hooks`.
#[cfg(feature = "test-hooks")]
#[tauri::command]
pub fn test_call_started(gate: State<'_, UpdateGate>) {
    gate.call_started();
}

/// Test hook: "the call has ended". Only with `--features test-hooks`.
#[cfg(feature = "test-hooks")]
#[tauri::command]
pub fn test_call_ended(gate: State<'_, UpdateGate>) {
    gate.call_ended();
}
