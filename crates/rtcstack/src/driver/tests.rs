//! The driver with a scripted engine on tokio's paused clock: attempts
//! started, aborted and credited, refreshes replaced, leave and rejoin, all
//! in virtual time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use livekit_api::access_token::{AccessToken, VideoGrants};

use super::*;
use crate::audio::io::AudioInput;
use crate::supervisor::{LeaveAction, ReconnectPolicy};

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

fn token(ttl: Duration) -> String {
    AccessToken::with_api_key("key", "test-secret-test-secret-test-secret-0123")
        .with_identity("alice")
        .with_ttl(ttl)
        .with_grants(VideoGrants {
            room_join: true,
            room: "r".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap()
}

/// How a scripted join or resume ends.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// Succeeds after 100 ms.
    Ok,
    /// Fails after 100 ms.
    Fail,
    /// Never answers.
    Hang,
}

/// What the fake engine did, with the virtual time since the start.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Duration, String)>>>);

impl Log {
    fn push(&self, start: tokio::time::Instant, what: String) {
        self.0.lock().unwrap().push((start.elapsed(), what));
    }
    fn entries(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, w)| w.clone())
            .collect()
    }
}

#[derive(Default)]
struct Script {
    joins: VecDeque<Outcome>,
    resumes: VecDeque<Outcome>,
}

struct Fake {
    start: tokio::time::Instant,
    log: Log,
    script: Arc<Mutex<Script>>,
    next_id: AtomicU64,
}

async fn play(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Ok => {
            tokio::time::sleep(MS(100)).await;
            true
        }
        Outcome::Fail => {
            tokio::time::sleep(MS(100)).await;
            false
        }
        Outcome::Hang => std::future::pending().await,
    }
}

impl Engine for Fake {
    type Session = FakeSession;

    async fn join(
        &self,
        _token: &str,
        _previous: Option<&RoomState>,
    ) -> Result<FakeSession, ConnectError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.log.push(self.start, format!("join {id}"));
        let outcome = self
            .script
            .lock()
            .unwrap()
            .joins
            .pop_front()
            .unwrap_or(Outcome::Ok);
        if !play(outcome).await {
            return Err(ConnectError::Timeout(S(10)));
        }
        Ok(FakeSession {
            id,
            start: self.start,
            log: self.log.clone(),
            script: Arc::clone(&self.script),
        })
    }

    async fn until_reachable(&self) {}
}

struct FakeSession {
    id: u64,
    start: tokio::time::Instant,
    log: Log,
    script: Arc<Mutex<Script>>,
}

impl Joined for FakeSession {
    fn id(&self) -> u64 {
        self.id
    }
    async fn resume(&self, _now: SystemTime) -> Result<(), AttemptError> {
        self.log.push(self.start, format!("resume {}", self.id));
        let outcome = self
            .script
            .lock()
            .unwrap()
            .resumes
            .pop_front()
            .unwrap_or(Outcome::Ok);
        match play(outcome).await {
            true => Ok(()),
            false => Err(AttemptError::Retryable),
        }
    }
    async fn publish_audio(&self, _input: Box<dyn AudioInput>) -> Result<String, ConnectError> {
        self.log.push(self.start, format!("publish {}", self.id));
        Ok(format!("TR_{}", self.id))
    }
    async fn publish_video(
        &self,
        _input: crate::video::io::SharedVideoInput,
        _source: crate::video::io::VideoSource,
    ) -> Result<String, ConnectError> {
        self.log.push(self.start, format!("camera {}", self.id));
        Ok(format!("TR_cam_{}", self.id))
    }
    async fn stop_video(&self, _source: crate::video::io::VideoSource) -> Result<(), ConnectError> {
        self.log.push(self.start, format!("camera off {}", self.id));
        Ok(())
    }
    async fn set_muted(&self, muted: bool) {
        self.log
            .push(self.start, format!("muted {muted} {}", self.id));
    }
    async fn set_video_muted(&self, source: crate::video::io::VideoSource, muted: bool) {
        self.log
            .push(self.start, format!("{source:?} muted {muted} {}", self.id));
    }
    async fn adopt(&self) {}
    fn room(&self) -> RoomState {
        RoomState::default()
    }
    async fn close(&self) {
        self.log.push(self.start, format!("close {}", self.id));
    }
    async fn leave(&self) {
        self.log.push(self.start, format!("leave {}", self.id));
    }
}

