//! The call the app is in: join, leave, mute, retry, devices. Each command
//! is a few lines over `rtcstack`; the call's events become a `CallView`
//! the UI renders (event `call-view`), and notifications when the window
//! is not in front.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtcstack::audio::device::{input_devices, output_devices, DeviceInfo, Microphone, Speaker};
use rtcstack::audio::io::{AudioSink, NullSink};
use rtcstack::{Call, CallEvent, CallOptions, ConnectError};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};
use ts_rs::TS;

use crate::notify;
use crate::profiles::tokens::{self, TokenSourceError};
use crate::profiles::{ProfileError, ProfileKind, Profiles, Resolved};
use crate::update::UpdateGate;
use crate::view::CallView;

/// What the join form sends.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JoinRequest {
    /// The server profile to get tokens from (the chosen one if absent).
    pub profile: Option<String>,
    pub url: String,
    pub room: String,
    pub name: String,
}

/// Why a join did not happen, in words for the form.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "kind", content = "message")]
#[ts(export)]
pub enum JoinError {
    #[error("{0}")]
    EmptyRoom(String),
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    NotConfigured(String),
    /// The token service did not accept the credential: sign in again.
    #[error("{0}")]
    SignInAgain(String),
    #[error("{0}")]
    Keychain(String),
    #[error("{0}")]
    TokenService(String),
    #[error("{0}")]
    Failed(String),
}

/// Microphones and speakers, and which are chosen.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Devices {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
    pub input: Option<String>,
    pub output: Option<String>,
}

