//! The supervisor on a virtual clock: every rule, no real sleeping.

use std::time::{Duration, Instant, SystemTime};

use super::*;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

/// A supervisor with a virtual monotonic and wall clock.
struct Rig {
    sup: Supervisor,
    now: Instant,
    wall: SystemTime,
    log: Vec<Action>,
}

impl Rig {
    fn new(has_refresher: bool) -> Self {
        Self::with(ReconnectPolicy::default(), has_refresher)
    }

    fn with(policy: ReconnectPolicy, has_refresher: bool) -> Self {
        Rig {
            sup: Supervisor::new(policy, has_refresher, 1),
            now: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + S(1_800_000_000),
            log: Vec::new(),
        }
    }

    fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = self.sup.poll_action() {
            out.push(a);
        }
        self.log.extend(out.iter().cloned());
        out
    }

    fn input(&mut self, i: Input) -> Vec<Action> {
        self.sup.handle(i, self.now, self.wall);
        self.drain()
    }

    /// Advances the clock by `d`, firing every timeout on the way.
    fn advance(&mut self, d: Duration) -> Vec<Action> {
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(t) = self.sup.poll_timeout() {
            if t > end {
                break;
            }
            let step = t.max(self.now) - self.now;
            self.now += step;
            self.wall += step;
            self.sup.handle_timeout(self.now, self.wall);
            let acts = self.drain();
            let stuck = acts.is_empty() && self.sup.poll_timeout() == Some(t);
            out.extend(acts);
            if stuck {
                break; // a timeout that fires nothing must not spin
            }
        }
        let rest = end - self.now;
        self.now += rest;
        self.wall += rest;
        out
    }

    fn connected(has_refresher: bool) -> Self {
        let mut r = Self::new(has_refresher);
        r.input(Input::Connect);
        r.input(Input::Joined);
        r.log.clear();
        r
    }
}

fn attempts(actions: &[Action]) -> Vec<(AttemptKind, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartAttempt { kind, attempt } => Some((*kind, *attempt)),
            _ => None,
        })
        .collect()
}

fn has(actions: &[Action], e: &CallEvent) -> bool {
    actions.iter().any(|a| a == &Action::Emit(e.clone()))
}

fn disconnected(actions: &[Action]) -> Option<DisconnectReason> {
    actions.iter().find_map(|a| match a {
        Action::Emit(CallEvent::Disconnected { reason }) => Some(*reason),
        _ => None,
    })
}

#[test]
fn idle_connecting_connected() {
    let mut r = Rig::new(false);
    assert_eq!(r.sup.state(), ConnectionState::Idle);
    let a = r.input(Input::Connect);
    assert_eq!(r.sup.state(), ConnectionState::Connecting);
    assert!(has(
        &a,
        &CallEvent::ConnectionStateChanged {
            state: ConnectionState::Connecting
        }
    ));
    let a = r.input(Input::Joined);
    assert_eq!(r.sup.state(), ConnectionState::Connected);
    assert!(has(&a, &CallEvent::Connected));
}

#[test]
fn a_failed_first_join_ends_without_retries() {
    let mut r = Rig::new(false);
    r.input(Input::Connect);
    let a = r.input(Input::JoinFailed(DisconnectReason::Unauthorized));
    assert_eq!(r.sup.state(), ConnectionState::Disconnected);
    assert_eq!(disconnected(&a), Some(DisconnectReason::Unauthorized));
    assert!(attempts(&r.advance(S(120))).is_empty());
}

#[test]
fn a_lost_link_resumes_at_once_and_reconnects() {
    let mut r = Rig::connected(false);
    let a = r.input(Input::LinkLost);
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    assert_eq!(
        attempts(&a),
        [(AttemptKind::Resume, 1)],
        "first attempt must not wait"
    );
    assert!(has(&a, &CallEvent::Reconnecting { attempt: 1 }));
    let a = r.input(Input::AttemptSucceeded);
    assert_eq!(r.sup.state(), ConnectionState::Connected);
    assert!(has(
        &a,
        &CallEvent::Reconnected {
            kind: AttemptKind::Resume
        }
    ));
    assert_eq!(r.sup.attempt(), 0);
}

