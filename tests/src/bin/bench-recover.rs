//! `scripts/bench recover`: how fast a client notices a silent cut and how
//! fast its audio is back, ours beside LiveKit's own Python SDK
//! (libwebrtc), both in the same call under the same cut.
//!
//! Each run: a fresh server in its own network namespace, a far peer beside
//! it (never cut off), and both clients under test in one room on our side
//! of the link. One silent cut (nftables drop; interfaces stay up) takes
//! both off the server at once; at the cut the far peer switches its tone
//! (concealment keeps an old tone sounding through an outage, so only the
//! new one proves new audio). The restore is stamped once, on the
//! monotonic clock both processes read, and both clients are timed from it:
//! - detect: cut → the client's first "reconnecting" ("not seen" if it
//!   never noticed; a client whose media simply resumes never does);
//! - reconnected: restore → its "reconnected" (not seen likewise);
//! - audio: restore → its first 20 ms frame carrying the far peer's new
//!   tone above -40 dBFS, counted whether the client noticed or not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack::{Call, CallEvent, CallOptions};
use rtcstack_bot_audio::tone::Tone;
use rtcstack_testbench::peer::{PeerEvent, PeerOptions, PythonPeer};
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::stats::{median, median_ratio, mono, s_or};
use rtcstack_testbench::timeline::Timeline;
use rtcstack_testbench::tokens::TokenSpec;
use rtcstack_testbench::tone_watch::ToneWatch;

const ROOM: &str = "bench-recover";
const OLD_HZ: f64 = 440.0;
/// The far peer switches to this tone at the cut.
const NEW_HZ: f64 = 660.0;
const STEP: Duration = Duration::from_secs(15);
/// How long after the restore audio may take to come back.
const BACK_WITHIN: Duration = Duration::from_secs(60);

#[derive(Parser)]
struct Args {
    /// Runs per cut length.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Cut lengths, seconds.
    #[arg(long, value_delimiter = ',', default_values_t = [3u64, 12, 35])]
    cuts: Vec<u64>,
}

/// One client's times in one run, seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Times {
    detect: Option<f64>,
    reconnected: Option<f64>,
    audio: f64,
}

/// Our call's events, stamped on arrival.
type Stamped = Arc<Mutex<Vec<(f64, CallEvent)>>>;

fn record(mut events: tokio::sync::mpsc::UnboundedReceiver<CallEvent>) -> Stamped {
    let seen: Stamped = Arc::default();
    let out = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            out.lock().expect("events lock").push((mono(), e));
        }
    });
    seen
}

/// Both clients in the call, hearing the far peer's first tone.
struct Clients {
    call: Call,
    events: Stamped,
    watch: Arc<ToneWatch>,
    py: PythonPeer,
}

async fn join_both(server: &LiveKitServer) -> Result<Clients> {
    let watch = Arc::new(ToneWatch::new("far"));
    watch.watch(OLD_HZ);
    let mut options = CallOptions::new(
        server.url(),
        server.token(&TokenSpec::join(ROOM, "rust-client"))?,
    );
    options.audio_sink = watch.clone();
    let (call, events) = Call::new(options);
    let events = record(events);
    call.connect().await.context("our connect")?;
    call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .context("our publish")?;
    let mut py = server
        .spawn_client_peer(PeerOptions::new(ROOM, "py-client", 880.0))
        .await?;
    py.send(serde_json::json!({"cmd": "watch", "hz": OLD_HZ, "identity": "far"}))
        .await?;
    watch
        .wait(STEP)
        .await
        .context("ours hearing the far peer")?;
    py.wait_for(
        "the far peer's tone",
        |e| e.kind() == "heard" && e.f64("hz") == Some(OLD_HZ),
        STEP,
    )
    .await?;
    Ok(Clients {
        call,
        events,
        watch,
        py,
    })
}

/// One run as measured: both clients' times, how long the restore command
/// took, and our engine's timeline from the cut on (seconds from the
/// restore), to see where our time goes.
struct Run {
    ours: Times,
    theirs: Times,
    restore_took: f64,
    marks: Vec<(String, f64)>,
}

