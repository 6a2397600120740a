//! Reads this machine's screens and cameras as a call would, and prints
//! what it got as JSON lines: a person's check of capture on a system the
//! tests cannot reach, and the Windows test's program under Wine.
//!
//!   cargo run -p rtcstack --example capture -- list
//!   cargo run -p rtcstack --example capture -- screen --pictures 3 --at 100,100
//!   cargo run -p rtcstack --example capture -- camera ID --pictures 3
//!
//! `list` prints what may be shared and the cameras (or why not);
//! `screen` and `camera` open one as the app would and print each picture's
//! size and its colour at each `--at` point, then whether it was ended.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rtcstack::video::camera::{Camera, CameraService};
use rtcstack::video::screen::{shareables, Screen, ShareEnd, ShareTarget};
use rtcstack::video::{VideoFormat, VideoFrame, VideoInput};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// What may be shared, and the cameras.
    List,
    /// The whole screen, or one monitor or window by the id `list` gave.
    Screen {
        #[arg(long, conflicts_with = "window")]
        monitor: Option<u32>,
        #[arg(long)]
        window: Option<u32>,
        #[command(flatten)]
        read: Read,
    },
    /// The camera with this id (from `list`).
    Camera {
        id: String,
        #[command(flatten)]
        read: Read,
    },
}

#[derive(clap::Args)]
struct Read {
    /// Pictures to read.
    #[arg(long, default_value_t = 3)]
    pictures: u32,
    /// Points (x,y) whose colour is printed for each picture.
    #[arg(long, value_parser = point)]
    at: Vec<(u32, u32)>,
    /// Seconds to wait for each picture.
    #[arg(long, default_value_t = 10)]
    within: u64,
}

fn point(s: &str) -> Result<(u32, u32), String> {
    let (x, y) = s.split_once(',').ok_or("a point is x,y")?;
    let n = |v: &str| v.trim().parse::<u32>().map_err(|e| format!("{v}: {e}"));
    Ok((n(x)?, n(y)?))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let service = CameraService::session();
    match args.what {
        What::List => {
            let shareables = match shareables() {
                Ok(all) => json!({ "ok": all }),
                Err(e) => json!({ "error": e.to_string() }),
            };
            let cameras = match Camera::list(&service) {
                Ok(all) => json!({ "ok": all }),
                Err(e) => json!({ "error": e.to_string() }),
            };
            println!(
                "{}",
                json!({ "shareables": shareables, "cameras": cameras })
            );
        }
        What::Screen {
            monitor,
            window,
            read,
        } => {
            let target = match (monitor, window) {
                (Some(id), _) => ShareTarget::Monitor { id },
                (_, Some(id)) => ShareTarget::Window { id },
                _ => ShareTarget::Screen,
            };
            // Opening blocks (a system dialog may ask the user first).
            let opened = tokio::task::spawn_blocking(move || Screen::open(target, 10))
                .await
                .expect("opening the screen panicked");
            match opened {
                Ok(screen) => {
                    let end = screen.end();
                    pictures(screen, end, &read).await;
                }
                Err(e) => println!("{}", json!({ "error": e.to_string() })),
            }
        }
        What::Camera { id, read } => {
            let want = VideoFormat {
                width: 1280,
                height: 720,
                fps: 30,
            };
            let opened = tokio::task::spawn_blocking(move || Camera::open(&service, &id, want))
                .await
                .expect("opening the camera panicked");
            match opened {
                Ok(camera) => {
                    let end = camera.end();
                    pictures(camera, end, &read).await;
                }
                Err(e) => println!("{}", json!({ "error": e.to_string() })),
            }
        }
    }
}

/// Reads `read.pictures` pictures as each arrives (or at the input's rate,
/// for one without a clock of its own), printing a line for each, then one
/// saying whether what was read is gone (closed, unplugged): at once when
/// it goes.
async fn pictures(mut input: impl VideoInput, end: ShareEnd, read: &Read) {
    let format = input.format();
    println!(
        "{}",
        json!({ "opened": { "width": format.width, "height": format.height, "fps": format.fps } })
    );
    let arrivals = input.arrivals();
    let mut frame = VideoFrame::black(format.width, format.height);
    let start = Instant::now();
    let ms = || start.elapsed().as_millis();
    let mut seen = 0;
    for _ in 0..read.pictures {
        let next = async {
            match &arrivals {
                Some(arrivals) => {
                    arrivals
                        .wait_after(seen, Duration::from_secs(read.within))
                        .await;
                    (arrivals.count() > seen).then(|| arrivals.count())
                }
                // Sampled on the reader's clock, as a sender does.
                None => {
                    tokio::time::sleep(Duration::from_secs(1) / format.fps.max(1)).await;
                    Some(seen)
                }
            }
        };
        tokio::select! {
            // (false: the reader stopped first; this branch is then off.)
            true = end.clone().ended() => break,
            arrived = next => match arrived {
                Some(count) => seen = count,
                None => {
                    println!("{}", json!({ "error": "no picture came", "after_ms": ms() }));
                    break;
                }
            },
        }
        input.next_frame(&mut frame);
        let at: Vec<_> = read
            .at
            .iter()
            .map(|&(x, y)| json!({ "x": x, "y": y, "rgb": frame.rgb_at(x, y) }))
            .collect();
        println!(
            "{}",
            json!({ "picture": { "width": frame.width, "height": frame.height,
                "after_ms": ms(), "at": at } })
        );
    }
    println!("{}", json!({ "ended": end.has_ended(), "after_ms": ms() }));
}