#[test]
fn attempts_count_up_with_jittered_backoff_within_bounds() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let p = ReconnectPolicy::default();
    for n in 2..=6u32 {
        let failed_at = r.now;
        let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
        let in_ms = a
            .iter()
            .find_map(|x| match x {
                Action::Emit(CallEvent::ReconnectScheduled { attempt, in_ms }) if *attempt == n => {
                    Some(*in_ms)
                }
                _ => None,
            })
            .expect("the next attempt is announced with its delay");
        assert!(
            MS(in_ms) <= p.delay_before(n, 1.0),
            "attempt {n}: {in_ms} ms"
        );
        let a = r.advance(MS(in_ms));
        assert_eq!(
            attempts(&a).last().map(|x| x.1),
            Some(n),
            "attempt {n} at +{in_ms} ms"
        );
        assert_eq!(r.now - failed_at, MS(in_ms));
        assert!(has(&a, &CallEvent::Reconnecting { attempt: n }));
    }
}

#[test]
fn resume_turns_into_rejoin_after_the_window_or_a_refusal() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let a = r.input(Input::AttemptFailed(AttemptError::ResumeRefused));
    let a2 = r.advance(S(10));
    let all: Vec<_> = attempts(&a).into_iter().chain(attempts(&a2)).collect();
    assert_eq!(all.first(), Some(&(AttemptKind::Rejoin, 2)), "{all:?}");

    // Without a refusal: resumes until 15 s after the loss, then rejoins.
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let mut kinds = Vec::new();
    for _ in 0..40 {
        let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
        let a = [a, r.advance(S(1))].concat();
        kinds.extend(attempts(&a));
        if r.sup.state() != ConnectionState::Reconnecting {
            break;
        }
    }
    let first_rejoin = kinds
        .iter()
        .position(|k| k.0 == AttemptKind::Rejoin)
        .unwrap();
    assert!(kinds[..first_rejoin]
        .iter()
        .all(|k| k.0 == AttemptKind::Resume));
    assert!(kinds[first_rejoin..]
        .iter()
        .all(|k| k.0 == AttemptKind::Rejoin));
}

#[test]
fn gives_up_with_network_error_at_the_deadline() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    // Every attempt hangs: each times out, is aborted, and counts.
    let a = r.advance(S(61));
    assert_eq!(r.sup.state(), ConnectionState::Disconnected);
    assert_eq!(disconnected(&a), Some(DisconnectReason::NetworkError));
    assert!(a.contains(&Action::AbortAttempt));
    assert!(a.contains(&Action::Close));
    let n = attempts(&a).len();
    assert!(n >= 5, "only {n} attempts in 60 s");
    // Never stuck: nothing more is scheduled.
    assert_eq!(r.sup.poll_timeout(), None);
}

#[test]
fn a_cut_that_never_heals_is_still_reconnecting_just_before_the_deadline() {
    let p = ReconnectPolicy::default();
    let mut r = Rig::connected(false);
    let lost_at = r.now;
    r.input(Input::LinkLost);
    // Every attempt hangs (nothing answers) until it times out.
    r.advance(p.deadline - MS(1));
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    assert_eq!(disconnected(&r.log), None, "gave up early: {:?}", r.log);
    let numbers: Vec<u32> = attempts(&r.log).iter().map(|a| a.1).collect();
    assert!(numbers.len() > 1, "one attempt in {:?}", p.deadline);
    assert_eq!(numbers, (1..=numbers.len() as u32).collect::<Vec<_>>());
    // The deadline itself: over, as a network error, at exactly that time.
    let a = r.advance(MS(1));
    assert_eq!(disconnected(&a), Some(DisconnectReason::NetworkError));
    assert_eq!(r.now - lost_at, p.deadline);
    assert_eq!(r.sup.state(), ConnectionState::Disconnected);
}