async fn run_once(cut: Duration, timeline: &Timeline) -> Result<Run> {
    let server = LiveKitServer::start().await?;
    let mut far = server
        .spawn_peer(PeerOptions::new(ROOM, "far", OLD_HZ))
        .await?;
    let Clients {
        call,
        events,
        watch,
        mut py,
    } = join_both(&server).await?;

    // Both listen for the new tone before it can start.
    watch.watch(NEW_HZ);
    let mark = py.mark();
    py.send(serde_json::json!({"cmd": "watch", "hz": NEW_HZ, "identity": "far"}))
        .await?;
    py.wait_for_after(mark, "watch ack", |e| e.kind() == "watching", STEP)
        .await?;
    let ours_from = events.lock().expect("events lock").len();

    let link = server.link()?;
    let position = timeline.position();
    link.cut()?;
    let cut_at = mono();
    far.send(serde_json::json!({"cmd": "tone", "hz": NEW_HZ}))
        .await?;
    tokio::time::sleep(cut).await;
    // Stamped when the command returns (the rule is gone by then, within
    // the last ms or so of the few ms the command takes; its length is
    // printed with each run).
    let asked = mono();
    link.restore()?;
    let restore_at = mono();
    let restore_took = restore_at - asked;

    let is_new_tone = |e: &PeerEvent| e.kind() == "heard" && e.f64("hz") == Some(NEW_HZ);
    let (ours_heard, py_heard) = tokio::join!(
        watch.wait(BACK_WITHIN),
        py.wait_for_after(mark, "the far peer's new tone", is_new_tone, BACK_WITHIN)
    );
    let ours_heard = ours_heard.context("ours: the far peer's new tone never came")?;
    let py_heard = py_heard?;

    // A client that noticed the cut has its reconnection to finish.
    let deadline = mono() + BACK_WITHIN.as_secs_f64();
    let ours_events = || events.lock().expect("events lock")[ours_from..].to_vec();
    let noticed = |e: &[(f64, CallEvent)]| {
        e.iter()
            .any(|(_, e)| matches!(e, CallEvent::Reconnecting { .. }))
    };
    let done = |e: &[(f64, CallEvent)]| {
        e.iter()
            .any(|(_, e)| matches!(e, CallEvent::Reconnected { .. }))
    };
    while noticed(&ours_events()) && !done(&ours_events()) {
        if let Some((_, CallEvent::Disconnected { reason })) = ours_events()
            .iter()
            .find(|(_, e)| matches!(e, CallEvent::Disconnected { .. }))
        {
            bail!("ours: disconnected ({reason:?})");
        }
        if mono() > deadline {
            bail!("ours: reconnecting but not reconnected 60 s after the audio came back");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let py_noticed = py.events()[mark..]
        .iter()
        .any(|e| e.kind() == "reconnecting");
    if py_noticed {
        py.wait_for_after(
            mark,
            "reconnected",
            |e| e.kind() == "reconnected",
            BACK_WITHIN,
        )
        .await?;
    }
    // Anything either still reports shortly after (a late notice).
    tokio::time::sleep(Duration::from_secs(1)).await;

    let seen = ours_events();
    let first = |want: fn(&CallEvent) -> bool| seen.iter().find(|(_, e)| want(e)).map(|(t, _)| *t);
    let ours = Times {
        detect: first(|e| matches!(e, CallEvent::Reconnecting { .. })).map(|t| t - cut_at),
        reconnected: first(|e| matches!(e, CallEvent::Reconnected { .. })).map(|t| t - restore_at),
        audio: ours_heard.at - restore_at,
    };
    let py_seen = py.events();
    let py_first = |kind: &str| {
        py_seen[mark..]
            .iter()
            .find(|e| e.kind() == kind)
            .and_then(|e| e.f64("t"))
    };
    if py_first("disconnected").is_some() {
        bail!("livekit-python: disconnected during the run");
    }
    let theirs = Times {
        detect: py_first("reconnecting").map(|t| t - cut_at),
        reconnected: py_first("reconnected").map(|t| t - restore_at),
        audio: py_heard.f64("t").context("t")? - restore_at,
    };
    let marks = timeline
        .since(position)
        .into_iter()
        .map(|m| (format!("{}@{}", m.name, m.session), m.at - restore_at))
        .collect();
    call.leave().await;
    Ok(Run {
        ours,
        theirs,
        restore_took,
        marks,
    })
}

/// Seconds with three decimals (sub-second times differ in the third).
fn s3(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

fn noticed(ts: &[Times], f: fn(&Times) -> Option<f64>) -> String {
    let v: Vec<f64> = ts.iter().filter_map(f).collect();
    if v.is_empty() {
        return "not seen".into();
    }
    let m = s3(median(&v));
    if v.len() == ts.len() {
        m
    } else {
        format!("{m} ({}/{})", v.len(), ts.len())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the recover benchmark")?;
    let timeline = Timeline::install()?;
    let mut rows = Vec::new();
    for &secs in &args.cuts {
        let (mut o, mut p) = (Vec::new(), Vec::new());
        for run in 0..args.runs {
            let Run {
                ours: a,
                theirs: b,
                restore_took: took,
                marks,
            } = run_once(Duration::from_secs(secs), &timeline)
                .await
                .with_context(|| format!("{secs} s cut, run {}", run + 1))?;
            eprintln!(
                "{secs} s cut, run {} (restore command {:.1} ms): ours detect {} reconnected {} audio {:.3}; livekit-python detect {} reconnected {} audio {:.3}",
                run + 1,
                took * 1e3,
                s_or(a.detect, "not seen"),
                s_or(a.reconnected, "not seen"),
                a.audio,
                s_or(b.detect, "not seen"),
                s_or(b.reconnected, "not seen"),
                b.audio
            );
            // Ours from the cut on, seconds from the restore (name@session).
            let all: Vec<String> = marks
                .iter()
                .map(|(n, t)| format!("{n} {:+.3}", t))
                .collect();
            eprintln!("  our timeline: {}", all.join(", "));
            o.push(a);
            p.push(b);
        }
        rows.push((secs, o, p));
    }

    println!();
    println!(
        "recover bench: silent cut (nftables drop) of both clients in one call, {} run(s) per cut, a fresh server each run; medians (n/N: only n of N runs had it)",
        args.runs
    );
    println!(
        "{:<6} {:<22} {:>12} {:>15} {:>12} {:>12}",
        "cut", "client", "detect s", "reconnected s", "audio p50 s", "audio max s"
    );
    for (secs, o, p) in &rows {
        for (name, t) in [("rtcstack (ours)", o), ("livekit-python", p)] {
            let audio: Vec<f64> = t.iter().map(|t| t.audio).collect();
            println!(
                "{:<6} {:<22} {:>12} {:>15} {:>12} {:>12.3}",
                format!("{secs}s"),
                name,
                noticed(t, |t| t.detect),
                noticed(t, |t| t.reconnected),
                s3(median(&audio)),
                audio.iter().copied().fold(0.0, f64::max)
            );
        }
    }
    println!("detect: from the cut; reconnected and audio: from the restore, stamped when its command returns (audio = the far peer's new tone in a 20 ms frame above -40 dBFS)");
    println!();
    for (secs, o, p) in &rows {
        let audio = |t: &[Times]| t.iter().map(|t| t.audio).collect::<Vec<_>>();
        println!(
            "recover-{secs}s: ours/livekit-python median ratio {}",
            median_ratio(&audio(o), &audio(p)).map_or("n/a".into(), |r| format!("{r:.2}"))
        );
        // Detection compares the runs in which both clients noticed.
        let (a, b): (Vec<f64>, Vec<f64>) = o
            .iter()
            .zip(p)
            .filter_map(|(x, y)| Some((x.detect?, y.detect?)))
            .unzip();
        if let Some(r) = median_ratio(&a, &b) {
            let of = if a.len() == o.len() {
                String::new()
            } else {
                format!(" ({} of {} runs: both noticed)", a.len(), o.len())
            };
            println!("detect-{secs}s: ours/livekit-python median ratio {r:.2}{of}");
        }
    }
    Ok(())
}
