//! `scripts/bench paths`: time to connected and to first audio over each
//! way media can take to the server, ours beside LiveKit's Python SDK
//! (libwebrtc), both through the same kernel rules on the same link to the
//! same server (its TURN server on) in the same run:
//! - UDP direct: nothing blocked;
//! - ICE-TCP: all UDP dropped, TCP open;
//! - TURN/UDP: UDP only to the TURN port, TCP only to the signal port;
//! - TURN/TLS: no UDP, TCP only to the signal port and 443 (TURN/TLS).
//!
//! The timings are [`rtcstack_testbench::join_timing`]'s, as in the join
//! benchmark. Per path each client joins once to warm up (not counted),
//! then they take turns, which goes first alternating. Our path is checked
//! after each join (a join that took another path is an error, not a
//! number). The TURN server's certificate is from a private authority;
//! both clients trust it through the file `SSL_CERT_FILE` names (set by
//! `scripts/bench`; the authority is written there once the server has
//! made it, and both read the file at each connection).

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack::{MediaPath, PathProtocol, RelayProtocol};
use rtcstack_testbench::join_timing::{
    column, leave_room, ours, python, python_joiner, Join, TALKER_HZ,
};
use rtcstack_testbench::netns::NetHost;
use rtcstack_testbench::peer::{PeerOptions, PythonPeer};
use rtcstack_testbench::server::{LiveKitServer, TURN_TLS_PORT, TURN_UDP_PORT};
use rtcstack_testbench::stats::{median, median_ratio, ms_or};
use rtcstack_testbench::timeline::Timeline;

#[derive(Parser)]
struct Args {
    /// Measured joins per client and path (after one warm-up join each).
    #[arg(long, default_value_t = 10)]
    runs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Udp,
    IceTcp,
    TurnUdp,
    TurnTls,
}

impl Way {
    const ALL: [Way; 4] = [Way::Udp, Way::IceTcp, Way::TurnUdp, Way::TurnTls];

    fn name(self) -> &'static str {
        match self {
            Way::Udp => "UDP direct",
            Way::IceTcp => "ICE-TCP",
            Way::TurnUdp => "TURN/UDP",
            Way::TurnTls => "TURN/TLS",
        }
    }

    fn block(self, link: &NetHost, server: &LiveKitServer) -> Result<()> {
        match self {
            Way::Udp => Ok(()),
            Way::IceTcp => link.block_udp(),
            Way::TurnUdp => {
                link.only_udp_to(&[TURN_UDP_PORT])?;
                link.only_tcp_to(&[server.http_port()])
            }
            Way::TurnTls => {
                link.block_udp()?;
                link.only_tcp_to(&[server.http_port(), TURN_TLS_PORT])
            }
        }
    }

    fn unblock(self, link: &NetHost) -> Result<()> {
        if matches!(self, Way::IceTcp | Way::TurnTls) {
            link.unblock_udp()?;
        }
        link.lift_port_limits()
    }

    /// Whether a selected pair is this way's.
    fn took(self, p: &MediaPath) -> bool {
        match self {
            Way::Udp => p.protocol == PathProtocol::Udp && p.relay.is_none(),
            Way::IceTcp => p.protocol == PathProtocol::Tcp && p.relay.is_none(),
            Way::TurnUdp => p.relay == Some(RelayProtocol::Udp),
            Way::TurnTls => p.relay == Some(RelayProtocol::Tls),
        }
    }
}

/// Our join over `way`, refused if its media took another.
async fn ours_over(
    way: Way,
    server: &LiveKitServer,
    timeline: &Timeline,
    room: &str,
) -> Result<Join> {
    let join = ours(server, timeline, room).await?;
    let paths = join.paths.clone().unwrap_or_default();
    let both = [&paths.publisher, &paths.subscriber];
    if !both.iter().all(|p| p.as_ref().is_some_and(|p| way.took(p))) {
        bail!("our join over {} took {paths:?}", way.name());
    }
    Ok(join)
}

/// One way's joins: ours always; the Python client's unless its warm-up
/// join failed (then why, in words).
struct Measured {
    way: Way,
    ours: Vec<Join>,
    python: Result<Vec<Join>, String>,
}

