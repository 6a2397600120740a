//! RTCstack Desktop without its window: everything the app does that needs
//! no Tauri. The desktop shell (`src-tauri`) makes one [`Desktop`], turns
//! each IPC command into one call on it, and shows what its [`Shell`]
//! hears; tests drive it the same way with no window at all.
//!
//! - [`ipc`]: every command and event between the window and Rust, by
//!   name and type (written to the UI as `generated/ipc.ts`);
//! - [`audio`]: devices chosen and in use, hot-plug, processing settings,
//!   the microphone's level;
//! - [`check`]: the pre-call check on the join screen;
//! - [`call`]: the call controller (join, leave, mute, devices, the OS's
//!   hints) and the view the UI renders;
//! - [`profiles`]: where tokens come from, secrets in the OS keychain;
//! - [`hint`], [`monitors`], `power`, `network`: sleep/wake and network
//!   changes, per OS;
//! - [`update`]: the update gate, status and provenance;
//! - [`secret`]: the one type for tokens, credentials and API secrets;
//! - [`report`]: the call report, the call's timeline in a file;
//! - [`language`]: the language the app speaks, chosen or the system's;
//! - [`i18n`]: the words in each language, one set for Rust and the page;
//! - [`links`]: meeting links (`rtcstack://join?…`) and what they may do;
//! - [`push_to_talk`]: the key held to talk while muted, and its rule;
//! - [`tray`]: the tray icon's words and pictures, and what closing the
//!   window does during a call;
//! - [`redact`]: the log's last line of defence;
//! - `dev_overrides`: timings the tests shorten through the environment.

pub mod audio;
pub mod call;
pub mod check;
mod dev_overrides;
pub mod hint;
pub mod i18n;
pub mod ipc;
pub mod language;
pub mod links;
pub mod monitors;
mod network;
mod power;
pub mod profiles;
pub mod push_to_talk;
pub mod redact;
pub mod report;
pub mod secret;
pub mod settings_file;
pub mod tray;
pub mod update;
pub mod video;

use std::path::Path;
use std::sync::Arc;

pub use audio::{Audio, AudioShell};
pub use call::{CallController, JoinError, JoinRequest, Shell};
pub use check::{CheckShell, CheckView, Checker};
pub use profiles::{EnvProfile, Profiles};
pub use update::UpdateGate;

/// The app's state: one call controller, the profiles, the update gate.
pub struct Desktop {
    pub calls: Arc<CallController>,
    pub checks: Arc<Checker>,
    pub audio: Arc<Audio>,
    pub profiles: Arc<Profiles>,
    pub gate: UpdateGate,
    pub videos: Arc<video::Videos>,
    /// Where the page takes the videos from.
    pub video_socket: Arc<video::VideoSocket>,
    pub push_to_talk: Arc<push_to_talk::PushToTalk>,
    pub language: Arc<language::Language>,
    /// A link that came before the page was there to take it.
    pending_link: std::sync::Mutex<Option<links::LinkView>>,
}

/// A link's outcome for the log, without its contents.
fn link_kind(view: &links::LinkView) -> &'static str {
    match view {
        links::LinkView::Join { leaving: None, .. } => "join",
        links::LinkView::Join { .. } => "join, asking to leave the call first",
        links::LinkView::UnknownServer { .. } => "unknown server",
        links::LinkView::UnknownProfile { .. } => "unknown profile",
        links::LinkView::Unreadable { .. } => "unreadable",
    }
}

impl Desktop {
    /// Profiles live in `config_dir`, their secrets in the keychain.
    pub fn new(config_dir: &Path, env: Option<EnvProfile>, shell: Arc<dyn Shell>) -> Self {
        let profiles = Arc::new(Profiles::new(config_dir, env));
        let gate = UpdateGate::new();
        let journal = report::Journal::default();
        let audio = Arc::new(Audio::new(config_dir, shell.clone(), journal.clone()));
        let videos = Arc::new(video::Videos::new());
        let calls = Arc::new(CallController::new(
            Arc::clone(&profiles),
            gate.clone(),
            Arc::clone(&audio),
            Arc::clone(&videos),
            journal,
            shell.clone(),
        ));
        let push_to_talk = Arc::new(push_to_talk::PushToTalk::new(
            config_dir,
            Arc::clone(&calls),
        ));
        let checks = Arc::new(Checker::new(
            Arc::clone(&profiles),
            Arc::clone(&audio),
            shell,
        ));
        Desktop {
            calls,
            checks,
            audio,
            profiles,
            gate,
            video_socket: Arc::new(video::VideoSocket::new(Arc::clone(&videos))),
            videos,
            push_to_talk,
            language: Arc::new(language::Language::new(config_dir)),
            pending_link: std::sync::Mutex::new(None),
        }
    }

    /// What to do with a meeting link (the page does it, asking first
    /// where it must). Kept until the page takes it, in case it is not
    /// there yet.
    pub fn open_link(&self, link: &str) -> links::LinkView {
        let view = links::decide(link, &self.profiles.view().profiles, &self.calls.view());
        tracing::info!("link opened: {}", link_kind(&view));
        *self
            .pending_link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(view.clone());
        view
    }

    /// The link the page has not taken yet, if any.
    pub fn take_link(&self) -> Option<links::LinkView> {
        self.pending_link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Mutes or unmutes by hand (the button, the M key, the tray): a held
    /// push-to-talk key no longer decides.
    pub async fn set_muted(&self, muted: bool) {
        self.push_to_talk.by_hand();
        self.calls.set_muted(muted).await;
    }

    /// Joins a room; a join refused by the network or the server starts
    /// the pre-call check by itself, so the join screen says what is wrong
    /// beyond the one error.
    pub async fn join(&self, request: JoinRequest) -> Result<(), JoinError> {
        self.checks.forget_automatic();
        let joined = self.calls.join(request.clone()).await;
        if let Err(e) = &joined {
            if e.worth_a_check() {
                let checks = Arc::clone(&self.checks);
                tokio::spawn(async move { checks.run(request, true).await });
            }
        }
        joined
    }

    /// Starts the sleep/wake and network monitors, the device watch and
    /// the microphone's meter. Call inside a tokio runtime.
    pub fn start(&self) {
        monitors::start(Arc::clone(&self.calls));
        self.audio.start();
        self.push_to_talk.start();
        if let Err(err) = self.video_socket.start() {
            // Calls go on; the tiles show names instead of pictures.
            tracing::warn!("no video for the window: {err}");
        }
    }
}
