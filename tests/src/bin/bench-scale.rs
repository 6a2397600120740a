//! `scripts/bench scale`: what the app costs as rooms grow, beside LiveKit's
//! Python SDK in the same rooms of the same run.
//!
//! For each size N, a crowd of N − 1 participants on our engine (three of
//! them talking in phrases, the rest publishing silence) fills a room on one
//! livekit-server. The app (optimised build, run by scripts/bench) joins it
//! in a real window, publishing its microphone and playing everyone; once
//! it counts N people and has settled, its CPU and memory are sampled, its
//! WebKit processes counted with it, and every view the page drew in that
//! time gives the backend → DOM latency. It leaves; the Python SDK joins
//! the same room as a headless client (publishing a tone, decoding every
//! track, analysing nothing) and is sampled for the same time. Run under
//! Xvfb and a session bus (scripts/bench does that).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::crowd::Crowd;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::usage::{self, Cost};

#[derive(Parser)]
struct Args {
    /// Room sizes, counting the measured client.
    #[arg(long, value_delimiter = ',', default_values_t = [2usize, 10, 25, 50])]
    sizes: Vec<usize>,
    /// Participants talking in each room (fewer in a smaller room).
    #[arg(long, default_value_t = 3)]
    talking: usize,
    /// Seconds measured per client and room, after it settled.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds a client settles in the room before it is measured.
    #[arg(long, default_value_t = 5)]
    settle: u64,
}

struct Row {
    size: usize,
    ours: Cost,
    dom_p95_ms: Option<f64>,
    dom_views: usize,
    python: Cost,
}

fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    Some(s[((s.len().checked_sub(1)?) as f64 * q).round() as usize])
}

async fn js<T: serde::de::DeserializeOwned>(app: &AppSession, script: &str) -> Result<T> {
    let v = app.client.execute(script, vec![]).await?;
    serde_json::from_value(v.clone()).with_context(|| format!("{script} gave {v}"))
}

/// The app in `room` of `size`: its cost, and the latency of the views
/// the page drew while it was measured.
async fn app_in(
    server: &LiveKitServer,
    room: &str,
    size: usize,
    args: &Args,
) -> Result<(Cost, Vec<f64>)> {
    let app =
        AppSession::for_server(server, room, server.api_secret(), &[("RUST_LOG", "warn")]).await?;
    app.type_into("join-name", "Ada").await?;
    app.click("join-button").await?;
    let want = format!("{size} in the call");
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.text("people-count").await != want {
        if Instant::now() > deadline {
            bail!(
                "the app in a room of {size} shows {:?} after 60 s",
                app.text("people-count").await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let pid = app.app_pid().context("the app's process")?;
    // The app and its WebKit processes (web content, network).
    let pids = usage::tree(pid);
    let first: u64 = js(&app, "return window.__rtcstackShown.at(-1).seq;").await?;
    let cost = usage::cost(&pids, args.seconds).await?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shown {
        seq: u64,
        sent_at_ms: f64,
        shown_at_ms: f64,
        state: String,
    }
    let shown: Vec<Shown> = js(&app, "return window.__rtcstackShown;").await?;
    if shown
        .iter()
        .any(|s| s.state != "connected" && s.seq > first)
    {
        bail!("the app left the connected state while measured in a room of {size}");
    }
    let latency = shown
        .iter()
        .filter(|s| s.seq > first)
        .map(|s| s.shown_at_ms - s.sent_at_ms)
        .collect();
    app.close().await?;
    Ok((cost, latency))
}

async fn python_in(server: &LiveKitServer, room: &str, args: &Args) -> Result<Cost> {
    let mut opts = PeerOptions::new(room, "py-scale", 440.0);
    opts.analyse = false;
    let peer = server.spawn_peer(opts).await?;
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let pid = peer.pid().context("the Python client's process")?;
    let cost = usage::cost(&[pid], args.seconds).await?;
    if peer.events().iter().any(|e| e.kind() == "disconnected") {
        bail!("the Python client left the room while measured");
    }
    Ok(cost)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the scale benchmark")?;
    if args.sizes.iter().any(|&n| n < 2) {
        bail!("a room size counts the measured client and one other at least");
    }
    let _pulse = PulseServer::start()?;
    let server = LiveKitServer::start().await?;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let room = format!("bench-scale-{size}");
        let crowd = Crowd::join(
            &server.url(),
            &room,
            size - 1,
            args.talking.min(size - 1),
            |s| server.token(s),
        )
        .await?;
        let (ours, latency) = app_in(&server, &room, size, &args).await?;
        let python = python_in(&server, &room, &args).await?;
        if !crowd.all_connected() {
            bail!("a crowd member dropped in the room of {size}");
        }
        crowd.leave().await;
        eprintln!(
            "room of {size}: ours {ours:?}, python {python:?}, {} views",
            latency.len()
        );
        rows.push(Row {
            size,
            ours,
            dom_p95_ms: quantile(&latency, 0.95),
            dom_views: latency.len(),
            python,
        });
    }

    println!();
    println!(
        "scale bench: one client in rooms of N ({} talking), {} s each after {} s settled; \
         one livekit-server, the same crowd for both clients",
        args.talking, args.seconds, args.settle
    );
    println!(
        "{:>4} {:>12} {:>14} {:>14} {:>7} {:>12} {:>14}",
        "N", "ours cpu %", "ours peak MiB", "→DOM p95 ms", "views", "py cpu %", "py peak MiB"
    );
    for r in &rows {
        println!(
            "{:>4} {:>12.1} {:>14.1} {:>14} {:>7} {:>12.1} {:>14.1}",
            r.size,
            r.ours.cpu_pct,
            r.ours.peak_mib,
            r.dom_p95_ms.map_or("–".into(), |v| format!("{v:.1}")),
            r.dom_views,
            r.python.cpu_pct,
            r.python.peak_mib
        );
    }
    println!(
        "(ours: the app with its WebKit processes, publishing a microphone, playing everyone \
         on a device, drawing the list; python: livekit-python 1.2.1, publishing a tone, \
         decoding every track, nothing drawn or played; peak MiB sums each process's own peak)"
    );
    let (smallest, largest) = (
        rows.first().context("no rooms")?,
        rows.last().context("no rooms")?,
    );
    println!(
        "scale: ours cpu({})/cpu({}) ratio {:.2}",
        largest.size,
        smallest.size,
        largest.ours.cpu_pct / smallest.ours.cpu_pct
    );
    println!(
        "scale: ours/livekit-python cpu at {} ratio {:.2}",
        largest.size,
        largest.ours.cpu_pct / largest.python.cpu_pct
    );
    Ok(())
}