#[test]
fn reconnected_says_which_kind_of_attempt_brought_the_call_back() {
    let resumed = CallEvent::Reconnected {
        kind: AttemptKind::Resume,
    };
    let rejoined = CallEvent::Reconnected {
        kind: AttemptKind::Rejoin,
    };
    // A resume that works.
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let a = r.input(Input::AttemptSucceeded);
    assert!(has(&a, &resumed) && !has(&a, &rejoined), "{a:?}");
    // A refused resume, then a rejoin that works.
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::ResumeRefused));
    r.advance(S(1)); // attempt 2 waits at most 300 ms
    assert_eq!(attempts(&r.log).last(), Some(&(AttemptKind::Rejoin, 2)));
    let a = r.input(Input::AttemptSucceeded);
    assert!(has(&a, &rejoined) && !has(&a, &resumed), "{a:?}");
    // The server asks for a full reconnect: a rejoin.
    let mut r = Rig::connected(false);
    r.input(Input::ServerLeave(LeaveAction::Reconnect));
    let a = r.input(Input::AttemptSucceeded);
    assert!(has(&a, &rejoined), "{a:?}");
}

#[test]
fn a_success_with_no_attempt_in_flight_is_ignored() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    // Attempt 2 is waiting its backoff: nothing can have succeeded.
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    let a = r.input(Input::AttemptSucceeded);
    assert!(a.is_empty(), "{a:?}");
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
}

/// A silent cut of `cut` on the virtual clock: ICE notices 3 s in; an
/// attempt cannot get through until the restore, and one in flight then
/// succeeds 200 ms later (the reachability probe's period). How the call
/// came back, and when.
fn silent_cut(cut: Duration) -> (AttemptKind, Duration) {
    let mut r = Rig::connected(false);
    let cut_at = r.now;
    let restore_at = cut_at + cut;
    r.advance(S(3));
    let mut in_flight = !attempts(&r.input(Input::LinkLost)).is_empty();
    while r.now < cut_at + S(60) {
        if in_flight && r.now >= restore_at + MS(200) {
            let a = r.input(Input::AttemptSucceeded);
            let kind = a.iter().find_map(|x| match x {
                Action::Emit(CallEvent::Reconnected { kind }) => Some(*kind),
                _ => None,
            });
            return (kind.expect("no Reconnected"), r.now - cut_at);
        }
        for a in r.advance(MS(100)) {
            match a {
                Action::StartAttempt { .. } => in_flight = true,
                Action::AbortAttempt => in_flight = false,
                _ => {}
            }
        }
    }
    panic!("not back 60 s after a {cut:?} cut: {:?}", r.log);
}

#[test]
fn cuts_inside_the_resume_window_resume_and_a_35_s_cut_rejoins() {
    // The resilience group's cuts, as the supervisor sees them.
    for (cut, want) in [
        (S(3), AttemptKind::Resume),
        (S(8), AttemptKind::Resume),
        (S(12), AttemptKind::Resume),
        (S(35), AttemptKind::Rejoin),
    ] {
        let (kind, back) = silent_cut(cut);
        assert_eq!(kind, want, "{cut:?} cut, back after {back:?}");
        // Back once the path is: an attempt is under way at the restore or
        // starts within the backoff cap of it.
        let p = ReconnectPolicy::default();
        assert!(
            back <= cut + p.max_delay + MS(300),
            "{cut:?} cut: back after {back:?}"
        );
    }
}

#[test]
fn gives_up_after_max_attempts() {
    let policy = ReconnectPolicy {
        max_attempts: 3,
        ..ReconnectPolicy::default()
    };
    let mut r = Rig::with(policy, false);
    r.input(Input::Connect);
    r.input(Input::Joined);
    r.input(Input::LinkLost);
    for _ in 0..2 {
        r.input(Input::AttemptFailed(AttemptError::Retryable));
        r.advance(S(1)); // the next attempt starts (backoff ≤ 600 ms)
    }
    let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
    assert_eq!(disconnected(&a), Some(DisconnectReason::NetworkError));
    assert_eq!(attempts(&r.log).len(), 3);
}