struct Silence;
impl AudioInput for Silence {
    fn next_frame(&mut self, out: &mut [i16]) {
        out.fill(0);
    }
}

/// A running driver with its fake engine, and the ends the handle and the
/// engine would hold.
struct Rig {
    start: tokio::time::Instant,
    log: Log,
    script: Arc<Mutex<Script>>,
    commands: mpsc::UnboundedSender<Command>,
    signals: mpsc::UnboundedSender<(u64, EngineSignal)>,
    events: mpsc::UnboundedReceiver<CallEvent>,
    status: watch::Receiver<Status<FakeSession>>,
    task: JoinHandle<()>,
}

/// A driver's parts, and the ends its handle and engine would hold.
type Ends = (
    Parts<Fake>,
    Log,
    Arc<Mutex<Script>>,
    mpsc::UnboundedSender<Command>,
    mpsc::UnboundedSender<(u64, EngineSignal)>,
    mpsc::UnboundedReceiver<CallEvent>,
);

fn parts(token: String, refresher: Option<Arc<dyn TokenRefresher>>) -> Ends {
    let start = tokio::time::Instant::now();
    let log = Log::default();
    let script = Arc::new(Mutex::new(Script::default()));
    let (events_tx, events) = mpsc::unbounded_channel();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (signals, signals_rx) = mpsc::unbounded_channel();
    let policy = ReconnectPolicy::default();
    let parts = Parts {
        engine: Fake {
            start,
            log: log.clone(),
            script: Arc::clone(&script),
            next_id: AtomicU64::new(0),
        },
        url: "ws://127.0.0.1:9".into(),
        token,
        supervisor: Supervisor::new(policy.clone(), refresher.is_some(), 7),
        clock: Clock::Virtual {
            start,
            wall: SystemTime::now(),
        },
        refresher,
        refresh_timeout: policy.refresh_timeout,
        events: events_tx,
        commands: commands_rx,
        signals: signals_rx,
    };
    (parts, log, script, commands, signals, events)
}

impl Rig {
    /// A driver whose call has joined.
    async fn joined() -> Rig {
        let (parts, log, script, commands, signals, events) = parts(token(S(600)), None);
        let start = tokio::time::Instant::now();
        let (driver, status) = Driver::new(parts);
        let task = tokio::spawn(driver.run());
        let mut rig = Rig {
            start,
            log,
            script,
            commands,
            signals,
            events,
            status,
            task,
        };
        let (reply, answer) = oneshot::channel();
        rig.commands.send(Command::Connect(reply)).unwrap();
        answer.await.unwrap().expect("the first join");
        rig.event(|e| matches!(e, CallEvent::Connected)).await;
        rig
    }

    fn session_id(&self) -> u64 {
        self.status.borrow().session.as_ref().map_or(0, |s| s.id())
    }

