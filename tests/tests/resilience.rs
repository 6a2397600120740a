//! The call survives the real world (`scripts/test resilience`): kernel-level
//! cuts between us and a real livekit-server, with LiveKit's Python SDK on
//! the far side. Needs root.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rtcstack::events::AttemptKind;
use rtcstack::supervisor::ReconnectPolicy;
use rtcstack::{CallEvent, ConnectionState, DisconnectReason, PathProtocol, Scenario};
use rtcstack_testbench::client::join_with_capture;
use rtcstack_testbench::rig::Rig;
use rtcstack_testbench::signal_proxy::SignalProxy;
use rtcstack_testbench::tokens::TokenSpec;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The signal ping interval this server gives in its JoinResponse.
const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Waits until the client's next signal ping is `lead` away. A cut that
/// starts then holds that ping in TCP's retransmission backoff (resent
/// 0.2, 0.6, 1.4, 3.0, 6.2, 12.6 s after it went out): with `lead` = 1 s an
/// 8 s cut leaves the websocket silent for ~5 s after the restore, the case
/// where a call that took the link as healed lost it again to the ping
/// timeout. (Pings count from the join; connect returns ~0.1 s after it.)
async fn before_a_ping(rig: &Rig, lead: Duration) {
    let into_cycle = rig.joined_at.elapsed().as_millis() % PING_INTERVAL.as_millis();
    let to_ping = PING_INTERVAL - Duration::from_millis(into_cycle as u64);
    let wait = if to_ping > lead {
        to_ping - lead
    } else {
        to_ping + PING_INTERVAL - lead
    };
    tokio::time::sleep(wait).await;
}

/// Our participant's sid as the server lists it: a resume keeps the
/// session (the same sid), a rejoin is a new participant (a new sid).
async fn server_sid(rig: &Rig, room: &str) -> String {
    let all = rig
        .server
        .room_service()
        .list_participants(room)
        .await
        .unwrap();
    let ours: Vec<&String> = all
        .iter()
        .filter(|p| p.identity == "rust-880")
        .map(|p| &p.sid)
        .collect();
    assert_eq!(ours.len(), 1, "the server lists us as {ours:?}");
    ours[0].clone()
}

/// Waits for `Reconnected` and checks it came back by `want`, by our word
/// and by the server's: the same participant after a resume, a new one
/// after a rejoin (and the call knows itself by the server's sid).
async fn reconnected_by(rig: &mut Rig, room: &str, sid_before: &str, want: AttemptKind) {
    let e = rig
        .wait_event("reconnected", SECS(45), |e| {
            matches!(e, CallEvent::Reconnected { .. })
        })
        .await;
    assert_eq!(e, CallEvent::Reconnected { kind: want }, "{room}");
    let sid_after = server_sid(rig, room).await;
    match want {
        AttemptKind::Resume => assert_eq!(
            sid_after, sid_before,
            "{room}: reported a resume, but the server has a new participant"
        ),
        AttemptKind::Rejoin => assert_ne!(
            sid_after, sid_before,
            "{room}: reported a rejoin, but the server kept the old participant"
        ),
    }
    assert_eq!(
        rig.call.local_participant().map(|p| p.sid),
        Some(sid_after),
        "{room}: the call's own sid"
    );
}

async fn cut_and_recover(room: &str, cut_for: Duration, want: AttemptKind) -> (Rig, Duration) {
    let mut rig = Rig::start(room).await;
    let sid_before = server_sid(&rig, room).await;
    before_a_ping(&rig, SECS(1)).await;
    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { attempt: 1 })
    })
    .await;
    let detect = cut_at.elapsed();
    assert_eq!(rig.call.connection_state(), ConnectionState::Reconnecting);
    tokio::time::sleep(cut_for.saturating_sub(cut_at.elapsed())).await;
    rig.server.link().unwrap().restore().unwrap();
    let restored = Instant::now();
    reconnected_by(&mut rig, room, &sid_before, want).await;
    let reconnected = Instant::now();
    eprintln!(
        "{room}: cut {cut_for:?}, detected after {detect:?}, reconnected ({want:?}) {:?} after restore",
        restored.elapsed()
    );
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    signal_works(&rig, "right after Reconnected").await;
    rig.both_ways("after recovery").await;
    // One cut, one outage: the call stays connected once it said so (a
    // recovery that was not one shows as a second outage seconds later).
    rig.none_within(
        "a second outage after Reconnected",
        STAYS_CONNECTED.saturating_sub(reconnected.elapsed()),
        |e| {
            matches!(
                e,
                CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
            )
        },
    )
    .await;
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    (rig, detect)
}