#[test]
fn terminal_leaves_end_at_once() {
    for reason in [
        DisconnectReason::ParticipantRemoved,
        DisconnectReason::RoomDeleted,
        DisconnectReason::DuplicateIdentity,
        DisconnectReason::ServerShutdown,
    ] {
        let mut r = Rig::connected(false);
        let a = r.input(Input::ServerLeave(LeaveAction::Disconnect(reason)));
        assert_eq!(disconnected(&a), Some(reason));
        assert!(
            attempts(&r.advance(S(120))).is_empty(),
            "{reason:?} retried"
        );
    }
    // Mid-outage too, and an unauthorized attempt.
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let a = r.input(Input::AttemptFailed(AttemptError::Unauthorized));
    assert_eq!(disconnected(&a), Some(DisconnectReason::Unauthorized));
    assert!(attempts(&r.advance(S(120))).is_empty());
}

#[test]
fn server_leave_reconnect_goes_straight_to_rejoin() {
    let mut r = Rig::connected(false);
    let a = r.input(Input::ServerLeave(LeaveAction::Reconnect));
    assert_eq!(attempts(&a), [(AttemptKind::Rejoin, 1)]);
    let mut r = Rig::connected(false);
    let a = r.input(Input::ServerLeave(LeaveAction::Resume));
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 1)]);
}

#[test]
fn leave_is_client_initiated_and_final() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    let a = r.input(Input::Leave);
    assert_eq!(disconnected(&a), Some(DisconnectReason::ClientInitiated));
    assert!(attempts(&r.advance(S(60))).is_empty());
}

#[test]
fn token_window_fires_once_and_refreshes_proactively() {
    let mut r = Rig::connected(true);
    let exp = r.wall + S(300);
    r.input(Input::TokenChanged { expires_at: exp });
    assert!(r.advance(S(239)).is_empty(), "nothing before the window");
    let a = r.advance(S(1));
    assert!(has(&a, &CallEvent::TokenExpired));
    assert_eq!(a.iter().filter(|x| **x == Action::RefreshToken).count(), 1);
    assert!(r.advance(S(5)).is_empty(), "announced once, asked once");
    r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    // The new token's window is announced in its turn.
    let a = r.advance(S(540));
    assert!(has(&a, &CallEvent::TokenExpired));
}

#[test]
fn without_a_refresher_the_window_warns_but_asks_nothing() {
    let mut r = Rig::connected(false);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(90),
    });
    let a = r.advance(S(31));
    assert!(has(&a, &CallEvent::TokenExpired));
    assert!(!a.contains(&Action::RefreshToken));
}

#[test]
fn an_expired_token_is_refreshed_once_before_the_attempt() {
    let mut r = Rig::connected(true);
    // Expires in 5 s: the window is already open, the proactive refresh
    // goes out and fails; the token is still good for now.
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(5),
    });
    r.input(Input::RefreshFailed {
        reason: "test".into(),
        transient: true,
    });
    r.log.clear();
    // Attempt 1 goes with the still-valid token, hangs past the expiry and
    // times out at 8 s.
    r.input(Input::LinkLost);
    r.advance(S(12));
    let refreshes: Vec<usize> = r
        .log
        .iter()
        .enumerate()
        .filter(|(_, x)| **x == Action::RefreshToken)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(refreshes.len(), 1, "one refresh per need: {:?}", r.log);
    assert_eq!(
        attempts(&r.log),
        [(AttemptKind::Resume, 1)],
        "no attempt with the expired token"
    );
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    // The refresh answers: attempt 2 goes at once.
    let a = r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 2)]);
}

#[test]
fn without_a_refresher_an_expired_token_ends_the_outage() {
    let mut r = Rig::connected(false);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(20),
    });
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    let a = r.advance(S(40));
    assert_eq!(
        disconnected(&a).or(disconnected(&r.log)),
        Some(DisconnectReason::TokenExpired)
    );
    let after_expiry = r
        .log
        .iter()
        .filter(|x| matches!(x, Action::StartAttempt { .. }))
        .count();
    assert!(
        after_expiry < 10,
        "a string of doomed retries: {after_expiry}"
    );
}

