//! The demo's world: a local livekit-server on loopback and a demo peer that
//! talks (a tone) in the demo room. Prints one `ready` JSON line with the
//! server URL and room, then runs until Ctrl-C or stdin closes.

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
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        // stdin closed (the demo script ended): stop.
        _ = async { while stdin.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {} } => {}
    }
    Ok(())
}
