//! The demo's world: a local livekit-server on loopback, a demo peer that
//! talks (a tone) and shows a camera (the test pattern) in the demo room, and the project's small token endpoint
//! issuing short-lived (60 s) tokens. Prints one `ready` JSON line with the
//! server URL and room. With `--app PATH` it then opens the app with a
//! profile for that endpoint (its credential by environment, never a file or
//! a command line), reports each token request, and stops when the app
//! closes; without, it runs until Ctrl-C or stdin closes.
//!
//! The app reaches the server through a signal proxy that withholds the
//! server's own in-band refreshed tokens: LiveKit re-mints a joined client's
//! token every 5 minutes, which would hide the endpoint refreshes the demo is
//! there to show (every ~30 s here).

use anyhow::Result;
use clap::Parser;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::signal_proxy::SignalProxy;
use rtcstack_testbench::token_service::TokenService;
use tokio::io::AsyncReadExt;

#[derive(Parser)]
#[command(about = "Local LiveKit server plus a talking demo peer")]
struct Args {
    /// Room the demo peer joins.
    #[arg(long, default_value = "demo")]
    room: String,
    /// Tone the demo peer publishes, in Hz.
    #[arg(long, default_value_t = 440.0)]
    tone: f64,
    /// The RTCstack Desktop binary to open.
    #[arg(long)]
    app: Option<std::path::PathBuf>,
    /// How long the token endpoint's tokens live, in seconds.
    #[arg(long, default_value_t = 60)]
    token_ttl: u64,
}

/// A credential for this run only.
fn fresh_credential() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = LiveKitServer::start_loopback().await?;
    let mut peer = server
        .spawn_peer(PeerOptions::new(&args.room, "demo-bot", args.tone))
        .await?;
    // Someone to see too: the test pattern as the bot's camera.
    peer.send(
        serde_json::json!({"cmd": "video", "codec": "vp8", "width": 640, "height": 360, "fps": 30}),
    )
    .await?;
    // The URL and room only: keys and tokens stay in this process.
    println!(
        "{}",
        serde_json::json!({"event": "ready", "url": server.url(), "room": args.room})
    );
    if let Some(app) = &args.app {
        let credential = fresh_credential()?;
        let ttl = std::time::Duration::from_secs(args.token_ttl);
        let tokens =
            TokenService::start(server.api_key(), server.api_secret(), &credential, ttl).await?;
        let proxy = SignalProxy::start(&server.url()).await?;
        eprintln!(
            "token endpoint {} issues {} s tokens; the app asks it to join and again before each expires",
            tokens.url(),
            args.token_ttl
        );
        let status = tokio::process::Command::new(app)
            .env("RTCSTACK_SERVER_URL", proxy.url())
            .env("RTCSTACK_TOKEN_ENDPOINT", tokens.url())
            .env("RTCSTACK_TOKEN_CREDENTIAL", &credential)
            .env("RTCSTACK_ROOM", &args.room)
            .kill_on_drop(true)
            .status();
        let report = async {
            let mut shown = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                for s in tokens.seen().iter().skip(shown) {
                    eprintln!(
                        "token endpoint: asked for {} in room {}: HTTP {}",
                        s.identity, s.room, s.status
                    );
                    shown += 1;
                }
            }
        };
        tokio::select! {
            s = status => eprintln!("the app closed ({})", s?),
            _ = tokio::signal::ctrl_c() => {}
            _ = report => {}
        }
        return Ok(());
    }
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        // stdin closed (the demo script ended): stop.
        _ = async { while stdin.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {} } => {}
    }
    Ok(())
}