/// "Connected" holds for the signal channel too: a mute and an unmute
/// reach the peer through the server at once. (A websocket that survived a
/// silent cut can sit in TCP's retransmission backoff for seconds after the
/// restore; a call that took it as working said "Reconnected" while its
/// requests went nowhere.)
async fn signal_works(rig: &Rig, when: &str) {
    for (muted, kind) in [(true, "track_muted"), (false, "track_unmuted")] {
        let mark = rig.peer.mark();
        let asked = Instant::now();
        rig.call.set_muted(muted).await;
        rig.peer
            .wait_for_after(
                mark,
                kind,
                |e| {
                    e.str("identity") == Some("rust-880")
                        && (e.kind() == kind
                            // After a rejoin the track may be published
                            // again only now, with the state asked.
                            || (e.kind() == "track_published" && e.bool("muted") == Some(muted)))
                },
                SIGNAL_ROUND_TRIP,
            )
            .await
            .unwrap_or_else(|e| panic!("{when}: {e}"));
        eprintln!(
            "{when}: {kind} seen by the peer {:?} after asking",
            asked.elapsed()
        );
    }
}

/// How soon a mute must reach the peer on a working signal channel (it
/// takes milliseconds here).
const SIGNAL_ROUND_TRIP: Duration = Duration::from_secs(2);

/// How long a recovered call is watched for a second outage.
const STAYS_CONNECTED: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_3_s_cut_resumes() {
    let (rig, detect) = cut_and_recover("res-3s", SECS(3), AttemptKind::Resume).await;
    assert!(detect < SECS(10), "detection took {detect:?}");
    rig.call.leave().await;
}

#[tokio::test]
async fn an_8_s_cut_resumes() {
    let (rig, _) = cut_and_recover("res-8s", SECS(8), AttemptKind::Resume).await;
    rig.call.leave().await;
}

#[tokio::test]
async fn a_12_s_cut_resumes() {
    let (rig, _) = cut_and_recover("res-12s", SECS(12), AttemptKind::Resume).await;
    rig.call.leave().await;
}

