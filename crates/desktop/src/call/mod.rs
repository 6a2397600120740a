//! The app's call: join, leave, mute, retry, devices, and the OS's hints.
//! [`CallController`] orchestrates `rtcstack` with plain async methods; the
//! call's events are folded into a [`CallView`] that goes to the [`Shell`]
//! (the window) on every change, with the notifications worth showing.

mod batch;
mod camera;
mod end_message;
mod gone;
pub(crate) mod join;
mod notification;
mod stats;
mod view;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtcstack::rates::Rates;

use crate::i18n::Sentence;
use rtcstack::video::screen::{self, Screen, ShareTarget, Shareable};
use rtcstack::video::VideoSource;
use rtcstack::{Call, CallEvent, CallOptions, ConnectionState};
use tokio::sync::mpsc;

pub use end_message::end_message;
pub use join::{JoinError, JoinRequest};
pub use notification::Notification;
pub use stats::{ConnectionRow, QualityReason, StatsView, StreamRow};
pub use view::CallView;

use crate::audio::{Audio, AudioShell};
use crate::check::CheckShell;
use crate::hint::Hint;
use crate::profiles::tokens::{self, TokenSourceError};
use crate::profiles::{ProfileError, Profiles};
use crate::report::{Happened, Journal};
use crate::update::UpdateGate;
use crate::video::{TileSize, Videos};
use join::{clause, join_error, room_to_join};

/// Where the controller's news goes: the desktop shell (a window), or a
/// test. Called on the call's task, in order; must not block.
pub trait Shell: AudioShell + CheckShell {
    /// The view changed: show it.
    fn show(&self, view: &CallView);
    /// Something to tell a user who may be looking at another window.
    fn notify(&self, notification: &Notification);
    /// The call's statistics, once a second during a call.
    fn stats(&self, stats: &StatsView);
}

/// The view, and the one way to change it: every change is stamped and
/// shown, in order.
struct Published {
    view: Mutex<CallView>,
    shell: Arc<dyn Shell>,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Published {
    fn lock(&self) -> std::sync::MutexGuard<'_, CallView> {
        // Every change is whole before the lock is let go.
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the view and shows it. Shown under the lock, so two
    /// changes reach the shell in the order they were made.
    fn change(&self, change: impl FnOnce(&mut CallView)) {
        let mut v = self.lock();
        change(&mut v);
        v.seq += 1;
        v.sent_at_ms = now_ms();
        self.shell.show(&v);
    }

    fn snapshot(&self) -> CallView {
        self.lock().clone()
    }
}

/// The call's devices close. Off the async threads: the audio's lock may
/// be held while a device opens (seconds), and a waiting worker stalls the
/// tasks queued behind it.
async fn ended(audio: &Arc<Audio>) {
    let audio = Arc::clone(audio);
    let _ = tokio::task::spawn_blocking(move || audio.call_ended()).await;
}

/// The call the app is in, if any, and everything a join needs.
pub struct CallController {
    profiles: Arc<Profiles>,
    gate: UpdateGate,
    published: Arc<Published>,
    call: Mutex<Option<Arc<Call>>>,
    audio: Arc<Audio>,
    /// The call's remote video, for the window to draw.
    videos: Arc<Videos>,
    /// Joins and leaves run one at a time: a Leave clicked during a join
    /// waits for it and then leaves, instead of missing the call.
    op: tokio::sync::Mutex<()>,
    /// Which join the view belongs to: a replaced call's late events are
    /// not this call's news.
    generation: Arc<AtomicU64>,
    /// The user's mute wish, held across joins and rejoins (each new call
    /// starts with it). What the view shows is what the server confirms.
    muted: AtomicBool,
    /// The call report's timeline.
    journal: Journal,
    /// Which share is the latest asked for: a window that closes ends its
    /// own share only, not one picked since.
    shares: AtomicU64,
    /// The same for the camera: one that goes away turns off only itself.
    cameras_asked: AtomicU64,
    /// The published camera video's input, to let its device go on mute
    /// and put one in again (the call's; dead once the call drops it).
    camera_switch: Mutex<Option<(std::sync::Weak<Call>, rtcstack::video::VideoSwitch)>>,
}

impl CallController {
    pub fn new(
        profiles: Arc<Profiles>,
        gate: UpdateGate,
        audio: Arc<Audio>,
        videos: Arc<Videos>,
        journal: Journal,
        shell: Arc<dyn Shell>,
    ) -> Self {
        CallController {
            profiles,
            gate,
            published: Arc::new(Published {
                view: Mutex::new(CallView::default()),
                shell,
            }),
            call: Mutex::default(),
            videos,
            audio,
            op: tokio::sync::Mutex::new(()),
            generation: Arc::new(AtomicU64::new(0)),
            muted: AtomicBool::new(false),
            journal,
            shares: AtomicU64::new(0),
            cameras_asked: AtomicU64::new(0),
            camera_switch: Mutex::default(),
        }
    }

