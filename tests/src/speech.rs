//! Real speech for the audio-processing tests: espeak-ng (Debian's package,
//! scripts/setup installs it) says a sentence, which is converted to the
//! call's 48 kHz mono and set to a given active speech level.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use rtcstack_bot_audio::analysis::active_level_db;
use rtcstack_bot_audio::wav::{self, WavInput};

/// What the far end says in the audio tests (looped).
pub const FAR_TEXT: &str = "The quick brown fox jumps over the lazy dog, and then it runs away.";

/// Writes `text` spoken by `voice` to `dir/name.wav` at 48 kHz mono, its
/// active level at `level_db` dBFS, followed by a second of silence (a
/// pause between sentences when looped); returns the path and the samples.
pub fn speech(
    dir: &Path,
    name: &str,
    voice: &str,
    text: &str,
    level_db: f64,
) -> Result<(PathBuf, Vec<i16>)> {
    let raw = dir.join(format!("{name}-espeak.wav"));
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "160", "-w"])
        .arg(&raw)
        .arg(text)
        .output()
        .context("running espeak-ng (scripts/setup installs it)")?;
    if !out.status.success() {
        bail!("espeak-ng: {}", String::from_utf8_lossy(&out.stderr));
    }
    let spoken = WavInput::open(&raw)?;
    let samples = spoken.samples();
    let gain = 10f64.powf((level_db - active_level_db(samples)) / 20.0);
    let scaled: Vec<i16> = samples
        .iter()
        .map(|&s| (f64::from(s) * gain).clamp(-32768.0, 32767.0) as i16)
        .chain(std::iter::repeat_n(0, 48_000))
        .collect();
    let path = dir.join(format!("{name}.wav"));
    wav::write(&path, &scaled)?;
    Ok((path, scaled))
}