/// The attempt numbers the call announced, in order.
fn attempts_seen(rig: &Rig) -> Vec<u32> {
    rig.seen
        .iter()
        .filter_map(|e| match e {
            CallEvent::Reconnecting { attempt } => Some(*attempt),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_35_s_cut_rejoins_past_the_resume_window() {
    let (rig, _) = cut_and_recover("res-35s", SECS(35), AttemptKind::Rejoin).await;
    let attempts = attempts_seen(&rig);
    assert!(
        attempts.len() > 1,
        "one attempt for a 35 s cut: {attempts:?}"
    );
    assert!(
        attempts.windows(2).all(|w| w[1] == w[0] + 1),
        "{attempts:?}"
    );
    // The rejoin reconciled the participant list: the peer never left and
    // never joined twice.
    let about_peer = |e: &&CallEvent| match e {
        CallEvent::ParticipantJoined { participant } => participant.identity == "py-440",
        CallEvent::ParticipantLeft { identity } => identity == "py-440",
        _ => false,
    };
    let churn: Vec<&CallEvent> = rig.seen.iter().filter(about_peer).collect();
    assert_eq!(churn.len(), 1, "{churn:?}");
    assert_eq!(rig.call.participants().len(), 1);
    rig.call.leave().await;
}

#[tokio::test]
async fn a_120_s_cut_gives_up_with_network_error_at_the_policy_deadline() {
    let deadline = ReconnectPolicy::default().deadline;
    let mut rig = Rig::start("res-120s").await;
    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    // The deadline counts from the first attempt, started as the loss is
    // noticed.
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { attempt: 1 })
    })
    .await;
    let first_attempt = Instant::now();
    let detect = cut_at.elapsed();
    let e = rig
        .wait_event("disconnected", deadline + SECS(30), |e| {
            matches!(e, CallEvent::Disconnected { .. })
        })
        .await;
    let (from_cut, from_first) = (cut_at.elapsed(), first_attempt.elapsed());
    eprintln!(
        "detected after {detect:?}; gave up {from_cut:?} after the cut, \
         {from_first:?} after the first attempt (deadline {deadline:?})"
    );
    assert_eq!(
        e,
        CallEvent::Disconnected {
            reason: DisconnectReason::NetworkError
        }
    );
    assert_eq!(rig.call.connection_state(), ConnectionState::Disconnected);
    // It tried for the whole deadline, not one attempt and out: several
    // attempts, numbered 1, 2, 3 …
    let attempts = attempts_seen(&rig);
    assert!(attempts.len() > 1, "attempts: {attempts:?}");
    assert_eq!(attempts, (1..=attempts.len() as u32).collect::<Vec<_>>());
    // Not before the deadline …
    assert!(
        from_cut >= deadline - SECS(5),
        "gave up {from_cut:?} after the cut, before the {deadline:?} deadline"
    );
    assert!(
        from_first >= deadline - Duration::from_millis(500),
        "gave up {from_first:?} after the first attempt"
    );
    // … and at it: detection (~3 s) plus timer slack, never stuck.
    assert!(
        from_first <= deadline + GIVE_UP_SLACK,
        "gave up {from_first:?} after the first attempt"
    );
    assert!(
        from_cut <= deadline + SECS(5),
        "gave up {from_cut:?} after the cut"
    );
}

/// How late past the policy deadline a call may say it gave up (timer and
/// scheduling slack on a loaded 2-core machine; it is milliseconds idle).
const GIVE_UP_SLACK: Duration = Duration::from_secs(2);

async fn ends_without_retry(
    room: &str,
    act: impl AsyncFnOnce(&Rig),
    want: rtcstack::DisconnectReason,
) {
    let mut rig = Rig::start(room).await;
    act(&rig).await;
    let e = rig
        .wait_event("disconnected", SECS(15), |e| {
            matches!(e, CallEvent::Disconnected { .. })
        })
        .await;
    assert_eq!(e, CallEvent::Disconnected { reason: want });
    assert!(
        !rig.seen
            .iter()
            .any(|e| matches!(e, CallEvent::Reconnecting { .. })),
        "retried a terminal end: {:?}",
        rig.seen
    );
    assert_eq!(rig.call.connection_state(), ConnectionState::Disconnected);
}

#[tokio::test]
async fn remove_participant_ends_the_call_without_retries() {
    ends_without_retry(
        "res-remove",
        async |rig: &Rig| {
            rig.server
                .room_service()
                .remove_participant("res-remove", "rust-880")
                .await
                .unwrap()
        },
        rtcstack::DisconnectReason::ParticipantRemoved,
    )
    .await;
}

#[tokio::test]
async fn delete_room_ends_the_call_without_retries() {
    ends_without_retry(
        "res-delete",
        async |rig: &Rig| {
            rig.server
                .room_service()
                .delete_room("res-delete")
                .await
                .unwrap()
        },
        rtcstack::DisconnectReason::RoomDeleted,
    )
    .await;
}

#[tokio::test]
async fn a_duplicate_identity_ends_the_first_call_without_retries() {
    ends_without_retry(
        "res-dup",
        async |rig: &Rig| {
            // Someone joins as us: the server keeps the newcomer.
            let (second, _sink, _events) = join_with_capture(&rig.server, "res-dup", "rust-880")
                .await
                .unwrap();
            std::mem::forget(second); // stays in the room while we check
        },
        rtcstack::DisconnectReason::DuplicateIdentity,
    )
    .await;
}