    fn current(&self) -> Option<Arc<Call>> {
        self.call
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn take_call(&self) -> Option<Arc<Call>> {
        self.call
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The view as it is now (for a UI that has just loaded).
    pub fn view(&self) -> CallView {
        self.published.snapshot()
    }

    /// The server URL of the call in progress (the network monitor
    /// watches the path to it).
    pub fn server_url(&self) -> Option<String> {
        self.current().map(|call| call.url().to_string())
    }

    /// Joins a room, leaving the current call first. The view goes to the
    /// shell as the call's events come; the result only says whether the
    /// join was refused, and why.
    pub async fn join(&self, request: JoinRequest) -> Result<(), JoinError> {
        let name = join::display_name(&request.name);
        let profile = self
            .profiles
            .resolve(request.profile.as_deref())
            .await
            .map_err(|e| match e {
                ProfileError::Keychain(s) => JoinError::Keychain(s),
                ProfileError::Invalid(s) => JoinError::NotConfigured(s),
                ProfileError::Storage(m) => JoinError::NotConfigured(m),
            })?;
        // Decided before anything changes: a join refused here leaves the
        // current call as it is.
        let (room, room_notice) = room_to_join(&profile, request.room.trim().to_string())?;
        let _op = self.op.lock().await;
        if let Some(old) = self.take_call() {
            old.leave().await;
            self.gate.call_ended();
            ended(&self.audio).await;
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.journal.start(generation, &room, &request.url);
        let identity = join::identity(&name);
        let got = tokens::for_call(profile, &room, &name, &identity)
            .await
            .map_err(|e| match e {
                TokenSourceError::SignInAgain(m) => JoinError::SignInAgain(m),
                TokenSourceError::Service(m) => JoinError::TokenService(m),
                TokenSourceError::Unusable(m) => JoinError::Rejected(m),
            })
            .inspect_err(|e| self.journal_failed(e))?;
        let mut notices: Vec<Sentence> = room_notice.into_iter().collect();
        // The SDK takes the token's text: the one place it leaves us.
        let mut options = CallOptions::new(request.url.trim(), got.token.expose());
        if let Some(deadline) = reconnect_deadline() {
            options.reconnect_policy.deadline = deadline;
        }
        // Devices open here, and the audio's lock may be held while
        // another opens: off the async threads.
        let audio = Arc::clone(&self.audio);
        let devices = tokio::task::spawn_blocking(move || audio.for_call())
            .await
            .unwrap_or(crate::audio::CallAudio {
                input: None,
                output: None,
            });
        // Without a speaker the call keeps CallOptions' silent sink.
        match devices.output {
            Some(s) => options.audio_sink = s,
            None => notices.push(Sentence::new("notice.noSpeaker")),
        }
        // A new call's pictures only.
        self.videos.clear();
        options.video_sink = Arc::clone(&self.videos) as Arc<dyn rtcstack::video::VideoSink>;
        let token_refreshable = got.refresher.is_some();
        options.token_refresher = got.refresher;
        let (call, events) = Call::new(options);
        let call = Arc::new(call);
        call.set_muted(self.muted.load(Ordering::SeqCst)).await;
        {
            // Not shown yet: the call's first event shows it, so the page
            // never flashes an idle form between two calls.
            let mut v = self.published.lock();
            *v = CallView {
                room: Some(room),
                token_refreshable,
                // Shown from the start, so it does not push the call's
                // controls down later.
                notices: notices.clone(),
                seq: v.seq,
                ..Default::default()
            };
        }
        // Stored now, so a mute during the join reaches this call.
        *self.call.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&call));
        self.gate.call_started();
        tokio::spawn(follow_call(
            events,
            Arc::clone(&call),
            Arc::clone(&self.published),
            self.gate.clone(),
            Arc::clone(&self.audio),
            self.journal.clone(),
            generation,
            Arc::clone(&self.generation),
        ));
        if let Err(e) = call.connect().await {
            self.take_call();
            self.gate.call_ended();
            ended(&self.audio).await;
            let e = join_error(e);
            self.journal_failed(&e);
            return Err(e);
        }
        match devices.input {
            Some(mic) => {
                if let Err(e) = call.publish_audio(mic).await {
                    notices.push(Sentence::new("notice.micNotSent").with("why", clause(&e)));
                }
            }
            None => notices.push(Sentence::new("notice.listeningOnly")),
        }
        self.published.change(|v| v.notices = notices);
        tokio::spawn(follow_stats(
            call,
            Arc::clone(&self.published),
            generation,
            Arc::clone(&self.generation),
        ));
        Ok(())
    }

    /// A join that did not happen, in the report in the form's words.
    fn journal_failed(&self, e: &JoinError) {
        self.journal.note_for(
            self.generation.load(Ordering::SeqCst),
            Happened::JoinFailed {
                reason: e.to_string(),
            },
        );
    }

    /// The report of the current or last call, saved into `dir`: its path,
    /// or why not.
    pub fn save_report(&self, dir: &std::path::Path) -> Result<std::path::PathBuf, Sentence> {
        self.journal.save(dir)
    }

    pub async fn leave(&self) {
        let _op = self.op.lock().await;
        // After any join in progress: the Leave is that call's.
        self.journal.note(Happened::LeaveRequested);
        if let Some(call) = self.take_call() {
            call.leave().await;
        }
        self.gate.call_ended();
        ended(&self.audio).await;
    }

    /// Mutes or unmutes; a call joined later starts the same way. The view
    /// says "muted" once the server confirms it; it is shown again now, so
    /// the page knows the press was taken.
    pub async fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::SeqCst);
        self.journal.note(Happened::Muted { muted });
        self.audio.set_muted(muted);
        if let Some(call) = self.current() {
            call.set_muted(muted).await;
        }
        self.published.change(|_| {});
    }

