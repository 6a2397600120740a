//! Rooms of fifty (`scripts/test bigroom`): a real livekit-server, 49
//! participants on our engine (three of them talking, the rest publishing
//! silence), and us. Needs root.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rtcstack::{CallEvent, ConnectionState};
use rtcstack_testbench::client::{join_with_capture, wait_hearing};
use rtcstack_testbench::crowd::Crowd;
use rtcstack_testbench::server::LiveKitServer;

const SECS: fn(u64) -> Duration = Duration::from_secs;
const CROWD: usize = 49;
const TALKING: usize = 3;

/// The crowd's talkers, as the server names them speaking.
fn talkers() -> BTreeSet<String> {
    (0..TALKING).map(|i| format!("crowd-{i:02}")).collect()
}

#[tokio::test]
async fn fifty_in_a_room_everyone_listed_the_talkers_marked_and_heard() {
    let room = "bigroom-engine";
    let server = LiveKitServer::start().await.unwrap();
    let crowd = Crowd::join(&server.url(), room, CROWD, TALKING, |s| server.token(s))
        .await
        .unwrap();
    let started = Instant::now();
    let (call, sink, mut events) = join_with_capture(&server, room, "rust-880").await.unwrap();
    let joined = started.elapsed();

    // Everyone listed once; the talkers marked speaking (each at least
    // once: they pause between phrases), nobody else ever.
    let deadline = Instant::now() + SECS(20);
    let mut marked = BTreeSet::new();
    let listed = loop {
        while let Ok(e) = events.try_recv() {
            if let CallEvent::ParticipantUpdated { participant } = &e {
                if participant.speaking {
                    marked.insert(participant.identity.clone());
                }
            }
            assert!(
                !matches!(
                    e,
                    CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
                ),
                "{e:?} in a room of {}",
                CROWD + 1
            );
        }
        let people = call.participants();
        if people.len() == CROWD && marked == talkers() {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline && marked.is_subset(&talkers()),
            "after {:?}: {} listed, marked speaking {marked:?}",
            started.elapsed(),
            people.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ids: BTreeSet<String> = call
        .participants()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    assert_eq!(ids, crowd.identities().iter().cloned().collect());
    for (i, who) in talkers().iter().enumerate() {
        wait_hearing(&sink, who, 300.0 + 40.0 * i as f64, 5.0, SECS(10))
            .await
            .unwrap();
    }
    eprintln!(
        "room of {}: joined in {joined:?}, all listed with the talkers marked after {listed:?}",
        CROWD + 1
    );

    // Steady for a while: no outage, nobody dropped.
    let calm = Instant::now() + SECS(5);
    while Instant::now() < calm {
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await {
            assert!(
                !matches!(
                    e,
                    CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
                ),
                "{e:?} in a room of {}",
                CROWD + 1
            );
        }
    }
    assert_eq!(call.connection_state(), ConnectionState::Connected);
    assert!(crowd.all_connected(), "a crowd member dropped");
    call.leave().await;
    crowd.leave().await;
}
