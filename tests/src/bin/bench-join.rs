//! `scripts/bench join`: how fast a client joins a room, ours beside
//! LiveKit's own Python SDK (libwebrtc), against the same server in the
//! same run; then CPU and memory of the two in one two-party call.
//!
//! One definition for both clients ([`rtcstack_testbench::join_timing`]),
//! timed from the connect call on the monotonic clock (process start-up
//! excluded); the moment our `connect()` returned (it also waits for our
//! publisher's answer, which comes long before) is shown beside it, not in
//! the ratio.
//!
//! Both warm the same way: each joins repeatedly from one process that has
//! already joined once, that first join discarded; the clients take turns,
//! and which goes first alternates run by run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack_testbench::join_timing::{column, ours, python, python_joiner, Join, TALKER_HZ};
use rtcstack_testbench::lines::{Line, Lines};
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::stats::{median, median_ratio, ms_or, p95};
use rtcstack_testbench::timeline::Timeline;
use rtcstack_testbench::tokens::TokenSpec;
use rtcstack_testbench::usage;

const STEP: Duration = Duration::from_secs(15);

#[derive(Parser)]
struct Args {
    /// Measured joins per client (after one warm-up join each).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Length of the two-party call measured for CPU and memory.
    #[arg(long, default_value_t = 60)]
    call_seconds: u64,
    /// Seconds between CPU and memory samples of the call.
    #[arg(long, default_value_t = 5)]
    sample_seconds: u64,
    /// Our command-line client (built by scripts/bench).
    #[arg(long, env = "RTCSTACK_CALL_EXAMPLE")]
    call_example: PathBuf,
}

/// A client process of the two-party call, its lines followed.
struct CallProcess {
    child: tokio::process::Child,
    lines: Lines,
    name: &'static str,
}

impl CallProcess {
    fn spawn(mut cmd: tokio::process::Command, name: &'static str) -> Result<Self> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let lines = Lines::follow(child.stdout.take().context("stdout")?);
        Ok(CallProcess { child, lines, name })
    }

    async fn wait(&self, what: &str, pred: impl Fn(&Line) -> bool) -> Result<()> {
        self.lines
            .expect_after(self.name, 0, what, pred, STEP)
            .await
            .map(|_| ())
    }

    fn pid(&self) -> Result<u32> {
        self.child
            .id()
            .with_context(|| format!("{} has exited", self.name))
    }
}

