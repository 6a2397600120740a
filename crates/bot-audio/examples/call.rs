//! Join a LiveKit room from the command line and print the call's events as
//! JSON lines: a user's quick check, the demo's bot, a benchmark's client.
//!
//!   cargo run -p rtcstack-bot-audio --example call -- --url ws://127.0.0.1:7880 \
//!       --api-key devkey --api-secret-env LK_SECRET --room demo --tone 440
//!
//! The token comes from --token-env (the name of an environment variable
//! holding it) or is minted from an API key and a secret taken from an
//! environment variable: secrets never go on a command line.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use livekit_api::access_token::{AccessToken, VideoGrants};
use rtcstack::audio::capture::CapturePath;
use rtcstack::audio::device::{input_devices, output_devices, Speaker};
use rtcstack::audio::io::{AudioInput, FanOut};
use rtcstack::audio::processing::Stages;
use rtcstack::token::{refresher_fn, RefreshError, TokenRefresher};
use rtcstack::{Call, CallOptions};
use rtcstack_bot_audio::capture::CaptureSink;
use rtcstack_bot_audio::tone::Tone;
use rtcstack_bot_audio::wav::WavInput;

#[derive(Parser, Clone)]
#[command(about = "Join a LiveKit room and print the call's events as JSON lines")]
struct Args {
    /// LiveKit server URL (ws://, wss://, http://, https://).
    #[arg(long)]
    url: String,
    /// Environment variable that holds an access token.
    #[arg(long, conflicts_with = "api_key")]
    token_env: Option<String>,
    /// API key to mint a token with (with --api-secret-env).
    #[arg(long, requires = "api_secret_env")]
    api_key: Option<String>,
    /// Environment variable that holds the API secret.
    #[arg(long)]
    api_secret_env: Option<String>,
    /// Room to join (when minting).
    #[arg(long, default_value = "demo")]
    room: String,
    /// Identity to join as (when minting).
    #[arg(long, default_value = "rtcstack-cli")]
    identity: String,
    /// Lifetime of minted tokens, seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Mint a new token whenever the call needs one (a token refresher;
    /// needs --api-key).
    #[arg(long, requires = "api_key")]
    refresh: bool,
    /// Publish a sine tone of this frequency (Hz).
    #[arg(long, conflicts_with_all = ["mic", "wav"])]
    tone: Option<f64>,
    /// Publish the microphone (the system default, or the device id given;
    /// ids are listed by --list-devices).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    mic: Option<String>,
    /// Publish a WAV file (mono or stereo, any rate), looped.
    #[arg(long)]
    wav: Option<std::path::PathBuf>,
    /// Play what we hear on the speaker (the default, or the device id given).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    speaker: Option<String>,
    /// List audio devices and exit.
    #[arg(long)]
    list_devices: bool,
    /// Leave after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Print what we hear from each participant every N ms (0: never).
    #[arg(long, default_value_t = 1000)]
    report_ms: u64,
}

fn env_secret(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
}

fn token(args: &Args) -> Result<String, String> {
    if let Some(var) = &args.token_env {
        return env_secret(var);
    }
    let (Some(key), Some(secret_var)) = (&args.api_key, &args.api_secret_env) else {
        return Err("give --token-env, or --api-key with --api-secret-env".into());
    };
    mint(key, &env_secret(secret_var)?, args)
}

fn mint(key: &str, secret: &str, args: &Args) -> Result<String, String> {
    AccessToken::with_api_key(key, secret)
        .with_identity(&args.identity)
        .with_ttl(Duration::from_secs(args.token_ttl))
        .with_grants(VideoGrants {
            room_join: true,
            room: args.room.clone(),
            can_publish: Some(true),
            can_subscribe: Some(true),
            ..VideoGrants::default()
        })
        .to_jwt()
        .map_err(|e| format!("could not mint a token: {e}"))
}

/// A refresher that mints a new token each time it is asked (and says so).
fn refresher(args: &Args) -> Result<Arc<dyn TokenRefresher>, String> {
    let (Some(key), Some(secret_var)) = (args.api_key.clone(), &args.api_secret_env) else {
        return Err("--refresh needs --api-key with --api-secret-env".into());
    };
    let secret = env_secret(secret_var)?;
    let args = args.clone();
    Ok(refresher_fn(move || {
        line(serde_json::json!({"type": "refresherCalled"}));
        let token = mint(&key, &secret, &args).map_err(RefreshError::Unavailable);
        async move { token }
    }))
}

fn line(value: serde_json::Value) {
    println!("{value}");
}

fn device_id(arg: &str) -> Option<&str> {
    (!arg.is_empty()).then_some(arg)
}

/// An input to publish, and what to call it.
type Source = (Box<dyn AudioInput>, String);