#[tokio::test]
async fn mute_is_kept_across_resume_and_rejoin() {
    let mut rig = Rig::start("res-mute").await;
    rig.call.set_muted(true).await;
    let mark = rig.peer.mark();
    rig.peer
        .wait_for_after(
            mark,
            "our track muted",
            |e| e.kind() == "track_muted",
            SECS(10),
        )
        .await
        .unwrap();
    let mut sid_before = server_sid(&rig, "res-mute").await;
    for cut in [SECS(3), SECS(35)] {
        rig.server.link().unwrap().cut().unwrap();
        let t0 = Instant::now();
        rig.wait_event("reconnecting", SECS(20), |e| {
            matches!(e, CallEvent::Reconnecting { .. })
        })
        .await;
        tokio::time::sleep(cut.saturating_sub(t0.elapsed())).await;
        let mark = rig.peer.mark();
        rig.server.link().unwrap().restore().unwrap();
        let want = if cut < SECS(15) {
            AttemptKind::Resume
        } else {
            AttemptKind::Rejoin
        };
        reconnected_by(&mut rig, "res-mute", &sid_before, want).await;
        sid_before = server_sid(&rig, "res-mute").await;
        // Still muted: the peer hears silence from us, never the tone.
        rig.peer
            .wait_for_after(
                mark,
                "silence from us",
                |e| e.is_silence("rust-880"),
                SECS(20),
            )
            .await
            .unwrap();
        tokio::time::sleep(SECS(2)).await;
        let loud = rig.peer.events()[mark..]
            .iter()
            .any(|e| e.is_audible("rust-880"));
        assert!(!loud, "our muted tone was heard after the {cut:?} cut");
    }
    // Unmuting after all that brings the tone back.
    rig.call.set_muted(false).await;
    rig.both_ways("after unmuting").await;
}

#[tokio::test]
async fn a_20_percent_loss_with_jitter_for_60_s_causes_no_reconnect() {
    let mut rig = Rig::start("res-lossy").await;
    rig.server
        .link()
        .unwrap()
        .degrade(rtcstack_testbench::netns::Netem {
            loss_percent: 20.0,
            delay_ms: 100,
            jitter_ms: 100,
        })
        .unwrap();
    rig.none_within("a false alarm under loss and jitter", SECS(60), |e| {
        matches!(
            e,
            CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
        )
    })
    .await;
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    rig.server.link().unwrap().clear_degrade().unwrap();
    rig.both_ways("after 60 s of loss and jitter").await;
}

/// Simulates `scenario` and waits for the call to come back, both ways;
/// returns how it came back.
async fn survives(room: &str, scenario: Scenario, within: Duration) -> (Rig, AttemptKind) {
    let mut rig = Rig::start(room).await;
    rig.call.simulate(scenario).await;
    let t0 = Instant::now();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { attempt: 1 })
    })
    .await;
    let e = rig
        .wait_event("reconnected", within, |e| {
            matches!(e, CallEvent::Reconnected { .. })
        })
        .await;
    let CallEvent::Reconnected { kind } = e else {
        unreachable!()
    };
    eprintln!(
        "{room}: {scenario:?} → reconnected ({kind:?}) after {:?}",
        t0.elapsed()
    );
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    rig.both_ways(&format!("after {scenario:?}")).await;
    (rig, kind)
}

#[tokio::test]
async fn simulated_signal_reconnect_resumes() {
    let (rig, kind) = survives("sim-signal", Scenario::SignalReconnect, SECS(10)).await;
    assert_eq!(kind, AttemptKind::Resume);
    rig.call.leave().await;
}

#[tokio::test]
async fn simulated_node_failure_recovers() {
    let (rig, _) = survives("sim-node", Scenario::NodeFailure, SECS(20)).await;
    rig.call.leave().await;
}

#[tokio::test]
async fn simulated_migration_recovers() {
    let (rig, _) = survives("sim-migrate", Scenario::Migration, SECS(20)).await;
    rig.call.leave().await;
}

/// Our media path before the switch: UDP both ways.
async fn on_udp(rig: &Rig) {
    let paths = rig.call.media_paths().await.expect("a session");
    let protocols = |p: &rtcstack::MediaPaths| {
        (
            p.publisher.as_ref().map(|x| x.protocol),
            p.subscriber.as_ref().map(|x| x.protocol),
        )
    };
    assert_eq!(
        protocols(&paths),
        (Some(PathProtocol::Udp), Some(PathProtocol::Udp)),
        "before the switch: {paths:?}"
    );
}

