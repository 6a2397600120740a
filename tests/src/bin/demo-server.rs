//! The demo's world: a local livekit-server on loopback and a demo peer that
//! talks (a tone) in the demo room. Prints one `ready` JSON line with the
//! server URL and room. With `--app PATH` it then opens the app, ready to
//! join the demo room (the server's key reaches it by environment, never a
//! file or a command line), and stops when the app closes; without, it runs
//! until Ctrl-C or stdin closes.

use anyhow::Result;
use clap::Parser;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
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
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = LiveKitServer::start_loopback().await?;
    let _peer = server
        .spawn_peer(PeerOptions::new(&args.room, "demo-bot", args.tone))
        .await?;
    // The URL and room only: keys and tokens stay in this process.
    println!(
        "{}",
        serde_json::json!({"event": "ready", "url": server.url(), "room": args.room})
    );
    if let Some(app) = &args.app {
        let status = tokio::process::Command::new(app)
            .env("RTCSTACK_SERVER_URL", server.url())
            .env("RTCSTACK_API_KEY", server.api_key())
            .env("RTCSTACK_API_SECRET", server.api_secret())
            .env("RTCSTACK_ROOM", &args.room)
            .kill_on_drop(true)
            .status();
        tokio::select! {
            s = status => eprintln!("the app closed ({})", s?),
            _ = tokio::signal::ctrl_c() => {}
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