/// The audio to publish, if any was asked for.
fn input(args: &Args, path: &CapturePath) -> Result<Option<Source>, String> {
    if let Some(hz) = args.tone {
        return Ok(Some((
            Box::new(Tone::new(hz, 0.3)),
            format!("tone {hz} Hz"),
        )));
    }
    if let Some(id) = &args.mic {
        // Processed as the app does: echo of our speaker cancelled.
        let mic = path
            .open_microphone(device_id(id))
            .map_err(|e| e.to_string())?;
        return Ok(Some((Box::new(mic), "microphone".into())));
    }
    if let Some(path) = &args.wav {
        let wav = WavInput::open(path).map_err(|e| e.to_string())?;
        return Ok(Some((Box::new(wav), path.display().to_string())));
    }
    Ok(None)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.list_devices {
        let list = serde_json::json!({
            "type": "devices",
            "inputs": input_devices().unwrap_or_default(),
            "outputs": output_devices().unwrap_or_default(),
        });
        line(list);
        return;
    }
    let token = match token(&args) {
        Ok(t) => t,
        Err(e) => {
            line(serde_json::json!({"type": "error", "message": e}));
            std::process::exit(2);
        }
    };
    let sink = Arc::new(CaptureSink::new());
    let path = CapturePath::new(Stages::default());
    let mut options = CallOptions::new(&args.url, token);
    options.audio_sink = sink.clone();
    if args.refresh {
        match refresher(&args) {
            Ok(r) => options.token_refresher = Some(r),
            Err(e) => {
                line(serde_json::json!({"type": "error", "message": e}));
                std::process::exit(2);
            }
        }
    }
    let (call, mut events) = Call::new(options);
    let started = std::time::Instant::now();
    if let Err(e) = call.connect().await {
        line(serde_json::json!({"type": "error", "message": e.to_string()}));
        std::process::exit(1);
    }
    line(serde_json::json!({"type": "joined", "seconds": started.elapsed().as_secs_f64()}));
    if let Some(id) = &args.speaker {
        match Speaker::open(device_id(id), Some(path.far_end())) {
            // Keep reporting what we hear while it plays.
            Ok(s) => call.set_audio_output(Arc::new(FanOut(vec![Arc::new(s), sink.clone()]))),
            Err(e) => line(
                serde_json::json!({"type": "warning", "message": format!("listening without a speaker: {e}")}),
            ),
        }
    }
    match input(&args, &path) {
        Ok(Some((source, what))) => match call.publish_audio(source).await {
            Ok(sid) => {
                line(serde_json::json!({"type": "published", "trackSid": sid, "source": what}))
            }
            Err(e) => line(serde_json::json!({"type": "error", "message": e.to_string()})),
        },
        Ok(None) => {}
        // No device: stay in the call, listen-only, and say so.
        Err(e) => {
            line(serde_json::json!({"type": "warning", "message": format!("listen-only: {e}")}))
        }
    }
    let end = async {
        match args.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(end);
    let mut report = tokio::time::interval(Duration::from_millis(args.report_ms.max(100)));
    // Samples heard per participant at the last report: only fresh audio
    // is reported, so an outage shows as silence in the log, not as the
    // last thing heard repeated.
    let mut heard: std::collections::HashMap<String, u64> = Default::default();
    // The media's way to the server, said when it changes.
    let mut paths_said = None;
    loop {
        tokio::select! {
            _ = &mut end => break,
            e = events.recv() => match e {
                Some(e) => {
                    let ended = matches!(e, rtcstack::CallEvent::Disconnected { .. });
                    line(serde_json::to_value(&e).unwrap_or_default());
                    if ended { break; }
                }
                None => break,
            },
            _ = report.tick(), if args.report_ms > 0 => {
                let paths = call.media_paths().await;
                if paths.is_some() && paths != paths_said {
                    if let Some(p) = &paths {
                        line(serde_json::json!({
                            "type": "paths",
                            "publisher": p.publisher.as_ref().map(path_json),
                            "subscriber": p.subscriber.as_ref().map(path_json),
                        }));
                    }
                    paths_said = paths;
                }
                for p in call.participants() {
                    let samples = sink.samples_from(&p.identity);
                    if heard.insert(p.identity.clone(), samples) == Some(samples) {
                        continue;
                    }
                    if let Some(peak) = sink.peak_of(&p.identity, 500) {
                        line(serde_json::json!({
                            "type": "audio", "identity": p.identity,
                            "hz": (peak.hz * 10.0).round() / 10.0,
                            "levelDb": (peak.level_db * 10.0).round() / 10.0,
                        }));
                    }
                }
            }
        }
    }
    call.leave().await;
    line(serde_json::json!({"type": "left"}));
}

/// One connection's path as a line says it: `protocol` "udp"/"tcp",
/// `relay` "UDP"/"TCP"/"TLS" or null.
fn path_json(p: &rtcstack::MediaPath) -> serde_json::Value {
    serde_json::json!({
        "protocol": match p.protocol {
            rtcstack::PathProtocol::Udp => "udp",
            rtcstack::PathProtocol::Tcp => "tcp",
        },
        "relay": p.relay.map(|r| r.to_string()),
        "remote": p.remote,
    })
}