#[test]
fn a_hanging_refresher_fails_by_its_deadline_and_is_asked_again_until_the_outage_ends() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(5),
    });
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    // The token expires; the refresher never answers. Mid-outage that may
    // be the network: it is asked again, not given up on at once.
    let a = r.advance(S(30));
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting, "{a:?}");
    // Until the outage's deadline: nothing could be reached, the token
    // service included — a network error.
    let a = r.advance(S(35));
    assert_eq!(r.sup.state(), ConnectionState::Disconnected, "{a:?}");
    assert_eq!(disconnected(&r.log), Some(DisconnectReason::NetworkError));
    let reasons: Vec<&String> = r
        .log
        .iter()
        .filter_map(|x| match x {
            Action::Emit(CallEvent::TokenRefreshFailed { reason }) => Some(reason),
            _ => None,
        })
        .collect();
    assert!((2..10).contains(&reasons.len()), "{:?}", r.log);
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("did not answer within 10s")),
        "{reasons:?}"
    );
    // The refresher answering at last changes nothing: the call is over.
    r.input(Input::RefreshFailed {
        reason: "late".into(),
        transient: true,
    });
    assert_eq!(r.sup.state(), ConnectionState::Disconnected);
}

#[test]
fn a_refusing_refresher_with_an_expired_token_ends_the_outage_at_once() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(5),
    });
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    // Past the expiry, the refresh the next attempt asks for is refused.
    let a = r.advance(S(7));
    assert!(a.contains(&Action::RefreshToken) || r.log.contains(&Action::RefreshToken));
    r.input(Input::RefreshFailed {
        reason: "the token service refused the request: 401".into(),
        transient: false,
    });
    assert_eq!(disconnected(&r.log), Some(DisconnectReason::TokenExpired));
}

#[test]
fn an_attempt_that_finds_the_token_expired_refreshes_and_retries_without_backoff() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(3600),
    });
    r.input(Input::LinkLost);
    r.log.clear();
    let a = r.input(Input::AttemptFailed(AttemptError::TokenExpired));
    assert!(a.contains(&Action::RefreshToken), "{a:?}");
    assert!(
        !a.iter()
            .any(|x| matches!(x, Action::Emit(CallEvent::ReconnectScheduled { .. }))),
        "a backoff before the refresh: {a:?}"
    );
    let b = r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    assert!(
        !attempts(&b).is_empty(),
        "no attempt right after the new token: {b:?}"
    );
}

#[test]
fn a_refresh_failure_nobody_asked_for_is_ignored() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(3600),
    });
    r.log.clear();
    let a = r.input(Input::RefreshFailed {
        reason: "stale".into(),
        transient: true,
    });
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn every_new_token_announces_its_expiry() {
    let mut r = Rig::connected(true);
    let exp = r.wall + S(3600);
    let a = r.input(Input::TokenChanged { expires_at: exp });
    let ms = exp
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(has(&a, &CallEvent::TokenUpdated { expires_at_ms: ms }));
}

#[test]
fn a_failing_refresher_with_a_still_valid_token_goes_on() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(45),
    });
    r.input(Input::LinkLost);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    r.advance(S(1));
    r.input(Input::RefreshFailed {
        reason: "test".into(),
        transient: true,
    });
    let a = r.advance(S(5));
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    assert!(!attempts(&[r.log.clone(), a].concat()).is_empty());
}

#[test]
fn server_says_expired_with_a_refresher_refreshes_then_retries() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(3600),
    });
    r.input(Input::LinkLost);
    let a = r.input(Input::AttemptFailed(AttemptError::TokenExpired));
    let b = r.advance(S(2));
    assert!([a, b].concat().contains(&Action::RefreshToken));
    let a = r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    assert_eq!(attempts(&a).len(), 1);
}

#[test]
fn sleep_then_wake_recovers_at_once_as_a_rejoin_when_long() {
    let mut r = Rig::connected(false);
    r.input(Input::Sleep);
    // Asleep for 40 s: past the server's resume window.
    r.now += S(40);
    r.wall += S(40);
    let a = r.input(Input::Wake);
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    assert_eq!(attempts(&a), [(AttemptKind::Rejoin, 1)]);
    assert!(has(&a, &CallEvent::Reconnecting { attempt: 1 }));
    // The deadline counts from the wake, not from the sleep.
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
}

