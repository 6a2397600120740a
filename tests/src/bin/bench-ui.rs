//! `scripts/bench ui`: how fast the app's window shows what the backend
//! knows, and what the app costs in a call, beside LiveKit's Python SDK in
//! the same call.
//!
//! Latency: the Python peer mutes and unmutes 50 times; each change reaches
//! our backend as a call event, which stamps the view it sends; the page
//! notes when it has put that view in the DOM. Both stamps are the same
//! machine's wall clock. Then a two-minute two-party call: CPU and peak
//! memory of the app (with its WebKit processes) and of the Python peer.
//! Run under Xvfb and a session bus (scripts/bench does that).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use fantoccini::Locator;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::usage;

#[derive(Parser)]
struct Args {
    /// State changes to time.
    #[arg(long, default_value_t = 50)]
    changes: usize,
    /// Length of the measured call, seconds.
    #[arg(long, default_value_t = 120)]
    call_seconds: u64,
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * q).round() as usize]
}

async fn js(app: &AppSession, script: &str) -> Result<serde_json::Value> {
    Ok(app.client.execute(script, vec![]).await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the UI benchmark")?;
    let _pulse = PulseServer::start()?;
    let server = LiveKitServer::start().await?;
    let room = "bench-ui";
    let mut peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await?;
    let app = AppSession::for_server(&server, room, server.api_secret(), &[]).await?;
    app.client
        .find(Locator::Css("[data-testid=join-button]"))
        .await?
        .click()
        .await?;
    peer.wait_for(
        "our track",
        |e| e.kind() == "track_subscribed",
        Duration::from_secs(30),
    )
    .await
    .context("the app joined and published")?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Latency of each view that reaches the page while the peer toggles.
    let first_seq = js(
        &app,
        "const s = window.__rtcstackShown; return s.length ? s[s.length - 1].seq : 0;",
    )
    .await?
    .as_f64()
    .unwrap_or(0.0);
    for i in 0..args.changes {
        let cmd = if i % 2 == 0 { "mute" } else { "unmute" };
        peer.send(serde_json::json!({ "cmd": cmd })).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shown = js(&app, "return window.__rtcstackShown;").await?;
    let lat: Vec<f64> = shown
        .as_array()
        .context("no render log")?
        .iter()
        .filter(|s| s["seq"].as_f64().unwrap_or(0.0) > first_seq)
        .filter_map(|s| Some(s["shownAtMs"].as_f64()? - s["sentAtMs"].as_f64()?))
        .collect();
    if lat.len() < args.changes {
        bail!(
            "only {} views reached the page for {} changes",
            lat.len(),
            args.changes
        );
    }

    // The call's cost.
    let app_pid = *usage::pids_named("rtcstack-desktop")
        .first()
        .context("the app's process")?;
    let peer_pid = peer.pid().context("the peer's process")?;
    let (a0, p0) = (usage::of_tree(app_pid), usage::of_pid(peer_pid)?);
    tokio::time::sleep(Duration::from_secs(args.call_seconds)).await;
    let (a1, p1) = (usage::of_tree(app_pid), usage::of_pid(peer_pid)?);
    app.close().await?;

    println!();
    println!(
        "ui bench: backend state change → DOM, {} views from {} changes",
        lat.len(),
        args.changes
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10}",
        "", "p50 ms", "p95 ms", "max ms"
    );
    println!(
        "{:<10} {:>10.2} {:>10.2} {:>10.2}",
        "latency",
        quantile(&lat, 0.5),
        quantile(&lat, 0.95),
        quantile(&lat, 1.0)
    );
    println!();
    println!(
        "two-party call, {} s (publishing and receiving audio)",
        args.call_seconds
    );
    println!("{:<36} {:>10} {:>14}", "client", "cpu %", "peak rss MiB");
    let secs = args.call_seconds as f64;
    println!(
        "{:<36} {:>10.1} {:>14.1}",
        "RTCstack app (with WebKit processes)",
        100.0 * (a1.cpu_s - a0.cpu_s) / secs,
        a1.peak_mib
    );
    println!(
        "{:<36} {:>10.1} {:>14.1}",
        "livekit-python 1.2.1 peer",
        100.0 * (p1.cpu_s - p0.cpu_s) / secs,
        p1.peak_mib
    );
    Ok(())
}
