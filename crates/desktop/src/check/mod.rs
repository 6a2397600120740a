//! The pre-call check on the join screen: is the server reachable and how
//! far, does the profile's token source answer, which transport a call
//! would use (a short test join), does the microphone pick anything up,
//! and a test sound on the speaker. Each is a line with a verdict and
//! advice; the lines go to the [`CheckShell`] as they are found.
//!
//! The test join leaves nothing behind: a profile that signs its own
//! tokens joins a room of its own that no one else is in; one that is
//! given tokens joins the room typed (that is all it may be allowed) under
//! the name "… (connection check)", publishes nothing, and leaves as soon
//! as the path is known, so others see at most a moment's participant. A
//! pasted token is the person's own identity: no test join with it (one
//! would take their place in a call joined meanwhile).

mod verdicts;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtcstack::check::{server_round_trip, test_join};
use rtcstack::CallOptions;
use serde::Serialize;
use ts_rs::TS;

use crate::audio::Audio;
use crate::call::join::{display_name, identity, room_to_join};
use crate::call::JoinRequest;
use crate::profiles::tokens::{self, TokenSourceError};
use crate::profiles::{ProfileKind, Profiles};
pub use verdicts::{CheckItem, CheckLine, Verdict};

/// How long the server may take to answer: "not reachable" within 5 s.
const SERVER_WITHIN: Duration = Duration::from_secs(4);
/// The test join, from its first packet to media flowing, and each of
/// its steps.
const JOIN_WITHIN: Duration = Duration::from_secs(15);
const JOIN_STEP: Duration = Duration::from_secs(10);
/// The test sound, its device opened again if it stalls.
const SOUND_WITHIN: Duration = Duration::from_secs(6);
/// How long the microphone is listened to.
const LISTEN: Duration = Duration::from_secs(2);

/// The check as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CheckView {
    pub running: bool,
    /// Started by a failed join, not by the person.
    pub automatic: bool,
    pub lines: Vec<CheckLine>,
    /// Once done: no line failed (warnings allowed).
    pub passed: Option<bool>,
}

/// Where the check's news goes (the window).
pub trait CheckShell: Send + Sync + 'static {
    fn check(&self, view: &CheckView);
}

pub struct Checker {
    profiles: Arc<Profiles>,
    audio: Arc<Audio>,
    shell: Arc<dyn CheckShell>,
    view: Mutex<CheckView>,
    /// One check at a time: a second press waits for the first's answer.
    running: tokio::sync::Mutex<()>,
}

impl Checker {
    pub fn new(profiles: Arc<Profiles>, audio: Arc<Audio>, shell: Arc<dyn CheckShell>) -> Self {
        Checker {
            profiles,
            audio,
            shell,
            view: Mutex::default(),
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn view(&self) -> CheckView {
        self.view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn change(&self, change: impl FnOnce(&mut CheckView)) {
        let mut v = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut v);
        self.shell.check(&v);
    }

    fn found(&self, found: CheckLine) {
        self.change(|v| {
            if let Some(l) = v.lines.iter_mut().find(|l| l.item == found.item) {
                *l = found;
            }
        });
    }

    /// Forgets a check a failed join started: a new join makes its lines
    /// stale (they speak of the last address and error, not this one).
    /// A check the person asked for stays.
    pub fn forget_automatic(&self) {
        self.change(|v| {
            if v.automatic {
                *v = CheckView::default();
            }
        });
    }

    /// Runs the check for what the join form holds; answers the finished
    /// view. The audio lines run beside the network ones.
    pub async fn run(&self, form: JoinRequest, automatic: bool) -> CheckView {
        let _one = self.running.lock().await;
        self.change(|v| {
            *v = CheckView {
                running: true,
                automatic,
                lines: verdicts::checking(),
                passed: None,
            }
        });
        // Listened to before the test sound plays: a laptop's microphone
        // hears its speaker, and that is not the person.
        // A check that starts itself plays no sound unasked.
        let audio = async {
            let heard = self.audio.listen(LISTEN).await;
            self.found(verdicts::microphone(&heard));
            self.found(if automatic {
                verdicts::speaker_not_asked()
            } else {
                let played = tokio::time::timeout(SOUND_WITHIN, self.audio.play_test_sound())
                    .await
                    .unwrap_or_else(|_| Err("the speaker did not play within 6 s".into()));
                verdicts::speaker(played)
            });
        };
        tokio::join!(self.network(form), audio);
        self.change(|v| {
            v.running = false;
            v.passed = Some(v.lines.iter().all(|l| l.verdict != Verdict::Failed));
        });
        self.view()
    }

    /// The server, the token source and the test join, in that order.
    async fn network(&self, form: JoinRequest) {
        let url = form.url.trim().to_string();
        let reach = server_round_trip(&url, SERVER_WITHIN).await;
        let reachable = reach.is_ok();
        self.found(verdicts::server(reach, SERVER_WITHIN));

        let profile = match self.profiles.resolve(form.profile.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                self.found(verdicts::token(
                    ProfileKind::SelfHosted,
                    &Err(TokenSourceError::Unusable(e.into_sentence())),
                ));
                self.found(verdicts::transport_skipped("check.skippedNoToken"));
                return;
            }
        };
        let kind = profile.info.kind;
        let room = check_room(&profile, form.room.trim());
        let person = display_name(&form.name);
        let name = format!("{person} (connection check)");
        let id = format!("{}-check", identity(&person));
        let asked = Instant::now();
        let got = tokens::for_call(profile, &room, &name, &id).await;
        let got = got.map(|t| (asked.elapsed(), t));
        self.found(verdicts::token(
            kind,
            &got.as_ref().map(|(took, _)| *took).map_err(Clone::clone),
        ));
        let Ok((_, got)) = got else {
            self.found(verdicts::transport_skipped("check.skippedNoToken"));
            return;
        };
        if !reachable {
            self.found(verdicts::transport_skipped("check.skippedUnreachable"));
            return;
        }
        if kind == ProfileKind::PastedToken {
            // Its identity is the person's own: a test join would take
            // their place in a call they join meanwhile.
            self.found(verdicts::transport_skipped("check.skippedPasted"));
            return;
        }
        let mut options = CallOptions::new(url, got.token.expose());
        // Each step's own deadline within the whole join's, so a step that
        // times out is left (the call says goodbye), not dropped.
        options.connect_timeout = JOIN_STEP;
        let joined = match tokio::time::timeout(JOIN_WITHIN, test_join(options)).await {
            Ok(joined) => joined,
            Err(_) => Err(rtcstack::ConnectError::Timeout(JOIN_WITHIN)),
        };
        self.found(verdicts::transport(joined));
    }
}

/// The room the test join goes to: a room of its own when the profile
/// signs its tokens (no one sees the check), else the one the join would
/// use (a pasted token's own room, or the one typed), or a room of its own
/// when none is typed.
fn check_room(profile: &crate::profiles::Resolved, typed: &str) -> String {
    let own = || format!("rtcstack-check-{}", identity("room"));
    if profile.info.kind == ProfileKind::SelfHosted {
        return own();
    }
    match room_to_join(profile, typed.to_string()) {
        Ok((room, _)) => room,
        Err(_) => own(),
    }
}