#[test]
fn a_long_sleep_rejoins_even_when_the_monotonic_clock_stood_still() {
    // A real sleep: the monotonic clock stops, the wall clock runs on.
    let mut r = Rig::connected(false);
    r.input(Input::Sleep);
    r.wall += S(40);
    let a = r.input(Input::Wake);
    assert_eq!(attempts(&a), [(AttemptKind::Rejoin, 1)]);
    // The engine noticed the dead link first (its timers fire on wake):
    // the wake still turns the outage into a rejoin.
    let mut r = Rig::connected(false);
    r.input(Input::Sleep);
    r.wall += S(40);
    let a = r.input(Input::LinkLost);
    assert!(attempts(&a).is_empty(), "attempted before the wake: {a:?}");
    let a = r.input(Input::Wake);
    assert_eq!(attempts(&a), [(AttemptKind::Rejoin, 1)]);
}

#[test]
fn a_short_sleep_resumes() {
    let mut r = Rig::connected(false);
    r.input(Input::Sleep);
    r.now += S(3);
    r.wall += S(3);
    let a = r.input(Input::Wake);
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 1)]);
}

#[test]
fn no_attempts_while_asleep() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    r.input(Input::Sleep);
    r.input(Input::AttemptFailed(AttemptError::Retryable));
    let a = r.advance(S(20));
    assert!(attempts(&a).is_empty(), "{a:?}");
    let a = r.input(Input::Wake);
    assert_eq!(attempts(&a).len(), 1);
}

#[test]
fn an_expired_token_after_wake_is_refreshed_before_reconnecting() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(100),
    });
    r.input(Input::Sleep);
    r.now += S(600);
    r.wall += S(600);
    let a = r.input(Input::Wake);
    assert!(a.contains(&Action::RefreshToken), "{a:?}");
    assert!(attempts(&a).is_empty(), "attempted with an expired token");
    let a = r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    assert_eq!(attempts(&a), [(AttemptKind::Rejoin, 1)]);
}

#[test]
fn network_change_skips_the_backoff_wait() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost);
    for _ in 0..4 {
        r.input(Input::AttemptFailed(AttemptError::Retryable));
        r.advance(S(5));
    }
    let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
    let scheduled = a.iter().find_map(|x| match x {
        Action::Emit(CallEvent::ReconnectScheduled { in_ms, .. }) => Some(*in_ms),
        _ => None,
    });
    assert!(scheduled.is_some());
    let a = r.input(Input::NetworkChanged);
    assert_eq!(attempts(&a).len(), 1, "network change must try now: {a:?}");
}

#[test]
fn network_change_while_connected_starts_recovery_now() {
    let mut r = Rig::connected(false);
    let a = r.input(Input::NetworkChanged);
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting);
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 1)]);
}

#[test]
fn the_same_seed_replays_the_same_schedule() {
    let run = || {
        let mut r = Rig::connected(false);
        r.input(Input::LinkLost);
        let mut delays = Vec::new();
        for _ in 0..8 {
            let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
            delays.extend(a.iter().filter_map(|x| match x {
                Action::Emit(CallEvent::ReconnectScheduled { in_ms, .. }) => Some(*in_ms),
                _ => None,
            }));
            r.advance(S(6));
        }
        delays
    };
    assert_eq!(run(), run());
}

#[test]
fn tokens_shorter_than_the_window_refresh_at_half_life_not_in_a_loop() {
    let mut r = Rig::connected(true);
    // 40 s tokens against a 60 s window.
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(40),
    });
    assert!(r.advance(S(19)).is_empty(), "nothing before half-life");
    let a = r.advance(S(1));
    assert_eq!(a.iter().filter(|x| **x == Action::RefreshToken).count(), 1);
    r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(40),
    });
    // The new token is not refreshed at once, but at its own half-life.
    let soon = r.advance(S(19));
    assert!(!soon.contains(&Action::RefreshToken), "{soon:?}");
    assert!(r.advance(S(1)).contains(&Action::RefreshToken));
}

