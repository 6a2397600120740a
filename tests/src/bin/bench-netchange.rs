//! `scripts/bench netchange`: how soon the app recovers when its network
//! changes under a call, with its network monitor and without it.
//!
//! The app (in a window on a private display, as the tests run it) is in a
//! call with the Python peer; its address moves (a new address, a route to
//! the server from it, the old address removed: what a switch from Wi-Fi to
//! Ethernet or a VPN coming up does). Timed from the move to the view
//! saying `reconnecting` and to the view saying `connected` again, from the
//! stamps the Rust side puts on each view. Without the monitor
//! (`RTCSTACK_NETWORK_MONITOR=off`) the app notices only by its timeouts.

use anyhow::Result;
use clap::Parser;
use rtcstack_testbench::netchange::{measure, Sample};

#[derive(Parser)]
struct Args {
    /// Runs with and without the monitor (interleaved).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

async fn one(monitor: bool, run: usize) -> Result<Sample> {
    let room = format!("bench-net-{}-{run}", if monitor { "on" } else { "off" });
    let (call, sample) = measure(&room, monitor).await?;
    call.app.close().await?;
    Ok(sample)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    rtcstack_testbench::require_root("the netchange benchmark")?;
    let args = Args::parse();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        for monitor in [true, false] {
            let s = one(monitor, run).await?;
            eprintln!(
                "run {}: monitor {}: → reconnecting {:.3} s, → connected {:.3} s",
                run + 1,
                if monitor { "on " } else { "off" },
                s.to_reconnecting.as_secs_f64(),
                s.to_connected.as_secs_f64()
            );
            if monitor { &mut with } else { &mut without }.push(s);
        }
    }
    let col = |v: &[Sample], f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
    let rec = |s: &Sample| s.to_reconnecting.as_secs_f64();
    let con = |s: &Sample| s.to_connected.as_secs_f64();
    println!(
        "netchange: the app's address moves mid-call; {} runs each, medians",
        args.runs
    );
    println!("{:<22} {:>16} {:>16}", "", "monitor on", "monitor off");
    println!(
        "{:<22} {:>14.3} s {:>14.3} s",
        "move → reconnecting",
        col(&with, rec),
        col(&without, rec)
    );
    println!(
        "{:<22} {:>14.3} s {:>14.3} s",
        "move → connected",
        col(&with, con),
        col(&without, con)
    );
    println!(
        "netchange: with/without median ratio {:.2}",
        col(&with, con) / col(&without, con)
    );
    Ok(())
}
