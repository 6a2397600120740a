//! `scripts/bench audio`, our side: the capture path's processing
//! (`rtcstack::audio::processing::Processor`) over a recorded scenario.
//! tests/peer/apm_bench.py makes the scenario, runs libwebrtc's module over
//! it the same way, starts this binary for ours, and measures both outputs
//! with one analysis.
//!
//! Reads far.wav (what we play) and mic.wav (what the microphone hears),
//! both 48 kHz mono 16-bit; feeds them 20 ms at a time, the far end first
//! (`render`, then `capture`), as the call does; writes what the microphone
//! sends (out.wav) and prints one JSON line with the time spent.
//!
//! Time: the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) read around the
//! processing calls only, per 20 ms frame, summed over the file, given per
//! 10 ms of audio; the Python side reads the same clock the same way
//! (`time.thread_time_ns`). Each pass is a fresh processor over the whole
//! file; `--warmup` passes run first and are not counted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::time::{clock_gettime, ClockId};
use rtcstack::audio::processing::{Processor, Stages};
use rtcstack::audio::{FRAME_SAMPLES, SAMPLE_RATE};

#[derive(Parser)]
struct Args {
    /// The far end: what we play out.
    #[arg(long)]
    far: PathBuf,
    /// The microphone: the far end's echo, the near end and its noise.
    #[arg(long)]
    mic: PathBuf,
    /// Where the processed microphone goes (the last pass's).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stages on, comma-separated: ec, ns, agc (the high-pass filter runs
    /// with any of them); "off" for none (the calls' own cost).
    #[arg(long, default_value = "ec,ns")]
    stages: String,
    /// The delay hint between playing and hearing.
    #[arg(long, default_value_t = 80)]
    delay_ms: u32,
    /// Passes over the whole file before the counted ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Counted passes.
    #[arg(long, default_value_t = 5)]
    reps: usize,
}

fn stages(spec: &str) -> Result<Stages> {
    let mut s = Stages {
        echo_cancellation: false,
        noise_suppression: false,
        auto_gain_control: false,
    };
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "ec" => s.echo_cancellation = true,
            "ns" => s.noise_suppression = true,
            "agc" => s.auto_gain_control = true,
            "off" => {}
            other => bail!("unknown stage {other:?} (ec, ns, agc or off)"),
        }
    }
    Ok(s)
}

fn read_wav(path: &Path) -> Result<Vec<i16>> {
    let mut r = hound::WavReader::open(path).with_context(|| format!("{}", path.display()))?;
    let spec = r.spec();
    if spec.sample_rate != SAMPLE_RATE
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        bail!("{}: want 48 kHz mono 16-bit, got {spec:?}", path.display());
    }
    r.samples::<i16>()
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}", path.display()))
}

fn write_wav(path: &Path, samples: &[i16]) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        w.write_sample(s)?;
    }
    w.finalize()?;
    Ok(())
}

fn thread_cpu_ns() -> i64 {
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).expect("thread CPU clock");
    t.tv_sec() * 1_000_000_000 + t.tv_nsec()
}

/// One pass, a fresh processor: the output and the CPU and wall time of
/// the processing calls, nanoseconds.
fn pass(far: &[i16], mic: &[i16], stages: Stages, delay_ms: u32) -> (Vec<i16>, i64, i64) {
    let mut p = Processor::new(stages);
    p.set_delay_ms(delay_ms);
    let mut out = mic.to_vec();
    let (mut cpu, mut wall) = (0i64, 0i64);
    for (f, m) in far
        .chunks_exact(FRAME_SAMPLES)
        .zip(out.chunks_exact_mut(FRAME_SAMPLES))
    {
        let w0 = Instant::now();
        let c0 = thread_cpu_ns();
        p.render(f);
        p.capture(m);
        cpu += thread_cpu_ns() - c0;
        wall += w0.elapsed().as_nanos() as i64;
    }
    (out, cpu, wall)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let stages = stages(&args.stages)?;
    let far = read_wav(&args.far)?;
    let mic = read_wav(&args.mic)?;
    let frames = far.len().min(mic.len()) / FRAME_SAMPLES;
    if frames == 0 || args.reps == 0 {
        bail!("nothing to process");
    }
    let (far, mic) = (
        &far[..frames * FRAME_SAMPLES],
        &mic[..frames * FRAME_SAMPLES],
    );
    for _ in 0..args.warmup {
        pass(far, mic, stages, args.delay_ms);
    }
    let chunks = (frames * 2) as f64;
    let (mut cpu_us, mut wall_us, mut out) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.reps {
        let (o, cpu, wall) = pass(far, mic, stages, args.delay_ms);
        cpu_us.push(cpu as f64 / 1e3 / chunks);
        wall_us.push(wall as f64 / 1e3 / chunks);
        out = o;
    }
    if let Some(path) = &args.out {
        write_wav(path, &out)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "stages": args.stages,
            "chunks_10ms": frames * 2,
            "cpu_us_per_10ms": cpu_us,
            "wall_us_per_10ms": wall_us,
        })
    );
    Ok(())
}