#[tokio::test]
async fn simulated_force_tcp_moves_a_two_connection_call_to_tcp() {
    // A server without single-PC mode, or a client that does not ask for it.
    let room = "sim-tcp-dual";
    let rig = Rig::start_with(room, &TokenSpec::join(room, "rust-880"), |o, _| {
        o.single_peer_connection = false;
    })
    .await;
    on_udp(&rig).await;
    rig.call.simulate(Scenario::ForceTcp).await;
    // The server restarts the subscriber connection's ICE with its TCP
    // candidates only (and keeps only TCP candidates of ours from now on).
    // The selected pair there must become a TCP one.
    stays_on_tcp(rig).await;
}

#[tokio::test]
async fn simulated_force_tcp_takes_hold_at_the_next_resume() {
    let mut rig = Rig::start("sim-tcp").await;
    on_udp(&rig).await;
    rig.call.simulate(Scenario::ForceTcp).await;
    // With one connection, which we offer, the server cannot restart it:
    // it keeps the preference for the session's next ICE restart, and the
    // call stays as it is until then.
    rig.none_within("right after the switch", SECS(3), |e| {
        matches!(
            e,
            CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
        )
    })
    .await;
    on_udp(&rig).await;
    rig.call.simulate(Scenario::SignalReconnect).await;
    let e = rig
        .wait_event("a resume", SECS(15), |e| {
            matches!(e, CallEvent::Reconnected { .. })
        })
        .await;
    assert_eq!(
        e,
        CallEvent::Reconnected {
            kind: AttemptKind::Resume
        }
    );
    stays_on_tcp(rig).await;
}