    /// Muted as last asked (the view's `muted` is what the server confirmed).
    pub fn is_muted(&self) -> bool {
        self.muted.load(Ordering::SeqCst)
    }

    /// The push-to-talk key holds the microphone open (or no longer).
    pub fn set_talking(&self, talking: bool) {
        if self.published.snapshot().talking != talking {
            self.published.change(|v| v.talking = talking);
        }
    }

    /// How large the window draws a remote video, or that it does not:
    /// the server sends the layer that fits, or pauses it.
    pub async fn show_video(&self, track_sid: &str, size: Option<TileSize>) {
        if let Some(call) = self.current() {
            call.show_video(track_sid, TileSize::view(size)).await;
        }
    }

    /// What can be shared now: the whole screen, each monitor where there
    /// are several, then other applications' windows.
    pub async fn shareables(&self) -> Result<Vec<Shareable>, Sentence> {
        tokio::task::spawn_blocking(screen::shareables)
            .await
            .map_err(Sentence::plain)?
            .map_err(|e| Sentence::new("share.nothing").with_sentence("why", screen_trouble(e)))
    }

    /// Shares `target` (the screen, a monitor or a window) into the call,
    /// instead of what is shared now, or stops sharing (`None`); the view
    /// says so once done. The error says why not (no call, not on this
    /// system yet, the display not readable, the window or monitor gone).
    /// A shared window that closes, or monitor that goes, ends its share,
    /// as Stop sharing does.
    pub async fn share_screen(
        self: &Arc<Self>,
        target: Option<ShareTarget>,
    ) -> Result<(), Sentence> {
        let share = self.shares.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(call) = self.current() else {
            return Err(Sentence::new("share.notInCall"));
        };
        let sharing = self.published.snapshot().sharing;
        if target.is_none() && !sharing {
            return Ok(());
        }
        // Opened before anything stops: a refusal leaves the share as it was.
        let screen = match target {
            Some(target) => {
                match tokio::task::spawn_blocking(move || Screen::open(target, SHARE_FPS))
                    .await
                    .map_err(Sentence::plain)?
                {
                    Ok(screen) => Some(screen),
                    // Cancelled in the desktop's dialog: nothing to say.
                    Err(screen::ScreenError::Cancelled) => return Ok(()),
                    Err(e) => {
                        return Err(
                            Sentence::new("share.cannot").with_sentence("why", screen_trouble(e))
                        )
                    }
                }
            }
            None => None,
        };
        if sharing {
            call.stop_video(VideoSource::Screen)
                .await
                .map_err(|e| Sentence::new("share.notStopped").with("why", e))?;
        }
        let Some(screen) = screen else {
            self.still_sharing(&call, false);
            return Ok(());
        };
        self.off_when_gone(
            screen.end(),
            (|c| &c.shares, share),
            (Arc::clone(&call), VideoSource::Screen),
            |me, call| me.still_sharing(call, false),
        );
        let shared = call
            .publish_video(Box::new(screen), VideoSource::Screen)
            .await;
        self.still_sharing(&call, shared.is_ok());
        shared
            .map(|_| ())
            .map_err(|e| Sentence::new("share.failed").with("why", e))
    }