#[test]
fn retry_now_starts_the_waiting_attempt_at_once() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost); // attempt 1, at once
    let a = r.input(Input::AttemptFailed(AttemptError::Retryable));
    let waits = a.iter().any(|x| {
        matches!(x, Action::Emit(CallEvent::ReconnectScheduled { attempt: 2, in_ms }) if *in_ms > 0)
    });
    assert!(waits, "attempt 2 should wait (seeded backoff): {a:?}");
    let a = r.input(Input::RetryNow);
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 2)]);
    // Connected: nothing to hurry.
    let mut c = Rig::connected(false);
    assert!(attempts(&c.input(Input::RetryNow)).is_empty());
}

#[test]
fn a_join_failure_answering_a_resume_turns_into_a_rejoin() {
    let mut r = Rig::connected(false);
    r.input(Input::LinkLost); // resume 1 in flight
    let a = r.input(Input::ServerLeave(LeaveAction::Disconnect(
        DisconnectReason::JoinFailure,
    )));
    assert_eq!(disconnected(&a), None, "{a:?}");
    r.input(Input::AttemptFailed(AttemptError::ResumeRefused));
    let next = r.advance(S(6));
    assert_eq!(
        attempts(&next).first().map(|a| a.0),
        Some(AttemptKind::Rejoin)
    );
    // Connected, the same reason is the end.
    let mut c = Rig::connected(false);
    let a = c.input(Input::ServerLeave(LeaveAction::Disconnect(
        DisconnectReason::JoinFailure,
    )));
    assert_eq!(disconnected(&a), Some(DisconnectReason::JoinFailure));
}

#[test]
fn back_on_an_expired_token_after_an_outage_refreshes_at_once() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(3600),
    });
    r.input(Input::LinkLost);
    // The attempt went out with a good token and got in after it expired.
    r.wall += S(7200);
    let a = r.input(Input::AttemptSucceeded);
    assert!(a.contains(&Action::RefreshToken), "{a:?}");
}

#[test]
fn a_server_that_calls_every_token_expired_gets_one_quick_refresh_then_backoff() {
    let mut r = Rig::connected(true);
    r.input(Input::TokenChanged {
        expires_at: r.wall + S(3600),
    });
    r.input(Input::LinkLost);
    let a = r.input(Input::AttemptFailed(AttemptError::TokenExpired));
    assert!(a.contains(&Action::RefreshToken), "{a:?}");
    r.input(Input::RefreshSucceeded {
        expires_at: r.wall + S(600),
    });
    // The server says so again: now the usual backoff, and the attempt counts.
    let b = r.input(Input::AttemptFailed(AttemptError::TokenExpired));
    assert!(
        b.iter()
            .any(|x| matches!(x, Action::Emit(CallEvent::ReconnectScheduled { .. }))),
        "{b:?}"
    );
}

#[test]
fn one_wake_is_taken_once_and_a_new_sleep_starts_over() {
    let mut r = Rig::connected(false);
    r.input(Input::Sleep);
    r.wall += S(3);
    let a = r.input(Input::Wake);
    assert_eq!(attempts(&a), [(AttemptKind::Resume, 1)]);
    let a = r.input(Input::AttemptSucceeded);
    assert!(
        has(
            &a,
            &CallEvent::Reconnected {
                kind: AttemptKind::Resume
            }
        ),
        "{a:?}"
    );
    // The same wake told again (the clock-jump fallback after the OS's
    // signal): nothing happens, the call stays connected.
    r.now += S(1);
    let a = r.input(Input::Wake);
    assert!(a.is_empty(), "a second wake acted: {a:?}");
    assert_eq!(r.sup.state(), ConnectionState::Connected);
    // A new sleep: its wake is taken, however soon.
    r.now += S(1);
    r.input(Input::Sleep);
    let a = r.input(Input::Wake);
    assert_eq!(
        attempts(&a),
        [(AttemptKind::Resume, 1)],
        "a new outage: {a:?}"
    );
    r.input(Input::AttemptSucceeded);
    // Without a sleep, a wake 10 s after the last one is a new wake.
    r.now += SAME_WAKE;
    let a = r.input(Input::Wake);
    assert_eq!(r.sup.state(), ConnectionState::Reconnecting, "{a:?}");
}