/// The subscriber's path becomes TCP within 20 s, media flows on it both
/// ways, the kernels on both ends hold the connection, and no outage
/// follows.
async fn stays_on_tcp(mut rig: Rig) {
    let deadline = Instant::now() + SECS(20);
    let tcp = loop {
        let p = rig.call.media_paths().await;
        if let Some(sub) = p.as_ref().and_then(|p| p.subscriber.clone()) {
            if sub.protocol == PathProtocol::Tcp {
                break p.unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "still not on TCP 20 s after the switch: {p:?}; events {:?}",
            rig.seen
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("after the switch: {tcp:?}; events {:?}", rig.seen);
    let sub = tcp.subscriber.clone().unwrap();
    // A pair the server's own check found can stay peer-reflexive in the
    // statistics, its end unnamed: then it is the server's ICE-TCP port.
    let server_end = sub
        .remote
        .clone()
        .unwrap_or_else(|| rig.server.ice_tcp_address());
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    // Media flows on it: the tone both ways, and the TCP pair's bytes
    // growing at an audio stream's rate (50 Opus packets a second are
    // over 2 kB/s with their headers at the lowest bitrate).
    rig.both_ways("after the switch to TCP").await;
    let received = async || {
        let p = rig.call.media_paths().await.unwrap();
        let sub = p.subscriber.clone().unwrap();
        assert_eq!(sub.protocol, PathProtocol::Tcp, "{p:?}");
        (sub.bytes_received, p)
    };
    let (from, _) = received().await;
    let window = SECS(3);
    tokio::time::sleep(window).await;
    let (to, later) = received().await;
    let rate = (to - from) as f64 / window.as_secs_f64();
    assert!(
        rate > 2_000.0,
        "{rate:.0} B/s in on the TCP pair: not the peer's audio"
    );
    // The kernels agree: this process holds an established TCP connection
    // to the server's candidate, and the server's side has the same one.
    let ours: Vec<TcpConn> = tcp_connections(&mut std::process::Command::new("ss"))
        .into_iter()
        .filter(|c| c.peer == server_end && c.pid == Some(std::process::id()))
        .collect();
    assert!(
        !ours.is_empty(),
        "no TCP connection from this process to {server_end}"
    );
    let theirs = tcp_connections(&mut rig.server.link().unwrap().command("ss"));
    assert!(
        ours.iter().any(|o| theirs
            .iter()
            .any(|t| t.local == server_end && t.peer == o.local)),
        "the server's side does not have our connection {ours:?}: {theirs:?}"
    );
    eprintln!(
        "our TCP connection {} → {server_end}, {rate:.0} B/s in; publisher path {:?}",
        ours[0].local,
        later.publisher.map(|p| p.protocol)
    );
    rig.none_within("an outage on TCP", SECS(10), |e| {
        matches!(
            e,
            CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
        )
    })
    .await;
    rig.call.leave().await;
}

/// An established TCP connection, as `ss` lists it.
#[derive(Debug)]
struct TcpConn {
    local: String,
    peer: String,
    pid: Option<u32>,
}

/// The established TCP connections `ss` (run as `cmd`) lists, with the
/// owning process where it says.
fn tcp_connections(cmd: &mut std::process::Command) -> Vec<TcpConn> {
    let out = cmd
        .args(["-H", "-t", "-n", "-p", "state", "established"])
        .output()
        .expect("ss runs");
    assert!(out.status.success(), "ss: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            // Recv-Q Send-Q Local:Port Peer:Port [users:(("name",pid=N,fd=M))]
            let cols: Vec<&str> = line.split_whitespace().collect();
            let pid = line
                .split("pid=")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok());
            Some(TcpConn {
                local: ipv4(cols.get(2)?),
                peer: ipv4(cols.get(3)?),
                pid,
            })
        })
        .collect()
}

/// `a.b.c.d:port` for an IPv4-mapped `[::ffff:a.b.c.d]:port`: the server's
/// ICE-TCP listener is bound to the wildcard of both families (it ignores
/// `bind_addresses`), so its side lists IPv4 peers that way.
fn ipv4(addr: &str) -> String {
    match addr
        .strip_prefix("[::ffff:")
        .and_then(|r| r.split_once("]:"))
    {
        Some((ip, port)) => format!("{ip}:{port}"),
        None => addr.to_string(),
    }
}

#[tokio::test]
async fn a_signal_dropped_again_on_resume_still_recovers() {
    let mut rig = Rig::start("sim-resume-drop").await;
    rig.call.simulate(Scenario::DisconnectSignalOnResume).await;
    rig.call.simulate(Scenario::SignalReconnect).await;
    rig.wait_event("reconnected", SECS(30), |e| {
        matches!(e, CallEvent::Reconnected { .. })
    })
    .await;
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    rig.both_ways("after a resume whose signal dropped").await;
    rig.call.leave().await;
}

#[tokio::test]
async fn simulated_server_leave_ends_with_server_shutdown() {
    ends_without_retry(
        "sim-leave",
        async |rig: &Rig| rig.call.simulate(Scenario::ServerLeave).await,
        DisconnectReason::ServerShutdown,
    )
    .await;
}

#[tokio::test]
async fn a_server_hard_kill_and_restart_recovers() {
    let mut rig = Rig::start("res-kill").await;
    rig.server.hard_kill().unwrap();
    let killed = Instant::now();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { attempt: 1 })
    })
    .await;
    let detect = killed.elapsed();
    tokio::time::sleep(SECS(5).saturating_sub(killed.elapsed())).await;
    rig.server.start_again().await.unwrap();
    let restarted = Instant::now();
    rig.wait_event("reconnected", SECS(45), |e| {
        matches!(e, CallEvent::Reconnected { .. })
    })
    .await;
    eprintln!(
        "server killed: detected after {detect:?}, reconnected {:?} after the restart",
        restarted.elapsed()
    );
    assert!(detect < SECS(5), "a dead server noticed after {detect:?}");
    rig.both_ways("after the server restarted").await;
    rig.call.leave().await;
}

/// LiveKit's server re-mints our token in-band at join and every 5 minutes
/// (valid 10), so against it the token we hold never expires in a short
/// outage. A proxy that withholds those in-band tokens leaves us with our
/// own 30 s token, which then expires in the middle of a 35 s cut.
const SHORT_TTL: Duration = Duration::from_secs(30);

