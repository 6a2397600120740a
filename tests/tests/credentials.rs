//! Credentials (`scripts/test credentials`). First the engine on tokens from
//! a token endpoint: the project's token service issuing 60 s tokens, a real
//! livekit-server whose in-band refreshed tokens are withheld (otherwise the
//! server keeps a token alive by itself and the endpoint is never asked), and
//! the endpoint misbehaving. Then the real app under Xvfb with a real Secret
//! Service (gnome-keyring on a private bus): profiles' secrets in the
//! keychain, a missing or locked keychain, and a search for leaked secrets.
//! Needs root (namespaces, the cut) and a display (scripts/test gives one).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rtcstack::supervisor::ReconnectPolicy;
use rtcstack::CallEvent;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::rig::Rig;
use rtcstack_testbench::secret_service::SecretService;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::signal_proxy::SignalProxy;
use rtcstack_testbench::token_service::{Behaviour, TokenService};
use rtcstack_testbench::tokens::{find_jwts, holds_secret, jwt_label, TokenSpec};
use rtcstack_token_endpoint::{Credential, EndpointError, Retry, TokenEndpoint, TokenRequest};

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
                // Beside the server: cut with it.
                let listener = server.link().unwrap().listen_tcp().unwrap();
                let proxy = SignalProxy::start_on(listener, &server.url()).unwrap();
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
async fn a_100_s_call_on_20_s_tokens_keeps_working_across_refreshes() {
    // Five token lifetimes: each refresh is asked for at half-life (10 s
    // left), so the call lives on its ninth or tenth token by the end.
    const CALL: Duration = Duration::from_secs(100);
    let (mut rig, service, proxy) = endpoint_rig("ep-long", SECS(20)).await;
    let start = Instant::now();
    let first_expiry = rig.call.token_expires_at().unwrap();
    let mut updates = 0;
    // Watching every event: no reconnect, no failed refresh.
    // (`TokenExpired` is the expiry window opening: with a refresher it
    // starts a refresh and is no failure.)
    while start.elapsed() < CALL {
        let left = CALL.saturating_sub(start.elapsed());
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
            updates += usize::from(matches!(e, CallEvent::TokenUpdated { .. }));
            rig.seen.push(e);
        }
    }
    let seen = service.seen();
    // The join's request, then one every 10 s: 11 in 100 s. Fewer than 9
    // means a refresh was skipped; more than 12, a refresh loop.
    assert!(
        (9..=12).contains(&seen.len()),
        "{} token requests in 100 s on 20 s tokens: {seen:?}",
        seen.len()
    );
    assert!(
        seen.iter().all(|s| s.status == 200 && s.authorized),
        "{seen:?}"
    );
    // Every token asked for was applied, the join's included (the last
    // refresh may still be on its way).
    assert!(
        (seen.len() - 1..=seen.len()).contains(&updates),
        "{updates} token updates for {} requests",
        seen.len()
    );
    // We are on a token the original would not have covered.
    assert!(SystemTime::now() > first_expiry + SECS(60));
    assert!(rig.call.token_expires_at().unwrap() > SystemTime::now());
    assert!(
        proxy.dropped_refreshes() >= 1,
        "the server sent no in-band token to withhold"
    );
    rig.both_ways("after 100 s on 20 s tokens").await;
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
    // The network comes back: the token service first (it is on loopback
    // here, so it answers at once), then the link.
    let restored = Instant::now();
    service.set(Behaviour::Issue);
    rig.server.link().unwrap().restore().unwrap();
    rig.wait_event("reconnected", SECS(30), |e| {
        matches!(e, CallEvent::Reconnected { .. })
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
        "no token from the endpoint between the restore and the reconnect: {fresh:?}; \
         restored at {restored:?}, reconnected at {reconnected:?}; requests {:?}; events {:?}",
        service.seen(),
        rig.seen
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

    // A silent service, by the policy: each try waits `per_try` (4 s) for
    // an answer, then pauses (300 ms) and tries again; the second try's
    // 4 s end at 8.3 s, when a third try after its pause (600 ms) would
    // have under the 100 ms `fetch` asks of a try left of `overall` (9 s).
    // So the error comes then: not sooner (a try cut short would call a
    // slow service silent), and inside the call's refresh timeout (10 s),
    // so the call hears our reason rather than its own.
    let retry = Retry::default();
    let second_try_at = retry.per_try + retry.backoff(1);
    let silent_gives_up_at = second_try_at + retry.per_try;
    assert!(
        silent_gives_up_at < retry.overall
            && silent_gives_up_at + retry.backoff(2) + Duration::from_millis(100) >= retry.overall
            && retry.overall < ReconnectPolicy::default().refresh_timeout,
        "the retry policy changed ({retry:?}): work out the hanging case again"
    );

    let mut errors = Vec::new();
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
                // Growing pauses up to the cap (timer jitter allowed).
                let slack = Duration::from_millis(50);
                assert!(
                    gaps.windows(2).all(|g| g[1] + slack >= g[0]),
                    "backoff shrank: {gaps:?}"
                );
                assert!(
                    gaps[1] > gaps[0] + Duration::from_millis(200),
                    "no backoff: {gaps:?}"
                );
            }
            Behaviour::Garbage => {
                assert!(matches!(err, EndpointError::Malformed(_)), "{err}");
                assert_eq!(tries, 1, "garbage is not retried");
                assert!(err.to_string().contains("not JSON"));
            }
            // Tries that never answer: two, each given its full time,
            // then "did not answer" (not "unavailable": nothing failed).
            Behaviour::Hang => {
                assert!(matches!(err, EndpointError::Timeout(_)), "{err}");
                assert!(err.to_string().contains("did not answer"), "{err}");
                assert_eq!(tries, 2, "tries at a silent service");
                assert!(
                    took >= silent_gives_up_at && took < retry.overall,
                    "a silent service gave up after {took:?}, not in [{silent_gives_up_at:?}, {:?})",
                    retry.overall
                );
                let at: Vec<_> = service.seen()[before..].iter().map(|s| s.at).collect();
                let gap = at[1] - at[0];
                assert!(
                    gap + Duration::from_millis(100) >= second_try_at
                        && gap < second_try_at + SECS(1),
                    "the second try came {gap:?} after the first, not after {second_try_at:?}"
                );
            }
            _ => unreachable!(),
        }
        errors.push(err);
    }
    service.set(Behaviour::Issue);
    let err = wrong.fetch().await.unwrap_err();
    assert_eq!(err, EndpointError::SignInAgain(401));
    errors.push(err);
    // A token for another room than the one asked for is refused, not
    // used, and not asked for again.
    service.set(Behaviour::OtherRoom);
    let before = service.seen().len();
    let err = endpoint(&service, "r").fetch().await.unwrap_err();
    assert_eq!(
        err,
        EndpointError::WrongRoom {
            asked: "r".into(),
            got: "r-other".into()
        }
    );
    assert_eq!(service.seen().len() - before, 1);
    errors.push(err);
    // No error tells the credential or a token (the refused one included).
    let issued = service.issued();
    assert!(issued.len() >= 2, "{} tokens issued", issued.len());
    for err in &errors {
        let text = err.to_string();
        assert!(!holds_secret(text.as_bytes(), CREDENTIAL), "{text}");
        assert_eq!(find_jwts(text.as_bytes()), Vec::<String>::new(), "{text}");
        for token in &issued {
            assert!(!holds_secret(text.as_bytes(), token), "{text}");
        }
    }
}

