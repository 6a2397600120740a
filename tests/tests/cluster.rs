//! A LiveKit cluster as self-hosted (`scripts/test cluster`): two
//! livekit-server nodes sharing Redis behind haproxy, our engine and
//! LiveKit's Python SDK joining through the balancer. The node hosting the
//! room is killed, or drained as for an upgrade, mid-call. Needs root.
//!
//! The room is placed on node 0 by starting node 1 only after both have
//! joined: a room stays on the node that made it while that node is alive.

use std::time::{Duration, Instant};

use rtcstack::events::AttemptKind;
use rtcstack::{CallEvent, ConnectionState};
use rtcstack_testbench::cluster::Cluster;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::rig::Rig;
use rtcstack_testbench::tokens::TokenSpec;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Our reconnect policy's overall deadline: the call must be back within it.
const POLICY_DEADLINE: Duration = Duration::from_secs(60);

/// A call between us ("rust-880") and the Python peer ("py-440") on node 0
/// of a two-node cluster, with node 1 up and in the balancer by the end.
async fn call_on_node0(room: &str) -> Rig<Cluster> {
    let cluster = Cluster::start(2, 1).await.unwrap();
    let peer = cluster
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();
    let mut rig = Rig::join(cluster, peer, &TokenSpec::join(room, "rust-880"), |_, _| {}).await;
    rig.server.start_node(1).await.unwrap();
    rig
}

/// Everyone in `room` by RoomService, sorted (duplicates kept).
async fn identities(rig: &Rig<Cluster>, room: &str) -> Vec<String> {
    let mut ids = rig.server.room_service().identities(room).await.unwrap();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_hosting_node_killed_the_call_rejoins_on_the_other() {
    let room = "cluster-node-lost";
    let mut rig = call_on_node0(room).await;
    assert_eq!(identities(&rig, room).await, ["py-440", "rust-880"]);
    let peer_mark = rig.peer.mark();

    let killed_at = Instant::now();
    rig.server.node(0).hard_kill().unwrap();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { attempt: 1 })
    })
    .await;
    let detected = killed_at.elapsed();
    let e = rig
        .wait_event("reconnected", POLICY_DEADLINE, |e| {
            matches!(e, CallEvent::Reconnected { .. })
        })
        .await;
    let recovered = killed_at.elapsed();
    let attempts: Vec<u32> = rig
        .seen
        .iter()
        .filter_map(|e| match e {
            CallEvent::Reconnecting { attempt } => Some(*attempt),
            _ => None,
        })
        .collect();
    eprintln!(
        "node 0 killed: Reconnecting after {detected:?}, Reconnected ({e:?}) after \
         {recovered:?}, attempts {attempts:?}; events {:?}",
        rig.seen
    );
    // The session died with its node: only a new one on node 1 can work.
    assert_eq!(
        e,
        CallEvent::Reconnected {
            kind: AttemptKind::Rejoin
        }
    );
    assert!(
        recovered < POLICY_DEADLINE,
        "back after {recovered:?} (policy deadline {POLICY_DEADLINE:?})"
    );
    // The attempts were shown one by one, from the first.
    assert_eq!(attempts, (1..=attempts.len() as u32).collect::<Vec<_>>());
    rig.peer
        .wait_for_after(
            peer_mark,
            "the Python peer back",
            |e| e.kind() == "reconnected",
            POLICY_DEADLINE,
        )
        .await
        .expect("the Python peer reconnected");
    rig.both_ways("on node 1").await;
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    // Nobody twice: not on the server, not in our list.
    assert_eq!(identities(&rig, room).await, ["py-440", "rust-880"]);
    let ours: Vec<String> = rig
        .call
        .participants()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    assert_eq!(ours, ["py-440"]);
    rig.call.leave().await;
}

#[tokio::test]
async fn a_drained_node_keeps_the_call_until_it_ends() {
    let room = "cluster-node-drained";
    let mut rig = call_on_node0(room).await;

    let drained_at = Instant::now();
    rig.server.node(0).terminate().unwrap();
    // LiveKit's graceful shutdown takes no new rooms on the node and waits
    // for its participants to leave: the call stays where it is.
    rig.none_within("an outage while node 0 drains", SECS(10), |e| {
        matches!(
            e,
            CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
        )
    })
    .await;
    rig.both_ways("while node 0 drains").await;
    assert_eq!(rig.call.connection_state(), ConnectionState::Connected);
    assert!(
        rig.server.node(0).is_running(),
        "node 0 exited {:?} after SIGTERM with the call on it",
        drained_at.elapsed()
    );
    eprintln!(
        "node 0 drained: the call went on for {:?} with no reconnect; events {:?}",
        drained_at.elapsed(),
        rig.seen
    );

    // Once the room is empty the node finishes (it looks every 5 s).
    rig.call.leave().await;
    rig.peer.leave().await.unwrap();
    let left_at = Instant::now();
    let node = rig.server.node(0);
    while node.is_running() {
        assert!(
            left_at.elapsed() < SECS(15),
            "node 0 still running 15 s after its last participant left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "node 0 exited {:?} after the last participant left",
        left_at.elapsed()
    );
}