async fn token_rig(
    room: &str,
    refresher: Option<Arc<dyn rtcstack::token::TokenRefresher>>,
) -> (Rig, SignalProxy) {
    let proxy_slot = Arc::new(std::sync::Mutex::new(None));
    let slot = Arc::clone(&proxy_slot);
    let spec = TokenSpec::join(room, "rust-880").ttl(SHORT_TTL);
    // The proxy must exist before the join; start_with gives the server.
    let rig = Rig::start_with(room, &spec, move |o, server| {
        // Beside the server, so the cut cuts it too.
        let proxy = tokio::task::block_in_place(|| {
            let _rt = tokio::runtime::Handle::current().enter();
            let listener = server.link()?.listen_tcp()?;
            SignalProxy::start_on(listener, &server.url())
        })
        .unwrap();
        o.url = proxy.url();
        o.reconnect_policy.expiry_window = SECS(5);
        o.token_refresher = refresher;
        *slot.lock().unwrap() = Some(proxy);
    })
    .await;
    let proxy = proxy_slot.lock().unwrap().take().unwrap();
    assert!(
        proxy.dropped_refreshes() >= 1,
        "the server sent no in-band token"
    );
    (rig, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_during_a_35_s_cut_is_refreshed_once_then_the_call_rejoins() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let room = "tok-refresh";
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    // The refresher mints like a backend would, with the server's key.
    let keys: Arc<std::sync::Mutex<Option<(String, String)>>> = Default::default();
    let keys_for_refresher = Arc::clone(&keys);
    let refresher = rtcstack::token::refresher_fn(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let (key, secret) = keys_for_refresher
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default();
        let token = TokenSpec::join(room, "rust-880")
            .name("refreshed")
            .mint(&key, &secret);
        async move { token.map_err(|e| rtcstack::token::RefreshError::Unavailable(e.to_string())) }
    });
    let (mut rig, _proxy) = token_rig(room, Some(refresher)).await;
    *keys.lock().unwrap() = Some((
        rig.server.api_key().to_string(),
        rig.server.api_secret().to_string(),
    ));
    let first_expiry = rig.call.token_expires_at().unwrap();
    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    assert!(
        SystemTime::now() < first_expiry,
        "the set-up took too long: the token expired before the cut"
    );
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { .. })
    })
    .await;
    tokio::time::sleep(SECS(35).saturating_sub(cut_at.elapsed())).await;
    assert!(
        first_expiry < SystemTime::now(),
        "the token outlived the cut"
    );
    rig.server.link().unwrap().restore().unwrap();
    let back = rig
        .wait_event("reconnected", SECS(45), |e| {
            matches!(e, CallEvent::Reconnected { .. })
        })
        .await;
    assert_eq!(
        back,
        CallEvent::Reconnected {
            kind: AttemptKind::Rejoin
        }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "refresher calls");
    assert!(rig.call.token_expires_at().unwrap() > first_expiry + SECS(60));
    // The server knows us by the refreshed token's name: the rejoin used it.
    assert_eq!(
        rig.call.local_participant().map(|p| p.name),
        Some("refreshed".to_string())
    );
    rig.both_ways("after a rejoin with the refreshed token")
        .await;
    rig.call.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_during_a_35_s_cut_without_a_refresher_ends_with_token_expired() {
    let (mut rig, _proxy) = token_rig("tok-none", None).await;
    let expiry = rig.call.token_expires_at().unwrap();
    rig.server.link().unwrap().cut().unwrap();
    let e = rig
        .wait_event("disconnected", SECS(45), |e| {
            matches!(e, CallEvent::Disconnected { .. })
        })
        .await;
    assert_eq!(
        e,
        CallEvent::Disconnected {
            reason: DisconnectReason::TokenExpired
        }
    );
    // At the first attempt due after the expiry (an attempt in flight runs
    // out its 8 s; the backoff adds at most 5 s), not at the policy's 60 s
    // deadline after a string of doomed retries.
    let after = SystemTime::now().duration_since(expiry).unwrap_or_default();
    assert!(after < SECS(14), "ended {after:?} after the token expired");
    assert!(
        rig.seen.contains(&CallEvent::TokenExpired),
        "{:?}",
        rig.seen
    );
}