// ---- The app: profiles, the keychain, and no secret anywhere it should not be.

/// The app, with its files under `home` and the keychain on `bus`.
async fn start_app(bus: &str, home: &Path, extra: &[(&str, &str)]) -> AppSession {
    let dirs = ["config", "data", "cache"].map(|d| home.join(d).display().to_string());
    let home_s = home.display().to_string();
    let mut envs = vec![
        ("DBUS_SESSION_BUS_ADDRESS", bus),
        ("HOME", home_s.as_str()),
        ("XDG_CONFIG_HOME", dirs[0].as_str()),
        ("XDG_DATA_HOME", dirs[1].as_str()),
        ("XDG_CACHE_HOME", dirs[2].as_str()),
    ];
    envs.extend_from_slice(extra);
    let app = AppSession::start(&envs).await.unwrap();
    app.wait_ready(SECS(20)).await.unwrap();
    app
}

async fn until(
    app: &AppSession,
    what: &str,
    within: Duration,
    mut ok: impl AsyncFnMut(&AppSession) -> bool,
) {
    let deadline = Instant::now() + within;
    while !ok(app).await {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; state {:?}, join error {:?}, profile error {:?}, summary {:?}",
            app.text("connection-state").await,
            app.text("join-error").await,
            app.text("profile-error").await,
            app.text("profile-summary").await,
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn profile_ids(app: &AppSession) -> Vec<String> {
    let js = "return [...document.querySelectorAll('[data-testid=profile-select] option')].map((o) => o.value);";
    serde_json::from_value(app.client.execute(js, vec![]).await.unwrap()).unwrap()
}

struct NewProfile<'a> {
    name: &'a str,
    kind: &'a str,
    url: &'a str,
    room: &'a str,
    endpoint: &'a str,
    api_key: &'a str,
    secret: &'a str,
}

/// Types `text` into a field (a field left empty is only cleared).
async fn fill(app: &AppSession, id: &str, text: &str) {
    if text.is_empty() {
        let js = format!("document.querySelector('[data-testid={id}]').value = '';");
        app.client.execute(&js, vec![]).await.unwrap();
    } else {
        app.type_into(id, text).await.unwrap();
    }
}

/// The profile form's parts for each kind of profile: on screen only for
/// that kind (the self-hosted kind says plainly it holds the secret).
const KIND_PARTS: [(&str, &[&str]); 3] = [
    ("kind-endpoint", &["profile-endpoint", "profile-credential"]),
    (
        "kind-self-hosted",
        &[
            "profile-api-key",
            "profile-api-secret",
            "self-hosted-warning",
        ],
    ),
    ("kind-pasted", &["profile-token"]),
];

/// With `kind` chosen, the form shows its parts and none of the others'.
async fn form_shows_kind(app: &AppSession, kind: &str) {
    for (k, parts) in KIND_PARTS {
        for part in parts {
            let seen = app.seen(part).await;
            assert_eq!(
                seen.visible(),
                k == kind,
                "with {kind} chosen, {part} (of {k}): {seen}"
            );
        }
    }
}

/// Fills the profile form as a person would and saves it.
async fn add_profile(app: &AppSession, p: NewProfile<'_>) {
    app.click("profile-new").await.unwrap();
    app.wait_visible("profile-form", SECS(5)).await.unwrap();
    fill(app, "profile-name", p.name).await;
    app.click(p.kind).await.unwrap();
    form_shows_kind(app, p.kind).await;
    fill(app, "profile-url", p.url).await;
    fill(app, "profile-room", p.room).await;
    let secret_field = match p.kind {
        "kind-endpoint" => {
            fill(app, "profile-endpoint", p.endpoint).await;
            "profile-credential"
        }
        "kind-self-hosted" => {
            fill(app, "profile-api-key", p.api_key).await;
            "profile-api-secret"
        }
        _ => "profile-token",
    };
    fill(app, secret_field, p.secret).await;
    app.click("profile-save").await.unwrap();
}

/// Adds a profile and waits until the list shows it.
async fn add_listed_profile(app: &AppSession, p: NewProfile<'_>) {
    let before = profile_ids(app).await.len();
    add_profile(app, p).await;
    until(app, "the new profile listed", SECS(15), async |a| {
        profile_ids(a).await.len() == before + 1
    })
    .await;
    app.wait_gone("profile-form", SECS(5)).await.unwrap();
}

impl<'a> NewProfile<'a> {
    fn endpoint(url: &'a str, room: &'a str, endpoint: &'a str) -> Self {
        NewProfile {
            name: "Work",
            kind: "kind-endpoint",
            url,
            room,
            endpoint,
            api_key: "",
            secret: CREDENTIAL,
        }
    }
}

async fn join(app: &AppSession) {
    app.type_into("join-name", "Ada").await.unwrap();
    app.click("join-button").await.unwrap();
    until(app, "connected", SECS(25), async |a| {
        a.text("connection-state").await == "connected"
    })
    .await;
}

async fn leave(app: &AppSession) {
    app.click("leave").await.unwrap();
    until(app, "left", SECS(10), async |a| {
        a.visible("join-screen").await
    })
    .await;
}

/// A server and the token service minting for it, `ttl` tokens for
/// [`CREDENTIAL`].
async fn server_with_endpoint(ttl: Duration) -> (LiveKitServer, TokenService) {
    let server = LiveKitServer::start().await.unwrap();
    let service = TokenService::start(server.api_key(), server.api_secret(), CREDENTIAL, ttl)
        .await
        .unwrap();
    (server, service)
}

fn profiles_file(home: &Path) -> std::path::PathBuf {
    home.join("config/dev.rtcstack.desktop/profiles.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profiles_secret_lives_in_the_keychain_across_a_restart_and_goes_with_the_profile() {
    let keychain = SecretService::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (server, service) = server_with_endpoint(SECS(600)).await;
    let app = start_app(keychain.address(), home.path(), &[]).await;
    assert!(app
        .text("profile-summary")
        .await
        .contains("No server profile"));
    let url = server.url();
    let endpoint_url = service.url();
    add_listed_profile(&app, NewProfile::endpoint(&url, "kc-room", &endpoint_url)).await;
    let id = app.value("profile-select").await;
    assert_eq!(
        keychain.lookup(&id).unwrap().as_deref(),
        Some(CREDENTIAL),
        "not in the keychain"
    );
    let file = std::fs::read_to_string(profiles_file(home.path())).unwrap();
    assert!(file.contains("Work") && file.contains(&id), "{file}");
    assert!(
        !holds_secret(file.as_bytes(), CREDENTIAL) && find_jwts(file.as_bytes()).is_empty(),
        "the credential or a token is in the profiles file: {file}"
    );
    assert_eq!(
        app.value("profile-credential").await,
        "",
        "the form kept the secret"
    );
    app.close().await.unwrap();

    // A new run: the profile is back, and its secret with it (the join
    // asks the endpoint with it).
    let app = start_app(keychain.address(), home.path(), &[]).await;
    assert_eq!(app.value("profile-select").await, id);
    join(&app).await;
    let seen = service.seen();
    assert!(
        seen.iter().any(|s| s.authorized && s.room == "kc-room"),
        "{seen:?}"
    );
    leave(&app).await;

    // Deleting the profile deletes its secret.
    app.click("profile-delete").await.unwrap();
    app.click("profile-delete").await.unwrap(); // the second click confirms
    until(&app, "the profile gone", SECS(15), async |a| {
        profile_ids(a).await.is_empty()
    })
    .await;
    assert_eq!(
        keychain.lookup(&id).unwrap(),
        None,
        "the secret outlived its profile"
    );
    assert_eq!(keychain.entries().unwrap(), 0);
    let file = std::fs::read_to_string(profiles_file(home.path())).unwrap();
    assert!(!file.contains(&id), "{file}");
    app.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_locked_keychain_is_a_clear_error_and_nothing_is_kept_elsewhere() {
    // No Secret Service on the bus at all.
    let bare = SecretService::bus_only().unwrap();
    let home = tempfile::tempdir().unwrap();
    let app = start_app(bare.address(), home.path(), &[]).await;
    let draft = NewProfile {
        name: "Dev",
        kind: "kind-self-hosted",
        url: "ws://127.0.0.1:7880",
        room: "r",
        endpoint: "",
        api_key: "APIdev",
        secret: "an-api-secret-that-must-not-land-anywhere",
    };
    add_profile(&app, draft).await;
    until(&app, "the keychain error", SECS(15), async |a| {
        a.visible("profile-error").await
    })
    .await;
    let text = app.text("profile-error").await;
    println!("no keychain: {text}");
    assert!(
        text.contains("No keychain is available") && text.contains("nothing was saved"),
        "{text}"
    );
    assert!(
        profile_ids(&app).await.is_empty(),
        "a profile without its secret was kept"
    );
    assert!(
        !profiles_file(home.path()).exists()
            || !std::fs::read_to_string(profiles_file(home.path()))
                .unwrap()
                .contains("Dev")
    );
    app.close().await.unwrap();

    // A keychain that was unlocked when the profile was saved, then locked.
    let keychain = SecretService::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let app = start_app(keychain.address(), home.path(), &[]).await;
    add_listed_profile(
        &app,
        NewProfile::endpoint("ws://127.0.0.1:7880", "r", "http://127.0.0.1:9/token"),
    )
    .await;
    keychain.lock().unwrap();
    let t0 = Instant::now();
    app.type_into("join-name", "Ada").await.unwrap();
    app.click("join-button").await.unwrap();
    until(&app, "the join error", SECS(20), async |a| {
        a.visible("join-error").await
    })
    .await;
    let text = app.text("join-error").await;
    println!("locked keychain, after {:?}: {text}", t0.elapsed());
    let kind = app
        .client
        .execute(
            "return document.querySelector('[data-testid=join-error]').dataset.kind;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kind.as_str(), Some("keychain"), "{text}");
    assert!(text.contains("Unlock it"), "{text}");
    // Nothing lost: the profile and its secret are still there.
    assert_eq!(profile_ids(&app).await.len(), 1);
    assert_eq!(keychain.entries().unwrap(), 1);
    app.close().await.unwrap();
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_leaks_to_logs_files_web_storage_or_ipc_at_the_most_verbose_logging() {
    let keychain = SecretService::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (server, service) = server_with_endpoint(SECS(60)).await;
    // In-band tokens withheld, 60 s tokens: the endpoint is asked every 30 s.
    let proxy = SignalProxy::start(&server.url()).await.unwrap();
    let app = start_app(keychain.address(), home.path(), &[("RUST_LOG", "trace")]).await;
    let (proxy_url, endpoint_url, server_url) = (proxy.url(), service.url(), server.url());

    // 1. A token endpoint profile: join, and stay through two refreshes.
    add_listed_profile(
        &app,
        NewProfile::endpoint(&proxy_url, "leak-room", &endpoint_url),
    )
    .await;
    join(&app).await;
    service.wait_requests(3, SECS(100)).await.unwrap();
    assert_eq!(app.text("connection-state").await, "connected");
    leave(&app).await;

    // 2. A self-hosted profile: the server's own secret; join and leave.
    let api_secret = server.api_secret().to_string();
    add_listed_profile(
        &app,
        NewProfile {
            name: "Own server",
            kind: "kind-self-hosted",
            url: &server_url,
            room: "leak-room-2",
            endpoint: "",
            api_key: server.api_key(),
            secret: &api_secret,
        },
    )
    .await;
    join(&app).await;
    leave(&app).await;

    // 3. A pasted token.
    let pasted = TokenSpec::join("leak-room-3", "pasted-ada")
        .mint(server.api_key(), server.api_secret())
        .unwrap();
    add_listed_profile(
        &app,
        NewProfile {
            name: "Pasted",
            kind: "kind-pasted",
            url: &server_url,
            room: "",
            endpoint: "",
            api_key: "",
            secret: &pasted,
        },
    )
    .await;
    let summary = app.seen("profile-summary").await;
    assert!(
        summary.visible() && summary.text.contains("valid until"),
        "{summary}"
    );
    // Joined with another room typed: the token's room wins, and the user
    // is told so.
    app.type_into("join-room", "typed-room").await.unwrap();
    join(&app).await;
    assert_eq!(app.text("room-name").await, "leak-room-3");
    until(&app, "the notice naming both rooms", SECS(5), async |a| {
        let notice = a.text("notice").await;
        a.visible("notice").await
            && notice.contains("“leak-room-3”")
            && notice.contains("“typed-room”")
    })
    .await;
    leave(&app).await;
    // With the room left blank, the token's room, and nothing to tell of
    // rooms (this app has no audio devices: the notice says that).
    app.type_into("join-room", "").await.unwrap();
    join(&app).await;
    assert_eq!(app.text("room-name").await, "leak-room-3");
    let notice = app.text("notice").await;
    assert!(!notice.contains("This access is for room"), "{notice:?}");
    leave(&app).await;

    // What the UI can see: the page, its fields, web storage, and every
    // command's answer it reads.
    let ui = app.ui_contents().await.unwrap();
    // The log goes with the session: read it first.
    let log = std::fs::read(app.stderr_path()).unwrap_or_default();
    app.close().await.unwrap();

    let mut secrets: Vec<(String, String)> = vec![
        ("the endpoint credential".into(), CREDENTIAL.into()),
        ("the API secret".into(), api_secret.clone()),
        ("the pasted token".into(), pasted.clone()),
    ];
    let issued = service.issued();
    assert!(issued.len() >= 3, "{} tokens issued", issued.len());
    secrets.extend(
        issued
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("issued token {i}"), t)),
    );

    let log_text = String::from_utf8_lossy(&log);
    assert!(
        log_text.contains("TRACE") && log_text.lines().count() > 100,
        "the app did not log verbosely ({} lines)",
        log_text.lines().count()
    );
    let mut places: Vec<(String, Vec<u8>)> = vec![("the app's log".into(), log.clone())];
    let ui_places = ui.len();
    places.extend(ui);
    for (path, bytes) in files_under(home.path()) {
        places.push((path.display().to_string(), bytes));
    }
    let mut found = Vec::new();
    for (place, bytes) in &places {
        for (what, secret) in &secrets {
            if holds_secret(bytes, secret) {
                found.push(format!("{what} in {place}"));
            }
        }
        // No token of any kind: the server's refreshed ones and those the
        // app mints for the self-hosted profile are in no list above.
        for jwt in find_jwts(bytes) {
            found.push(format!("{} in {place}", jwt_label(&jwt)));
        }
    }
    println!(
        "searched {} places ({} of the UI, {} files under the app's home, {} log lines) \
         for {} secrets and any JWT",
        places.len(),
        ui_places,
        places.len() - 1 - ui_places,
        log_text.lines().count(),
        secrets.len()
    );
    assert!(found.is_empty(), "leaks: {found:#?}");
}

/// A pasted token cannot be renewed: in its last minute the call says so,
/// on screen, and the warning goes with the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_token_in_its_last_minute_is_warned_of_on_screen() {
    let keychain = SecretService::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = LiveKitServer::start().await.unwrap();
    // The server's in-band tokens withheld: the call keeps the pasted one.
    let proxy = SignalProxy::start(&server.url()).await.unwrap();
    let app = start_app(keychain.address(), home.path(), &[]).await;
    // 50 s: inside the expiry window (the last 60 s) from the start.
    let pasted = TokenSpec::join("warn-room", "pasted-ada")
        .ttl(SECS(50))
        .mint(server.api_key(), server.api_secret())
        .unwrap();
    let url = proxy.url();
    add_listed_profile(
        &app,
        NewProfile {
            name: "Pasted",
            kind: "kind-pasted",
            url: &url,
            room: "",
            endpoint: "",
            api_key: "",
            secret: &pasted,
        },
    )
    .await;
    app.wait_gone("token-warning", SECS(5)).await.unwrap();
    join(&app).await;
    let warning = app.wait_visible("token-warning", SECS(10)).await.unwrap();
    assert_eq!(
        warning.text,
        "Your access to this call expires soon and could not be renewed."
    );
    leave(&app).await;
    app.wait_gone("token-warning", SECS(5)).await.unwrap();
    app.close().await.unwrap();
}

/// The demo's way in: a token endpoint profile given by the environment
/// (as `scripts/demo` gives it), used without any keychain and never stored;
/// an endpoint refusing the credential is a "sign in again" on the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_from_the_environment_joins_through_its_endpoint_and_is_not_stored() {
    let bare = SecretService::bus_only().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (server, service) = server_with_endpoint(SECS(60)).await;
    let (url, endpoint) = (server.url(), service.url());
    let app = start_app(
        bare.address(),
        home.path(),
        &[
            ("RTCSTACK_SERVER_URL", url.as_str()),
            ("RTCSTACK_TOKEN_ENDPOINT", endpoint.as_str()),
            ("RTCSTACK_TOKEN_CREDENTIAL", CREDENTIAL),
            ("RTCSTACK_ROOM", "env-room"),
        ],
    )
    .await;
    assert_eq!(app.value("profile-select").await, "environment");
    assert_eq!(app.value("join-room").await, "env-room");
    // The endpoint no longer takes the credential: the form says to sign in
    // again (one request, no retries).
    service.set(Behaviour::Status(401));
    app.type_into("join-name", "Ada").await.unwrap();
    app.click("join-button").await.unwrap();
    until(&app, "the sign-in error", SECS(15), async |a| {
        a.visible("join-error").await
    })
    .await;
    let kind = app
        .client
        .execute(
            "return document.querySelector('[data-testid=join-error]').dataset.kind;",
            vec![],
        )
        .await
        .unwrap();
    let text = app.text("join-error").await;
    assert_eq!(kind.as_str(), Some("signInAgain"), "{text}");
    assert!(text.contains("sign in again"), "{text}");
    assert_eq!(service.seen().len(), 1);
    service.set(Behaviour::Issue);
    join(&app).await;
    let seen = service.seen();
    assert!(
        seen.iter().any(|s| s.authorized && s.room == "env-room"),
        "{seen:?}"
    );
    let status = app.seen("token-status").await;
    assert!(
        status.visible() && status.text.starts_with("Access valid until"),
        "{status}"
    );
    app.click("leave").await.unwrap();
    app.close().await.unwrap();
    assert!(
        !profiles_file(home.path()).exists(),
        "the environment's profile was written down"
    );
}
