//! `scripts/bench recover`: how fast a client notices a silent cut and how
//! fast it is back, ours beside LiveKit's own Python SDK, against the same
//! server in the same run.
//!
//! A silent cut (nftables drop on the link; interfaces stay up) of 3 s and
//! of 35 s (past the server's resume window). Measured on the kernel's
//! monotonic clock, which the Python peer's `time.monotonic()` also reads:
//! cut → `Reconnecting`, restore → `Reconnected`, restore → the first 40 ms
//! of new audio (the far peer switches its tone when the cut starts, since
//! concealment keeps the old tone sounding through an outage).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack::audio::capture::CaptureSink;
use rtcstack::audio::tone::Tone;
use rtcstack::{Call, CallEvent, CallOptions};
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::tokens::TokenSpec;

/// The far peer switches to this tone when the cut starts: hearing it
/// means new audio got through.
const NEW_HZ: f64 = 660.0;

#[derive(Parser)]
struct Args {
    /// Runs per cut length and client.
    #[arg(long, default_value_t = 1)]
    runs: usize,
}

/// CLOCK_MONOTONIC in seconds: the clock Python's time.monotonic() reads.
fn mono() -> f64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9,
        Err(_) => f64::NAN, // Linux always has it; NaN would show in the table
    }
}

/// Seconds; `None` where the client never reported it (a client that
/// does not notice a short cut never "reconnects": its media just resumes).
#[derive(Debug, Default, Clone, Copy)]
struct Times {
    detect: Option<f64>,
    reconnected: Option<f64>,
    audio: f64,
}

