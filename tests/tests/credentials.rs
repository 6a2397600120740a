//! Tokens from a token endpoint (`scripts/test credentials`, SDK half): the
//! project's token service issuing 60 s tokens to our engine, against a real
//! livekit-server whose in-band refreshed tokens are withheld (otherwise the
//! server keeps a token alive by itself and the endpoint is never asked), and
//! the endpoint misbehaving. Needs root (the cut).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rtcstack::CallEvent;
use rtcstack_testbench::rig::Rig;
use rtcstack_testbench::signal_proxy::SignalProxy;
use rtcstack_testbench::token_service::{Behaviour, TokenService};
use rtcstack_testbench::tokens::TokenSpec;
use rtcstack_token_endpoint::{Credential, EndpointError, TokenEndpoint, TokenRequest};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const CREDENTIAL: &str = "bearer-credential-7f3a9c";

fn endpoint(service: &TokenService, room: &str) -> TokenEndpoint {
    TokenEndpoint::new(
        &service.url(),
        Credential::new(CREDENTIAL),
        TokenRequest {
            room: room.into(),
            name: "Rust".into(),
            identity: "rust-880".into(),
        },
    )
    .unwrap()
}

/// A call whose token came from the endpoint, which is also its refresher,
/// through a proxy that withholds the server's in-band tokens.
async fn endpoint_rig(room: &str, ttl: Duration) -> (Rig, TokenService, SignalProxy) {
    let slot = Arc::new(std::sync::Mutex::new(None));
    let put = Arc::clone(&slot);
    let rig = Rig::start_with(room, &TokenSpec::join(room, "unused"), move |o, server| {
        let (service, proxy, token) = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let service =
                    TokenService::start(server.api_key(), server.api_secret(), CREDENTIAL, ttl)
                        .await
                        .unwrap();
                let proxy = SignalProxy::start(&server.url()).await.unwrap();
                let token = endpoint(&service, room).fetch().await.unwrap();
                (service, proxy, token)
            })
        });
        o.url = proxy.url();
        o.token = token;
        o.token_refresher = Some(Arc::new(endpoint(&service, room)));
        *put.lock().unwrap() = Some((service, proxy));
    })
    .await;
    let (service, proxy) = slot.lock().unwrap().take().unwrap();
    (rig, service, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_four_minute_call_on_60_s_tokens_keeps_working_across_refreshes() {
    let (mut rig, service, proxy) = endpoint_rig("ep-long", SECS(60)).await;
    let start = Instant::now();
    let first_expiry = rig.call.token_expires_at().unwrap();
    // Four minutes, watching every event: no reconnect, no failed refresh.
    // (`TokenExpired` is the expiry window opening: with a refresher it
    // starts a refresh and is no failure.)
    while start.elapsed() < SECS(240) {
        let left = SECS(240).saturating_sub(start.elapsed());
        if let Ok(Some(e)) = tokio::time::timeout(left, rig.events.recv()).await {
            assert!(
                !matches!(
                    e,
                    CallEvent::Reconnecting { .. }
                        | CallEvent::Disconnected { .. }
                        | CallEvent::TokenRefreshFailed { .. }
                ),
                "{e:?} during the call; token requests {:?}",
                service.seen()
            );
            rig.seen.push(e);
        }
    }
    let seen = service.seen();
    // The join's request, then one about every half-life (30 s).
    assert!(
        seen.len() >= 7,
        "only {} token requests in 4 min",
        seen.len()
    );
    assert!(
        seen.iter().all(|s| s.status == 200 && s.authorized),
        "{seen:?}"
    );
    let updates = rig
        .seen
        .iter()
        .filter(|e| matches!(e, CallEvent::TokenUpdated { .. }))
        .count();
    assert!(updates >= 6, "{updates} token updates");
    // We are on a token the original would not have covered.
    assert!(SystemTime::now() > first_expiry);
    assert!(rig.call.token_expires_at().unwrap() > SystemTime::now());
    assert!(
        proxy.dropped_refreshes() >= 1,
        "the server sent no in-band token to withhold"
    );
    rig.both_ways("after 4 minutes on 60 s tokens").await;
    rig.call.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_35_s_cut_in_which_the_token_expires_recovers_asking_the_endpoint_first() {
    let (mut rig, service, _proxy) = endpoint_rig("ep-cut", SECS(60)).await;
    // Cut when less than the cut's length is left on the token, just
    // before the next half-life refresh (due at 30 s left).
    let deadline = Instant::now() + SECS(45);
    let expiry = loop {
        let expiry = rig.call.token_expires_at().unwrap();
        let left = expiry.duration_since(SystemTime::now()).unwrap_or_default();
        if left <= SECS(32) && left > SECS(30) {
            break expiry;
        }
        assert!(
            Instant::now() < deadline,
            "never caught the token with 30–32 s left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The network is gone: the server and the token service with it.
    service.set(Behaviour::Down);
    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { .. })
    })
    .await;
    tokio::time::sleep(SECS(35).saturating_sub(cut_at.elapsed())).await;
    assert!(SystemTime::now() > expiry, "the token outlived the cut");
    while let Ok(e) = rig.events.try_recv() {
        rig.seen.push(e);
    }
    assert!(
        rig.seen
            .iter()
            .any(|e| matches!(e, CallEvent::TokenRefreshFailed { .. })),
        "no refresh was tried during the cut: {:?}",
        rig.seen
    );
    let before = service.seen().iter().filter(|s| s.status == 200).count();
    service.set(Behaviour::Issue);
    rig.server.link().unwrap().restore().unwrap();
    let restored = Instant::now();
    rig.wait_event("reconnected", SECS(30), |e| {
        matches!(e, CallEvent::Reconnected)
    })
    .await;
    let reconnected = Instant::now();
    let fresh: Vec<_> = service
        .seen()
        .into_iter()
        .filter(|s| s.status == 200)
        .skip(before)
        .collect();
    assert!(
        fresh
            .iter()
            .any(|s| s.at >= restored && s.at <= reconnected),
        "no token from the endpoint between the restore and the reconnect: {fresh:?}"
    );
    assert!(rig.call.token_expires_at().unwrap() > SystemTime::now() + SECS(20));
    rig.both_ways("after the cut, on the endpoint's new token")
        .await;
    rig.call.leave().await;
}

/// The endpoint alone (no LiveKit server needed): each misbehaviour gives
/// its specified outcome, inside the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_answering_401_500_garbage_or_hanging_each_gets_its_behaviour() {
    let secret = "api-secret-for-the-endpoint-test-0123456789";
    let service = TokenService::start("key", secret, CREDENTIAL, SECS(60))
        .await
        .unwrap();

    // A good answer first, to show the rest fail for their own reason.
    assert!(endpoint(&service, "r").fetch().await.is_ok());
    let wrong = TokenEndpoint::new(
        &service.url(),
        Credential::new("not-the-credential"),
        TokenRequest {
            room: "r".into(),
            name: "n".into(),
            identity: "i".into(),
        },
    )
    .unwrap();

    let cases: [(Behaviour, &str); 4] = [
        (Behaviour::Status(401), "401"),
        (Behaviour::Status(500), "500"),
        (Behaviour::Garbage, "garbage"),
        (Behaviour::Hang, "hang"),
    ];
    for (behaviour, name) in cases {
        service.set(behaviour);
        let before = service.seen().len();
        let t0 = Instant::now();
        let err = endpoint(&service, "r").fetch().await.unwrap_err();
        let took = t0.elapsed();
        let tries = service.seen().len() - before;
        println!("{name}: {took:?}, {tries} requests: {err}");
        assert!(took < SECS(10), "{name} took {took:?}");
        match behaviour {
            // Never retried: the user must sign in again.
            Behaviour::Status(401) => {
                assert_eq!(err, EndpointError::SignInAgain(401));
                assert_eq!(tries, 1);
                assert!(err.needs_user());
            }
            // Retried with growing pauses, then "unavailable".
            Behaviour::Status(500) => {
                assert!(matches!(err, EndpointError::Unavailable { .. }), "{err}");
                assert!(tries >= 3, "{tries} tries");
                let at: Vec<_> = service.seen()[before..].iter().map(|s| s.at).collect();
                let gaps: Vec<_> = at.windows(2).map(|w| w[1] - w[0]).collect();
                assert!(
                    gaps.windows(2).all(|g| g[1] >= g[0]),
                    "backoff shrank: {gaps:?}"
                );
            }
            Behaviour::Garbage => {
                assert!(matches!(err, EndpointError::Malformed(_)), "{err}");
                assert_eq!(tries, 1, "garbage is not retried");
                assert!(err.to_string().contains("not JSON"));
            }
            // One try that never answers: the deadline ends it.
            Behaviour::Hang => {
                assert!(
                    matches!(
                        err,
                        EndpointError::Timeout(_) | EndpointError::Unavailable { .. }
                    ),
                    "{err}"
                );
                assert!(took >= SECS(3), "{took:?}");
            }
            _ => unreachable!(),
        }
        assert!(!err.to_string().contains(CREDENTIAL));
    }
    service.set(Behaviour::Issue);
    assert_eq!(
        wrong.fetch().await.unwrap_err(),
        EndpointError::SignInAgain(401)
    );
    // A token for another room is refused, not used.
    let other = endpoint(&service, "elsewhere");
    assert!(other.fetch().await.is_ok());
    for token in service.issued() {
        assert!(!format!("{:?}", service.seen()).contains(&token));
    }
}