/// The app's call, if any, and its view.
#[derive(Default)]
pub struct Session {
    call: Mutex<Option<Arc<Call>>>,
    view: Arc<Mutex<CallView>>,
    devices: Mutex<(Option<String>, Option<String>)>,
    /// Joins and leaves run one at a time: a Leave clicked during a join
    /// waits for it and then leaves, instead of missing the call.
    op: tokio::sync::Mutex<()>,
    /// Which join the view belongs to: a replaced call's late events are
    /// not this call's news.
    generation: Arc<AtomicU64>,
    /// The user's mute wish; it holds across joins and rejoins.
    muted: AtomicBool,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Sends the view to the UI, stamped.
fn publish(app: &AppHandle, view: &Mutex<CallView>) {
    let snapshot = {
        let mut v = view.lock().expect("view lock");
        v.seq += 1;
        v.sent_at_ms = now_ms();
        v.clone()
    };
    let _ = app.emit("call-view", snapshot);
}

impl Session {
    pub(crate) fn current(&self) -> Option<Arc<Call>> {
        self.call.lock().expect("call lock").clone()
    }
}

#[tauri::command]
pub fn call_view(session: State<'_, Session>) -> CallView {
    session.view.lock().expect("view lock").clone()
}

#[tauri::command]
pub async fn join(
    app: AppHandle,
    session: State<'_, Session>,
    profiles: State<'_, Profiles>,
    request: JoinRequest,
) -> Result<CallView, JoinError> {
    let room = request.room.trim().to_string();
    let name = match request.name.trim() {
        "" => "Guest".to_string(),
        n => n.to_string(),
    };
    let profile = profiles
        .resolve(request.profile.as_deref())
        .await
        .map_err(|e| match e {
            ProfileError::Keychain(m) => JoinError::Keychain(m),
            other => JoinError::NotConfigured(other.to_string()),
        })?;
    // Decided before anything changes: a join refused here leaves the
    // current call as it is.
    let (room, room_notice) = room_to_join(&profile, room)?;
    let _op = session.op.lock().await;
    let old = session.call.lock().expect("call lock").take();
    if let Some(old) = old {
        old.leave().await;
        app.state::<UpdateGate>().call_ended();
    }
    let generation = session.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let identity = format!("{}-{:04x}", slug(&name), rand_suffix());
    let got = tokens::for_call(profile, &room, &name, &identity)
        .await
        .map_err(|e| match e {
            TokenSourceError::SignInAgain(m) => JoinError::SignInAgain(m),
            TokenSourceError::Service(m) => JoinError::TokenService(m),
            TokenSourceError::Unusable(m) => JoinError::Rejected(m),
        })?;
    let mut notice: Vec<String> = room_notice.into_iter().collect();
    let (input, output) = session.devices.lock().expect("devices lock").clone();
    let mut options = CallOptions::new(request.url.trim(), got.token);
    options.audio_sink = match Speaker::open(output.as_deref()) {
        Ok(s) => Arc::new(s) as Arc<dyn AudioSink>,
        Err(e) => {
            notice.push(format!("No speaker: {}.", clause(&e)));
            Arc::new(NullSink)
        }
    };
    let token_refreshable = got.refresher.is_some();
    options.token_refresher = got.refresher;
    let (call, events) = Call::new(options);
    let call = Arc::new(call);
    let muted = session.muted.load(Ordering::SeqCst);
    call.set_muted(muted).await;
    {
        let mut v = session.view.lock().expect("view lock");
        *v = CallView {
            room: Some(room.clone()),
            muted,
            token_refreshable,
            // Shown from the start, so it does not push the call's
            // controls down later.
            notice: (!notice.is_empty()).then(|| notice.join(" ")),
            seq: v.seq,
            ..Default::default()
        };
    }
    // Stored now, so a mute during the join reaches this call.
    *session.call.lock().expect("call lock") = Some(Arc::clone(&call));
    app.state::<UpdateGate>().call_started();
    tokio::spawn(pump(
        app.clone(),
        Arc::clone(&session.view),
        events,
        generation,
        Arc::clone(&session.generation),
    ));
    if let Err(e) = call.connect().await {
        session.call.lock().expect("call lock").take();
        app.state::<UpdateGate>().call_ended();
        return Err(join_error(e));
    }
    match Microphone::open(input.as_deref()) {
        Ok(mic) => {
            if let Err(e) = call.publish_audio(Box::new(mic)).await {
                notice.push(format!(
                    "Your microphone could not be sent: {}.",
                    clause(&e)
                ));
            }
        }
        Err(e) => notice.push(format!("Listening only: no microphone ({}).", clause(&e))),
    }
    session.view.lock().expect("view lock").notice = (!notice.is_empty()).then(|| notice.join(" "));
    publish(&app, &session.view);
    Ok(session.view.lock().expect("view lock").clone())
}

/// The room to join, and a notice when it is not the one typed. A pasted
/// token names its room (the field may stay blank); the others join the
/// room typed. An unreadable token is left to the token source to refuse.
fn room_to_join(profile: &Resolved, typed: String) -> Result<(String, Option<String>), JoinError> {
    let pasted = profile.info.kind == ProfileKind::PastedToken;
    let named = if pasted {
        match rtcstack::token::inspect(&profile.secret) {
            Ok(t) if !t.room.is_empty() => Some(t.room),
            Ok(_) => None,
            Err(_) => return Ok((typed, None)),
        }
    } else {
        None
    };
    match named {
        Some(named) if !typed.is_empty() && named != typed => {
            let notice = format!(
                "This access is for room \"{named}\", so you joined that room, not \"{typed}\"."
            );
            Ok((named, Some(notice)))
        }
        Some(named) => Ok((named, None)),
        None if typed.is_empty() => Err(JoinError::EmptyRoom(if pasted {
            "This access names no room: enter a room name.".into()
        } else {
            "Enter a room name.".into()
        })),
        None => Ok((typed, None)),
    }
}

/// An error's words without their final period, to sit inside a sentence.
fn clause(e: &dyn std::fmt::Display) -> String {
    e.to_string().trim_end_matches('.').to_string()
}

fn join_error(e: ConnectError) -> JoinError {
    // The server's refusal quotes the token it refused ("invalid token:
    // eyJ…, error: …"): the form must not show it.
    let text = crate::redact::redact(&e.to_string());
    match e {
        ConnectError::InvalidUrl(_) => {
            JoinError::InvalidUrl(format!("Check the server address: {text}."))
        }
        ConnectError::Unreachable(_) | ConnectError::Timeout(_) => {
            JoinError::Unreachable(format!("The server cannot be reached: {text}."))
        }
        ConnectError::Unauthorized(_)
        | ConnectError::TokenExpired
        | ConnectError::MalformedToken(_)
        | ConnectError::JoinRejected { .. } => {
            JoinError::Rejected(format!("The server refused to let us in: {text}."))
        }
        ConnectError::Media(_) | ConnectError::Closed => {
            JoinError::Failed(format!("Could not join: {text}."))
        }
    }
}

/// The call's events, folded into the view and sent on; notifications
/// for a user who is looking elsewhere.
async fn pump(
    app: AppHandle,
    view: Arc<Mutex<CallView>>,
    mut events: tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    generation: u64,
    current: Arc<AtomicU64>,
) {
    while let Some(event) = events.recv().await {
        if current.load(Ordering::SeqCst) != generation {
            break; // a newer join owns the view and the gate now
        }
        view.lock()
            .expect("view lock")
            .apply(&event, now_ms() as u64);
        publish(&app, &view);
        notify::on_event(&app, &event);
        if let CallEvent::Disconnected { .. } = event {
            app.state::<UpdateGate>().call_ended();
            break;
        }
    }
}

#[tauri::command]
pub async fn leave(app: AppHandle, session: State<'_, Session>) -> Result<(), ()> {
    let _op = session.op.lock().await;
    let call = session.call.lock().expect("call lock").take();
    if let Some(call) = call {
        call.leave().await;
    }
    app.state::<UpdateGate>().call_ended();
    Ok(())
}

#[tauri::command]
pub async fn set_muted(app: AppHandle, session: State<'_, Session>, muted: bool) -> Result<(), ()> {
    // Held as the user's wish: a call joining now starts with it.
    session.muted.store(muted, Ordering::SeqCst);
    if let Some(call) = session.current() {
        call.set_muted(muted).await;
    }
    session.view.lock().expect("view lock").muted = muted;
    publish(&app, &session.view);
    Ok(())
}

#[tauri::command]
pub fn retry_now(session: State<'_, Session>) {
    if let Some(call) = session.current() {
        call.retry_now();
    }
}

/// The devices to choose from. Listing probes each device (ALSA opens
/// them), which can block: it runs on the blocking pool, not on the main
/// thread where a sync command would stall the window.
#[tauri::command]
pub async fn audio_devices(session: State<'_, Session>) -> Result<Devices, ()> {
    let (input, output) = session.devices.lock().expect("devices lock").clone();
    let (inputs, outputs) = tauri::async_runtime::spawn_blocking(|| {
        (
            input_devices().unwrap_or_default(),
            output_devices().unwrap_or_default(),
        )
    })
    .await
    .unwrap_or_else(|e| {
        tracing::warn!("listing audio devices failed: {e}");
        Default::default()
    });
    Ok(Devices {
        inputs,
        outputs,
        input,
        output,
    })
}

/// Chooses devices; in a call they switch at once.
#[tauri::command]
pub fn choose_devices(
    session: State<'_, Session>,
    input: Option<String>,
    output: Option<String>,
) -> Result<(), String> {
    if let Some(call) = session.current() {
        if let Some(id) = &input {
            let mic = Microphone::open(Some(id)).map_err(|e| e.to_string())?;
            call.set_audio_input(Box::new(mic));
        }
        if let Some(id) = &output {
            let speaker = Speaker::open(Some(id)).map_err(|e| e.to_string())?;
            call.set_audio_output(Arc::new(speaker));
        }
    }
    *session.devices.lock().expect("devices lock") = (input, output);
    Ok(())
}

/// A name as an identity: lower case letters, digits and dashes.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "guest".into()
    } else {
        s
    }
}

fn rand_suffix() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos();
    (nanos ^ std::process::id()) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identities() {
        assert_eq!(slug("Ada Lovelace"), "ada-lovelace");
        assert_eq!(slug("  ☃ "), "guest");
    }

    #[test]
    fn join_errors_say_what_to_fix() {
        let e = join_error(ConnectError::InvalidUrl("x".into()));
        assert!(matches!(e, JoinError::InvalidUrl(m) if m.contains("server address")));
        let e = join_error(ConnectError::Unauthorized("bad".into()));
        assert!(matches!(e, JoinError::Rejected(_)));
        // livekit-server's 401 body, as it comes: the token is not repeated.
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        let e = join_error(ConnectError::Unauthorized(format!(
            "invalid token: {jwt}, error: token signature is invalid"
        )));
        assert!(
            matches!(&e, JoinError::Rejected(m) if !m.contains("eyJ") && m.contains("signature is invalid")),
            "{e:?}"
        );
        let j = serde_json::to_value(JoinError::EmptyRoom("Enter a room name.".into())).unwrap();
        assert_eq!(j["kind"], "emptyRoom");
        assert_eq!(j["message"], "Enter a room name.");
    }
}