/// Our CLI client and the Python peer in one room, each publishing a tone
/// and receiving the other's, neither analysing what it hears; sampled
/// side by side.
async fn two_party_call(server: &LiveKitServer, args: &Args) -> Result<Vec<usage::Series>> {
    let room = "bench-call";
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
    let ours = CallProcess::spawn(ours_cmd, "our call client")?;
    let mut py_cmd = tokio::process::Command::new(rtcstack_testbench::paths::python());
    py_cmd
        .arg(rtcstack_testbench::paths::peer_script())
        .args([
            "--url",
            &server.url(),
            "--tone",
            "440",
            "--analysis",
            "none",
        ])
        .env("LK_TOKEN", server.token(&TokenSpec::join(room, "py-call"))?)
        .env("PYTHONUNBUFFERED", "1");
    let py = CallProcess::spawn(py_cmd, "the python call client")?;
    ours.wait("published", |l| l.kind() == "published").await?;
    py.wait("published", |l| l.kind() == "published").await?;
    // Each has the other's track before the clock starts.
    ours.wait("py-call's track", |l| {
        l.kind() == "trackSubscribed" && l.str("identity") == Some("py-call")
    })
    .await?;
    py.wait("rust-call's track", |l| {
        l.kind() == "track_subscribed" && l.str("identity") == Some("rust-call")
    })
    .await?;
    let every = Duration::from_secs(args.sample_seconds.max(1));
    let intervals = (args.call_seconds / every.as_secs()).max(1) as usize;
    let series = usage::sample(&[ours.pid()?, py.pid()?], every, intervals).await?;
    for p in [&ours, &py] {
        if p.lines.all().iter().any(|l| l.kind() == "disconnected") {
            bail!("{} left the call while it was measured", p.name);
        }
    }
    Ok(series)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the join benchmark")?;
    let timeline = Timeline::install()?;
    let server = LiveKitServer::start().await?;
    let room = "bench-join";
    let _talker = server
        .spawn_peer(PeerOptions::new(room, "talker", TALKER_HZ))
        .await?;

    // Warm-up: each client's first join in its process, not counted.
    let (mut py, sdk) = python_joiner(&server, room).await?;
    ours(&server, &timeline, room)
        .await
        .context("our warm-up join")?;

    let (mut rust, mut lk) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        // Turns alternate, so whatever the first of a pair pays (or
        // leaves behind) falls on both alike.
        if run % 2 == 0 {
            rust.push(ours(&server, &timeline, room).await.context("our join")?);
            lk.push(python(&mut py).await.context("python join")?);
        } else {
            lk.push(python(&mut py).await.context("python join")?);
            rust.push(ours(&server, &timeline, room).await.context("our join")?);
        }
        eprint!(".");
    }
    eprintln!();
    drop(py);

    let series = two_party_call(&server, &args)
        .await
        .context("the two-party call")?;

    let lk_name = format!("livekit-python {sdk}");
    println!();
    println!(
        "join bench: {} measured joins per client after one warm-up join each, interleaved, same server, same run",
        args.runs
    );
    println!("machine: {}", machine());
    println!("connected = the primary peer connection connected (ours: our engine's mark; livekit-python: Room.connect() returned, which waits for it)");
    println!(
        "first audio = the first 20 ms frame carrying the talker's {TALKER_HZ} Hz above -40 dBFS"
    );
    println!(
        "{:<26} {:>14} {:>14} {:>15} {:>15}",
        "client", "conn p50 ms", "conn p95 ms", "audio p50 ms", "audio p95 ms"
    );
    for (name, j) in [("rtcstack (ours)", &rust), (lk_name.as_str(), &lk)] {
        let c = column(j, |x| Some(x.connected));
        let a = column(j, |x| Some(x.audio));
        println!(
            "{:<26} {:>14} {:>14} {:>15} {:>15}",
            name,
            ms_or(median(&c), "-"),
            ms_or(p95(&c), "-"),
            ms_or(median(&a), "-"),
            ms_or(p95(&a), "-"),
        );
    }
    let returned = column(&rust, |x| x.connect_returned);
    println!(
        "our connect() returned: p50 {} ms, p95 {} ms (the primary connection up and our publisher answered)",
        ms_or(median(&returned), "-"),
        ms_or(p95(&returned), "-")
    );
    println!();
    println!(
        "where our join's time goes (median ms from the connect call; name#2: the mark's second time):"
    );
    let mut names: Vec<(f64, String)> = Vec::new();
    let all: std::collections::BTreeSet<&String> =
        rust.iter().flat_map(|j| j.marks.keys()).collect();
    for name in all {
        let v = column(&rust, |j| j.marks.get(name).copied());
        if let Some(m) = median(&v) {
            names.push((m, format!("{name} ({} of {})", v.len(), rust.len())));
        }
    }
    names.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (m, name) in names {
        println!("  {:>8.1}  {name}", m * 1e3);
    }
    let offers = column(&rust, |j| Some(j.subscriber_offers as f64));
    println!(
        "  subscriber offers per join: median {}, max {}",
        median(&offers).unwrap_or(f64::NAN),
        offers.iter().copied().fold(0.0, f64::max)
    );

    println!();
    println!(
        "two-party call, side by side in one room: each publishes a tone and receives the other's, neither analyses it; {} samples {} s apart",
        series[0].cpu_pct.len(),
        args.sample_seconds
    );
    println!(
        "{:<26} {:>14} {:>14} {:>16} {:>14}",
        "client", "cpu % p50", "cpu % max", "rss MiB p50", "peak rss MiB"
    );
    for (name, s) in [
        ("rtcstack (ours)", &series[0]),
        (lk_name.as_str(), &series[1]),
    ] {
        println!(
            "{:<26} {:>14.1} {:>14.1} {:>16.1} {:>14.1}",
            name,
            median(&s.cpu_pct).unwrap_or(f64::NAN),
            s.cpu_pct.iter().copied().fold(0.0, f64::max),
            median(&s.rss_mib).unwrap_or(f64::NAN),
            s.peak_mib
        );
    }
    println!();
    let ratio = |f: fn(&Join) -> f64| {
        median_ratio(
            &rust.iter().map(f).collect::<Vec<_>>(),
            &lk.iter().map(f).collect::<Vec<_>>(),
        )
        .map_or("n/a".to_string(), |r| format!("{r:.2}"))
    };
    println!(
        "join-connected: ours/livekit-python median ratio {}",
        ratio(|j| j.connected)
    );
    println!(
        "join-audio: ours/livekit-python median ratio {}",
        ratio(|j| j.audio)
    );
    Ok(())
}