    /// Says whether `call` shares now, if it is still the call: a join
    /// meanwhile starts unshared.
    fn still_sharing(&self, call: &Arc<Call>, sharing: bool) {
        if self.current().is_some_and(|c| Arc::ptr_eq(&c, call)) {
            if self.published.snapshot().sharing != sharing {
                self.journal.note(Happened::Video {
                    source: "screen".into(),
                    on: sharing,
                });
            }
            self.published.change(|v| v.sharing = sharing);
        }
    }

    /// The waiting reconnect attempt starts now.
    pub fn retry_now(&self) {
        if let Some(call) = self.current() {
            call.retry_now();
        }
    }

    /// An OS hint for the call in progress, if any.
    pub fn hint(&self, hint: Hint) {
        let Some(call) = self.current() else {
            tracing::debug!("os hint {hint:?}: no call");
            return;
        };
        tracing::info!("os hint {hint:?} → the call");
        self.journal.note(Happened::Hint {
            hint: hint.word().to_string(),
        });
        match hint {
            Hint::Sleep => call.sleeping(),
            Hint::Wake => call.woke(),
            Hint::NetworkChanged => call.network_changed(),
        }
    }
}

/// Loss and bitrate are rates over this long: audio sends 50 packets a
/// second, and losses are counted once a second (receiver reports), so at
/// 10 % loss a 5 s window read 6.4-9.9 %; 10 s halves that swing.
const STATS_WINDOW: Duration = Duration::from_secs(10);
/// A shared screen's pictures a second: text stays sharp, motion is not
/// the point, and reading a whole screen costs.
const SHARE_FPS: u32 = 10;