    /// The next event `is` accepts (others are skipped), and when it came.
    async fn event(&mut self, is: impl Fn(&CallEvent) -> bool) -> (Duration, CallEvent) {
        let deadline = tokio::time::Instant::now() + S(300);
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if is(&e) => return (self.start.elapsed(), e),
                Ok(Some(_)) => {}
                Ok(None) => panic!("the driver ended; log {:?}", self.log.entries()),
                Err(_) => panic!("no such event; log {:?}", self.log.entries()),
            }
        }
    }

    async fn leave(&self) {
        let (reply, done) = oneshot::channel();
        self.commands.send(Command::Leave(reply)).unwrap();
        done.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_resume_is_aborted_at_the_attempt_timeout_and_the_next_one_brings_the_call_back()
{
    let mut rig = Rig::joined().await;
    rig.script.lock().unwrap().resumes = [Outcome::Hang, Outcome::Ok].into();
    let lost = rig.start.elapsed();
    rig.signals.send((1, EngineSignal::LinkLost)).unwrap();
    let (t1, _) = rig
        .event(|e| matches!(e, CallEvent::Reconnecting { attempt: 1 }))
        .await;
    assert_eq!(t1, lost, "the first attempt starts at once");
    let (t2, _) = rig
        .event(|e| matches!(e, CallEvent::Reconnecting { attempt: 2 }))
        .await;
    // Aborted at the 8 s attempt timeout, then at most the 300 ms backoff.
    let policy = ReconnectPolicy::default();
    assert!(
        t2 - lost >= policy.attempt_timeout && t2 - lost <= policy.attempt_timeout + MS(300),
        "second attempt {:?} after the loss",
        t2 - lost
    );
    let (t3, e) = rig
        .event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    assert_eq!(
        e,
        CallEvent::Reconnected {
            kind: AttemptKind::Resume
        }
    );
    assert_eq!(t3 - t2, MS(100), "credited when the second resume answers");
    assert_eq!(rig.status.borrow().state, ConnectionState::Connected);
    assert_eq!(rig.log.entries(), ["join 1", "resume 1", "resume 1"]);
    rig.leave().await;
}

#[tokio::test(start_paused = true)]
async fn a_late_report_of_an_aborted_attempt_is_not_credited_to_its_successor() {
    let (parts, ..) = parts(token(S(600)), None);
    let (mut driver, _status) = Driver::new(parts);
    let (reply, _answer) = oneshot::channel();
    let actions = driver.connect(reply);
    driver.carry_out(actions).await;
    let joined = driver.joined_rx.recv().await.unwrap();
    let actions = driver.on_joined(joined).await;
    driver.carry_out(actions).await;
    let actions = driver.on_signal(1, EngineSignal::LinkLost);
    driver.carry_out(actions).await;
    // Attempt 1 is in flight; the supervisor replaces it with attempt 2.
    driver.start_attempt(AttemptKind::Resume, 2);
    let late = driver.on_attempt(1, Ok(Recovered::Resumed)).await;
    assert!(late.is_empty(), "{late:?}");
    assert_eq!(driver.state, ConnectionState::Reconnecting);
    let actions = driver.on_attempt(2, Ok(Recovered::Resumed)).await;
    assert!(
        actions.contains(&Action::Emit(CallEvent::Reconnected {
            kind: AttemptKind::Resume
        })),
        "{actions:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_replaced_refresh_reporting_late_is_ignored() {
    // A refresher that never answers: the test hands in the answers.
    let never: Arc<dyn TokenRefresher> =
        crate::token::refresher_fn(std::future::pending::<Result<String, RefreshError>>);
    let first = token(S(600));
    let (parts, ..) = parts(first.clone(), Some(never));
    let (mut driver, status) = Driver::new(parts);
    driver.start_refresh();
    driver.start_refresh(); // the first is replaced
    let stale = token(S(900));
    let actions = driver.on_refresh(1, Ok(stale));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(driver.token, first, "the replaced refresh's token was used");
    let fresh = token(S(1200));
    driver.on_refresh(2, Ok(fresh.clone()));
    assert_eq!(driver.token, fresh);
    let expected = crate::token::inspect(&fresh).unwrap().expires_at;
    assert_eq!(status.borrow().expires_at, Some(expected));
}

#[tokio::test(start_paused = true)]
async fn leave_during_an_attempt_stops_it_and_nothing_runs_after() {
    let mut rig = Rig::joined().await;
    rig.script.lock().unwrap().resumes = [Outcome::Hang].into();
    rig.signals.send((1, EngineSignal::LinkLost)).unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnecting { attempt: 1 }))
        .await;
    rig.leave().await;
    let (_, e) = rig
        .event(|e| matches!(e, CallEvent::Disconnected { .. }))
        .await;
    assert_eq!(
        e,
        CallEvent::Disconnected {
            reason: DisconnectReason::ClientInitiated
        }
    );
    // A minute later: no attempt, no join; the driver has ended.
    tokio::time::sleep(S(60)).await;
    assert_eq!(rig.log.entries(), ["join 1", "resume 1", "leave 1"]);
    assert!(rig.task.is_finished());
    assert_eq!(rig.status.borrow().state, ConnectionState::Disconnected);
}

