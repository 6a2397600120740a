//! `scripts/bench join`: how fast a client joins a room, ours beside
//! LiveKit's own Python SDK, against the same server in the same run; then
//! CPU time and peak memory of a two-party call for each.
//!
//! Both clients time themselves in-process, from the connect call: to
//! Connected (the call is up) and to the first decoded frame of the remote
//! peer's audio. Process start-up is excluded on both sides.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack::audio::capture::CaptureSink;
use rtcstack::{Call, CallOptions};
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::tokens::TokenSpec;

#[derive(Parser)]
struct Args {
    /// Joins per client.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Length of the two-party call measured for CPU and memory.
    #[arg(long, default_value_t = 60)]
    call_seconds: u64,
    /// Our command-line client (built by scripts/bench).
    #[arg(long, env = "RTCSTACK_CALL_EXAMPLE")]
    call_example: PathBuf,
}

#[derive(Default)]
struct Samples {
    connected: Vec<f64>,
    first_audio: Vec<f64>,
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    s[i]
}

async fn ours(server: &LiveKitServer, room: &str, run: usize) -> Result<(f64, f64)> {
    let sink = Arc::new(CaptureSink::new());
    let token = server.token(&TokenSpec::join(room, &format!("rust-{run}")))?;
    let mut options = CallOptions::new(server.url(), token);
    options.audio_sink = sink.clone();
    let (call, _events) = Call::new(options);
    let t0 = Instant::now();
    call.connect().await?;
    let connected = t0.elapsed().as_secs_f64();
    let deadline = t0 + Duration::from_secs(15);
    while sink.samples_from("talker") == 0 {
        if Instant::now() > deadline {
            bail!("no audio from the talker within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first = t0.elapsed().as_secs_f64();
    call.leave().await;
    Ok((connected, first))
}

async fn python(server: &LiveKitServer, room: &str, run: usize) -> Result<(f64, f64)> {
    let peer = server
        .spawn_client_peer(PeerOptions::new(room, &format!("py-{run}"), 0.0))
        .await?;
    let joined = peer
        .wait_for("joined", |e| e.kind() == "joined", Duration::from_secs(15))
        .await?;
    let first = peer
        .wait_for(
            "first audio",
            |e| e.kind() == "first_audio" && e.str("identity") == Some("talker"),
            Duration::from_secs(15),
        )
        .await?;
    let join_s = joined.f64("join_seconds").context("join_seconds")?;
    let start = joined.f64("t").context("t")? - join_s;
    let first_s = first.f64("t").context("t")? - start;
    peer.leave().await?;
    Ok((join_s, first_s))
}

/// CPU seconds and peak RSS (MiB) of a running process, from /proc.
/// Runs a client for `seconds` of call, reads its usage, then stops it.
async fn measure_call(
    mut cmd: tokio::process::Command,
    seconds: u64,
) -> Result<rtcstack_testbench::usage::Usage> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("client pid")?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    if let Some(status) = child.try_wait()? {
        bail!("client ended early: {status}");
    }
    let usage = rtcstack_testbench::usage::of_pid(pid)?;
    child.kill().await?;
    Ok(usage)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = LiveKitServer::start().await?;
    let room = "bench-join";
    let _talker = server
        .spawn_peer(PeerOptions::new(room, "talker", 440.0))
        .await?;

    let (mut rust, mut py) = (Samples::default(), Samples::default());
    // Interleaved, so drift in the machine's load hits both alike.
    for run in 0..args.runs {
        let (c, f) = ours(&server, room, run).await.context("our join")?;
        rust.connected.push(c);
        rust.first_audio.push(f);
        let (c, f) = python(&server, room, run).await.context("python join")?;
        py.connected.push(c);
        py.first_audio.push(f);
        eprint!(".");
    }
    eprintln!();

    let mut ours_cmd = tokio::process::Command::new(&args.call_example);
    ours_cmd
        .args(["--url", &server.url(), "--api-key", server.api_key()])
        .args(["--api-secret-env", "BENCH_SECRET", "--room", room])
        .args([
            "--identity",
            "rust-call",
            "--tone",
            "880",
            "--report-ms",
            "0",
        ])
        .env("BENCH_SECRET", server.api_secret());
    let ours_usage = measure_call(ours_cmd, args.call_seconds)
        .await
        .context("our 2-party call")?;
    let mut py_cmd = tokio::process::Command::new(rtcstack_testbench::paths::python());
    py_cmd
        .arg(rtcstack_testbench::paths::peer_script())
        .args(["--url", &server.url(), "--tone", "880"])
        .env("LK_TOKEN", server.token(&TokenSpec::join(room, "py-call"))?);
    let py_usage = measure_call(py_cmd, args.call_seconds)
        .await
        .context("python 2-party call")?;

    println!();
    println!(
        "join bench: {} joins each, same server, same run",
        args.runs
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12}",
        "client", "conn p50 ms", "conn p95 ms", "audio p50 ms", "audio p95 ms"
    );
    for (name, s) in [("rtcstack (ours)", &rust), ("livekit-python 1.2.1", &py)] {
        println!(
            "{:<28} {:>12.1} {:>12.1} {:>12.1} {:>12.1}",
            name,
            quantile(&s.connected, 0.5) * 1e3,
            quantile(&s.connected, 0.95) * 1e3,
            quantile(&s.first_audio, 0.5) * 1e3,
            quantile(&s.first_audio, 0.95) * 1e3
        );
    }
    println!();
    println!(
        "two-party call, {} s, publishing a tone and receiving one",
        args.call_seconds
    );
    println!(
        "{:<28} {:>12} {:>12} {:>14}",
        "client", "cpu s", "cpu %", "peak rss MiB"
    );
    for (name, u) in [
        ("rtcstack (ours)", &ours_usage),
        ("livekit-python 1.2.1", &py_usage),
    ] {
        println!(
            "{:<28} {:>12.2} {:>12.1} {:>14.1}",
            name,
            u.cpu_s,
            100.0 * u.cpu_s / args.call_seconds as f64,
            u.peak_mib
        );
    }
    println!();
    println!(
        "join: ours/livekit-python median ratio {:.2}",
        quantile(&rust.connected, 0.5) / quantile(&py.connected, 0.5)
    );
    Ok(())
}