async fn measure(
    way: Way,
    server: &LiveKitServer,
    timeline: &Timeline,
    py: &mut PythonPeer,
    runs: usize,
    room: &str,
) -> Result<Measured> {
    let link = server.link()?;
    way.block(link, server)?;
    let warm = ours_over(way, server, timeline, room).await;
    warm.with_context(|| format!("our warm-up join over {}", way.name()))?;
    let mut lk = match python(py).await {
        Ok(_) => Ok(Vec::new()),
        Err(e) => {
            // Out of the room before our turns (it may still be trying).
            let _ = leave_room(py).await;
            Err(format!("{e:#}"))
        }
    };
    let mut rust = Vec::new();
    for run in 0..runs {
        if run % 2 == 1 {
            if let Ok(v) = lk.as_mut() {
                v.push(python(py).await.context("python join")?);
            }
        }
        rust.push(ours_over(way, server, timeline, room).await?);
        if run % 2 == 0 {
            if let Ok(v) = lk.as_mut() {
                v.push(python(py).await.context("python join")?);
            }
        }
        eprint!(".");
    }
    eprintln!(" {}", way.name());
    way.unblock(link)?;
    Ok(Measured {
        way,
        ours: rust,
        python: lk,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    rtcstack_testbench::require_root("the paths benchmark")?;
    let trust = std::env::var_os("SSL_CERT_FILE")
        .context("SSL_CERT_FILE must name the file to trust the TURN server by (scripts/bench paths sets it)")?;
    let timeline = Timeline::install()?;
    let server = LiveKitServer::start_with_turn().await?;
    std::fs::copy(server.turn_ca_file(), &trust).context("writing the trusted authority")?;
    let room = "bench-paths";
    let _talker = server
        .spawn_peer(PeerOptions::new(room, "talker", TALKER_HZ))
        .await?;
    let (mut py, sdk) = python_joiner(&server, room).await?;

    let mut all = Vec::new();
    for way in Way::ALL {
        all.push(measure(way, &server, &timeline, &mut py, args.runs, room).await?);
    }

    println!();
    println!(
        "paths bench: {} measured joins per client and path after one warm-up join each, interleaved, same server, same run",
        args.runs
    );
    println!("connected = the primary peer connection connected; first audio = the first 20 ms frame carrying the talker's {TALKER_HZ} Hz above -40 dBFS (ms from the connect call, medians)");
    println!("livekit-python {sdk}");
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "path", "ours conn", "py conn", "conn ratio", "ours audio", "py audio", "audio ratio"
    );
    let mut worst: Option<(f64, Way)> = None;
    for m in &all {
        let oc = column(&m.ours, |j| Some(j.connected));
        let oa = column(&m.ours, |j| Some(j.audio));
        let (pc, pa) = match &m.python {
            Ok(v) => (
                column(v, |j| Some(j.connected)),
                column(v, |j| Some(j.audio)),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let conn_ratio = median_ratio(&oc, &pc);
        let audio_ratio = median_ratio(&oa, &pa);
        let r = |x: Option<f64>| x.map_or("n/a".to_string(), |r| format!("{r:.2}"));
        println!(
            "{:<12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            m.way.name(),
            ms_or(median(&oc), "-"),
            ms_or(median(&pc), "-"),
            r(conn_ratio),
            ms_or(median(&oa), "-"),
            ms_or(median(&pa), "-"),
            r(audio_ratio),
        );
        for ratio in [conn_ratio, audio_ratio].into_iter().flatten() {
            if worst.is_none_or(|(w, _)| ratio > w) {
                worst = Some((ratio, m.way));
            }
        }
        if let Err(why) = &m.python {
            println!("  livekit-python did not join over {}: {why}", m.way.name());
        }
    }
    println!();
    match worst {
        Some((r, way)) => println!(
            "paths: ours/livekit-python worst-path median ratio {r:.2} ({})",
            way.name()
        ),
        None => println!("paths: ours/livekit-python worst-path median ratio n/a"),
    }
    Ok(())
}