/// A picture that never changes.
struct Still;
impl crate::video::io::VideoInput for Still {
    fn format(&self) -> crate::video::io::VideoFormat {
        crate::video::io::VideoFormat {
            width: 16,
            height: 16,
            fps: 1,
        }
    }
    fn next_frame(&mut self, _out: &mut crate::video::VideoFrame) {}
}

#[tokio::test(start_paused = true)]
async fn a_stopped_video_is_not_published_again_by_a_rejoin() {
    use crate::video::io::{SharedVideoInput, VideoSource};
    let mut rig = Rig::joined().await;
    let (reply, answer) = oneshot::channel();
    rig.commands
        .send(Command::PublishVideo {
            input: SharedVideoInput::new(Box::new(Still)),
            source: VideoSource::Screen,
            reply,
        })
        .unwrap();
    assert_eq!(answer.await.unwrap().unwrap(), "TR_cam_1");
    let (reply, answer) = oneshot::channel();
    rig.commands
        .send(Command::StopVideo {
            source: VideoSource::Screen,
            reply,
        })
        .unwrap();
    answer.await.unwrap().unwrap();
    rig.signals
        .send((1, EngineSignal::Leave(LeaveAction::Reconnect)))
        .unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    assert_eq!(rig.session_id(), 2);
    assert_eq!(
        rig.log.entries(),
        ["join 1", "camera 1", "camera off 1", "close 1", "join 2"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_muted_camera_is_republished_muted_by_a_rejoin_and_a_stopped_one_unmuted() {
    use crate::video::io::{SharedVideoInput, VideoSource};
    let mut rig = Rig::joined().await;
    let publish = |source| {
        let (reply, answer) = oneshot::channel();
        let command = Command::PublishVideo {
            input: SharedVideoInput::new(Box::new(Still)),
            source,
            reply,
        };
        (command, answer)
    };
    let (command, answer) = publish(VideoSource::Camera);
    rig.commands.send(command).unwrap();
    answer.await.unwrap().unwrap();
    let (reply, done) = oneshot::channel();
    rig.commands
        .send(Command::SetVideoMuted {
            source: VideoSource::Camera,
            muted: true,
            reply,
        })
        .unwrap();
    done.await.unwrap();
    rig.signals
        .send((1, EngineSignal::Leave(LeaveAction::Reconnect)))
        .unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    // Muted before it is published again: not one picture leaks out.
    assert_eq!(
        rig.log.entries(),
        [
            "join 1",
            "camera 1",
            "Camera muted true 1",
            "close 1",
            "join 2",
            "Camera muted true 2",
            "camera 2"
        ]
    );
    // Stopped, then started again: shown, also after the next rejoin.
    let (reply, answer) = oneshot::channel();
    rig.commands
        .send(Command::StopVideo {
            source: VideoSource::Camera,
            reply,
        })
        .unwrap();
    answer.await.unwrap().unwrap();
    let (command, answer) = publish(VideoSource::Camera);
    rig.commands.send(command).unwrap();
    answer.await.unwrap().unwrap();
    rig.signals
        .send((2, EngineSignal::Leave(LeaveAction::Reconnect)))
        .unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    let after: Vec<String> = rig.log.entries().into_iter().skip(7).collect();
    assert_eq!(
        after,
        ["camera off 2", "camera 2", "close 2", "join 3", "camera 3"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejoin_republishes_muted_and_only_the_new_sessions_reports_count() {
    let mut rig = Rig::joined().await;
    let (reply, answer) = oneshot::channel();
    rig.commands
        .send(Command::Publish {
            input: SwitchableInput::new(Box::new(Silence)),
            reply,
        })
        .unwrap();
    assert_eq!(answer.await.unwrap().unwrap(), "TR_1");
    let (reply, done) = oneshot::channel();
    rig.commands.send(Command::SetMuted(true, reply)).unwrap();
    done.await.unwrap();
    // The server asks for a full reconnect: a new session.
    rig.signals
        .send((1, EngineSignal::Leave(LeaveAction::Reconnect)))
        .unwrap();
    let (_, e) = rig
        .event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    assert_eq!(
        e,
        CallEvent::Reconnected {
            kind: AttemptKind::Rejoin
        }
    );
    assert_eq!(rig.session_id(), 2);
    // Muted before the track is republished: no frame leaks out.
    assert_eq!(
        rig.log.entries(),
        [
            "join 1",
            "publish 1",
            "muted true 1",
            "close 1",
            "join 2",
            "muted true 2",
            "publish 2",
        ]
    );
    // The old session's last words are not the call's news.
    rig.signals.send((1, EngineSignal::LinkLost)).unwrap();
    tokio::time::sleep(S(5)).await;
    while let Ok(e) = rig.events.try_recv() {
        assert!(!matches!(e, CallEvent::Reconnecting { .. }), "{e:?}");
    }
    assert_eq!(rig.status.borrow().state, ConnectionState::Connected);
    rig.signals.send((2, EngineSignal::LinkLost)).unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnecting { attempt: 1 }))
        .await;
    rig.leave().await;
}

#[tokio::test(start_paused = true)]
async fn the_handle_going_away_leaves_the_call() {
    let rig = Rig::joined().await;
    let Rig {
        commands,
        task,
        log,
        ..
    } = rig;
    drop(commands);
    tokio::time::timeout(S(1), task).await.unwrap().unwrap();
    assert_eq!(log.entries(), ["join 1", "leave 1"]);
}

#[tokio::test(start_paused = true)]
async fn a_first_join_that_fails_ends_the_call_without_retrying() {
    let (parts, log, script, commands, _signals, mut events) = parts(token(S(600)), None);
    script.lock().unwrap().joins = [Outcome::Fail].into();
    let (driver, status) = Driver::new(parts);
    let task = tokio::spawn(driver.run());
    let (reply, answer) = oneshot::channel();
    commands.send(Command::Connect(reply)).unwrap();
    assert!(matches!(
        answer.await.unwrap(),
        Err(ConnectError::Timeout(_))
    ));
    tokio::time::timeout(S(1), task).await.unwrap().unwrap();
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Disconnected {
            reason: DisconnectReason::JoinFailure
        })
    );
    assert_eq!(log.entries(), ["join 1"]);
    assert_eq!(status.borrow().state, ConnectionState::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn an_unmute_during_a_rejoin_reaches_the_new_session() {
    let mut rig = Rig::joined().await;
    let (reply, done) = oneshot::channel();
    rig.commands.send(Command::SetMuted(true, reply)).unwrap();
    done.await.unwrap();
    rig.signals
        .send((1, EngineSignal::Leave(LeaveAction::Reconnect)))
        .unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnecting { attempt: 1 }))
        .await;
    // The rejoin's join is under way, started muted.
    let (reply, done) = oneshot::channel();
    rig.commands.send(Command::SetMuted(false, reply)).unwrap();
    done.await.unwrap();
    rig.event(|e| matches!(e, CallEvent::Reconnected { .. }))
        .await;
    assert_eq!(
        rig.log.entries(),
        [
            "join 1",
            "muted true 1",
            "close 1",
            "join 2",
            "muted true 2",
            "muted false 2",
        ]
    );
    rig.leave().await;
}

#[tokio::test(start_paused = true)]
async fn a_connect_during_the_first_join_gets_that_joins_result() {
    let (parts, log, script, commands, _signals, _events) = parts(token(S(600)), None);
    script.lock().unwrap().joins = [Outcome::Fail].into();
    let (driver, _status) = Driver::new(parts);
    let _task = tokio::spawn(driver.run());
    let (first, first_answer) = oneshot::channel();
    commands.send(Command::Connect(first)).unwrap();
    tokio::time::sleep(MS(50)).await; // the join takes 100 ms
    let (second, mut second_answer) = oneshot::channel();
    commands.send(Command::Connect(second)).unwrap();
    // Both hear the failure, when the join ends, not the second at once.
    let early = tokio::time::timeout(MS(40), &mut second_answer).await;
    assert!(early.is_err(), "answered before the join ended: {early:?}");
    for answer in [first_answer, second_answer] {
        assert!(matches!(
            answer.await.unwrap(),
            Err(ConnectError::Timeout(_))
        ));
    }
    assert_eq!(log.entries(), ["join 1"]);
}