async fn ours(cut: Duration, run: usize) -> Result<Times> {
    let server = LiveKitServer::start().await?;
    let room = "bench-recover";
    let mut far = server
        .spawn_peer(PeerOptions::new(room, "far", 440.0))
        .await?;
    let sink = Arc::new(CaptureSink::new());
    let mut options = CallOptions::new(
        server.url(),
        server.token(&TokenSpec::join(room, &format!("rust-{run}")))?,
    );
    options.audio_sink = sink.clone();
    let (call, mut events) = Call::new(options);
    call.connect().await?;
    call.publish_audio(Box::new(Tone::new(880.0, 0.3))).await?;
    wait_audio(&sink, Duration::from_secs(15)).await?;

    let link = server.link()?;
    link.cut()?;
    let cut_at = mono();
    // New audio after the outage is told apart by a new tone.
    far.send(serde_json::json!({"cmd": "tone", "hz": NEW_HZ}))
        .await?;
    let mut detect = None;
    let restore_at = cut_at + cut.as_secs_f64();
    let mut restored = false;
    let mut reconnected = None;
    let deadline = cut_at + cut.as_secs_f64() + 60.0;
    while reconnected.is_none() {
        if !restored && mono() >= restore_at {
            link.restore()?;
            restored = true;
        }
        if mono() > deadline {
            bail!("ours: not reconnected 60 s after the restore");
        }
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(20), events.recv()).await {
            match e {
                CallEvent::Reconnecting { attempt: 1 } if detect.is_none() => {
                    detect = Some(mono() - cut_at)
                }
                CallEvent::Reconnected if restored => reconnected = Some(mono() - restore_at),
                CallEvent::Disconnected { reason } => bail!("ours: disconnected ({reason:?})"),
                _ => {}
            }
        }
    }
    while !sink
        .peak_of("far", 40)
        .is_some_and(|p| (p.hz - NEW_HZ).abs() <= 25.0 && p.level_db > -30.0)
    {
        if mono() > deadline {
            bail!("ours: the far peer's new tone never arrived");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let audio = mono() - restore_at;
    call.leave().await;
    Ok(Times {
        detect,
        reconnected,
        audio,
    })
}

async fn wait_audio(sink: &CaptureSink, within: Duration) -> Result<()> {
    let end = mono() + within.as_secs_f64();
    while sink.samples_from("far") == 0 {
        if mono() > end {
            bail!("no audio from the far peer");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn python(cut: Duration, run: usize) -> Result<Times> {
    let server = LiveKitServer::start().await?;
    let room = "bench-recover";
    let mut far = server
        .spawn_peer(PeerOptions::new(room, "far", 440.0))
        .await?;
    let mut peer = server
        .spawn_client_peer(PeerOptions::new(room, &format!("py-{run}"), 880.0))
        .await?;
    peer.wait_for(
        "first audio",
        |e| e.kind() == "first_audio",
        Duration::from_secs(15),
    )
    .await?;
    let link = server.link()?;
    peer.send(serde_json::json!({"cmd": "watch", "hz": NEW_HZ}))
        .await?;
    let mark = peer.mark();
    link.cut()?;
    let cut_at = mono();
    far.send(serde_json::json!({"cmd": "tone", "hz": NEW_HZ}))
        .await?;
    tokio::time::sleep(cut).await;
    link.restore()?;
    let restore_at = mono();
    let wait = Duration::from_secs(60);
    // The first 40 ms with the far peer's new tone.
    let heard = peer
        .wait_for_after(
            mark,
            "the new tone after restore",
            |e| e.kind() == "heard" && e.str("identity") == Some("far"),
            wait,
        )
        .await?;
    let t = |e: &rtcstack_testbench::peer::PeerEvent| e.f64("t").unwrap_or(f64::NAN);
    // Whatever it reported by the time audio was back (and shortly after).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = peer.events();
    let first = |kind: &str| seen[mark..].iter().find(|e| e.kind() == kind).map(t);
    Ok(Times {
        detect: first("reconnecting").map(|x| x - cut_at),
        reconnected: first("reconnected").map(|x| x - restore_at),
        audio: t(&heard) - restore_at,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the recover benchmark")?;
    let cuts = [Duration::from_secs(3), Duration::from_secs(35)];
    let mut rows = Vec::new();
    for cut in cuts {
        let (mut o, mut p) = (Vec::new(), Vec::new());
        for run in 0..args.runs {
            o.push(ours(cut, run).await.context("our client")?);
            p.push(python(cut, run).await.context("python client")?);
            eprint!(".");
        }
        rows.push((cut, o, p));
    }
    eprintln!();
    println!(
        "recover bench: silent cut (nftables drop), {} run(s) each, same server build",
        args.runs
    );
    println!(
        "{:<6} {:<22} {:>10} {:>15} {:>16}",
        "cut", "client", "detect s", "reconnected s", "first audio s"
    );
    let show = |x: Option<f64>| x.map_or("not seen".to_string(), |v| format!("{v:.2}"));
    let (mut det, mut rec) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for (cut, o, p) in &rows {
        for (name, t) in [("rtcstack (ours)", o), ("livekit-python 1.2.1", p)] {
            let opt = |f: fn(&Times) -> Option<f64>| {
                let v: Vec<f64> = t.iter().filter_map(f).collect();
                (!v.is_empty()).then(|| median(&v))
            };
            println!(
                "{:<6} {:<22} {:>10} {:>15} {:>16.2}",
                format!("{}s", cut.as_secs()),
                name,
                show(opt(|t| t.detect)),
                show(opt(|t| t.reconnected)),
                median(&t.iter().map(|t| t.audio).collect::<Vec<_>>())
            );
        }
        // Detection compares runs where both clients noticed the cut.
        for (a, b) in o.iter().zip(p) {
            if let (Some(x), Some(y)) = (a.detect, b.detect) {
                det.0.push(x);
                det.1.push(y);
            }
        }
        // Recovery: restore until the far peer is audible again.
        rec.0.extend(o.iter().map(|t| t.audio));
        rec.1.extend(p.iter().map(|t| t.audio));
    }
    println!();
    if det.0.is_empty() {
        println!("detect: ours/livekit-python median ratio n/a (livekit-python noticed no cut)");
    } else {
        println!(
            "detect: ours/livekit-python median ratio {:.2}",
            median(&det.0) / median(&det.1)
        );
    }
    println!(
        "recover: ours/livekit-python median ratio {:.2}",
        median(&rec.0) / median(&rec.1)
    );
    Ok(())
}