/// Reads one call's statistics once a second: the stats panel, and the
/// reasons behind the qualities, until the call ends or a newer join
/// takes over.
async fn follow_stats(
    call: Arc<Call>,
    published: Arc<Published>,
    generation: u64,
    current: Arc<AtomicU64>,
) {
    let mut rates = Rates::new(STATS_WINDOW);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if current.load(Ordering::SeqCst) != generation
            || call.connection_state() == ConnectionState::Disconnected
        {
            return;
        }
        if call.connection_state() != ConnectionState::Connected {
            // An outage's lost packets are the banner's news: counted in
            // the rates, a call back to Excellent read "79 % packet loss"
            // for the next 10 s. The window starts again once it is back,
            // for a stream we receive once it flows again.
            rates.restart();
            continue;
        }
        // Between sessions (mid-rejoin) there is nothing to read.
        let Some(counters) = call.counters().await else {
            continue;
        };
        // A join or leave while the statistics were read: not ours to show.
        if current.load(Ordering::SeqCst) != generation {
            return;
        }
        let now = rates.push(&counters);
        let view = published.snapshot();
        let us = view.local.as_ref().map_or("", |p| p.identity.as_str());
        let (panel, reasons) = stats::view_of(&counters, &now, &view.participants, us);
        published.shell.stats(&panel);
        if view.reasons != reasons {
            published.change(|v| v.reasons = reasons);
        }
    }
}

/// Follows one call's events: each is folded into the view and shown (news
/// of the room's people in batches, see [`batch`]), with a notification
/// when it deserves one, until the call ends or a newer join takes over.
#[allow(clippy::too_many_arguments)] // one call's followers, each its own owner
async fn follow_call(
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    call: Arc<Call>,
    published: Arc<Published>,
    gate: UpdateGate,
    audio: Arc<Audio>,
    journal: Journal,
    generation: u64,
    current: Arc<AtomicU64>,
) {
    let mut batches = batch::Batches::default();
    while let Some(batch) = batches.next(&mut events).await {
        if current.load(Ordering::SeqCst) != generation {
            break; // a newer join owns the view and the gate now
        }
        for event in &batch {
            journal.event(generation, event);
            if matches!(event, CallEvent::Connected | CallEvent::Reconnected { .. }) {
                // Which path the media took this time (UDP, TCP; which address).
                let call = Arc::clone(&call);
                let journal = journal.clone();
                let published = Arc::clone(&published);
                let current = Arc::clone(&current);
                tokio::spawn(async move {
                    if let Some(p) = call.media_paths().await {
                        if current.load(Ordering::SeqCst) == generation {
                            let words = stats::path_notice(&p);
                            if published.snapshot().path_notice != words {
                                published.change(|v| v.path_notice = words);
                            }
                        }
                        journal.note_for(
                            generation,
                            Happened::Path {
                                publisher: p.publisher.as_ref().map(stats::path_words),
                                subscriber: p.subscriber.as_ref().map(stats::path_words),
                            },
                        );
                    }
                });
            }
        }
        published.change(|v| {
            let now = now_ms() as u64;
            for event in &batch {
                v.apply(event, now);
            }
        });
        for event in &batch {
            if let Some(n) = notification::for_event(event) {
                published.shell.notify(&n);
            }
        }
        if batch
            .iter()
            .any(|e| matches!(e, CallEvent::Disconnected { .. }))
        {
            gate.call_ended();
            ended(&audio).await;
            break;
        }
    }
}

/// Why the screen cannot be shared, in the page's language (the system's
/// own reason kept as it is).
fn screen_trouble(e: screen::ScreenError) -> Sentence {
    use screen::ScreenError as E;
    match e {
        E::NoDisplay(why) => Sentence::new("share.noDisplay").with("why", why),
        E::Unsupported(why) => Sentence::new("share.unsupported").with("why", why),
        E::Window(why) => Sentence::new("share.window").with("why", why),
        E::Monitor(why) => Sentence::new("share.monitorNot").with("why", why),
        E::MonitorGone => Sentence::new("share.monitorGone"),
        E::NotAllowed => Sentence::new("share.notAllowed"),
        E::Cancelled => Sentence::new("share.cancelled"),
    }
}

/// `RTCSTACK_RECONNECT_DEADLINE_SECS` (tests and development only): how long
/// an outage lasts before the call gives up, instead of the policy's 60 s.
fn reconnect_deadline() -> Option<std::time::Duration> {
    crate::dev_overrides::secs("RTCSTACK_RECONNECT_DEADLINE_SECS")
}
