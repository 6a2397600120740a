//! What our microphone heard beside what the far end received from us,
//! over the same seconds: the measure of the capture path's processing.
//! The microphone is recorded from the sound server (`mic.monitor`), what
//! was received by the Python peer.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use rtcstack_bot_audio::analysis::{active_level_db, rms_db};
use rtcstack_bot_audio::wav::WavInput;

use crate::peer::PythonPeer;
use crate::pulse::PulseServer;

pub struct Window {
    pub mic: Vec<i16>,
    pub received: Vec<i16>,
}

/// `seconds` of what the microphone heard and what the peer received
/// from `identity`; `name` names the recording in `dir`.
pub async fn measure(
    pulse: &PulseServer,
    peer: &mut PythonPeer,
    identity: &str,
    seconds: f64,
    dir: &Path,
    name: &str,
) -> Result<Window> {
    let path = dir.join(format!("{name}.wav"));
    let mark = peer.mark();
    peer.send(serde_json::json!({
        "cmd": "record", "identity": identity, "seconds": seconds, "path": path,
    }))
    .await?;
    // The received audio is ~0.1 s behind the microphone (encode, network,
    // jitter buffer): both windows are long, so the overlap is most of them.
    let mic = tokio::task::block_in_place(|| pulse.record("mic.monitor", seconds))?;
    peer.wait_for_after(
        mark,
        "recorded",
        |e| e.kind() == "recorded",
        Duration::from_secs_f64(seconds + 10.0),
    )
    .await?;
    let received = WavInput::open(&path)?.samples().to_vec();
    Ok(Window { mic, received })
}

impl Window {
    /// Echo removed in each second (heard minus sent, dB).
    pub fn erle_per_second(&self) -> Vec<f64> {
        self.mic
            .chunks_exact(48_000)
            .zip(self.received.chunks_exact(48_000))
            .map(|(heard, sent)| rms_db(heard) - rms_db(sent))
            .collect()
    }
}

/// The middle value (the upper of the two middle ones); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A quiet talker (`plain` with gain control off, `lifted` with it on):
/// sent as heard (within 3 dB) off, and between -30 and -12 dBFS on,
/// judged on the talk's active level. `what` names it in the output.
pub fn assert_lifted(plain: &Window, lifted: &Window, what: &str) {
    let (heard, sent_off, sent_on) = (
        active_level_db(&lifted.mic),
        active_level_db(&plain.received),
        active_level_db(&lifted.received),
    );
    eprintln!(
        "{what}: talker heard at {heard:.1} dBFS; sent {sent_off:.1} (gain off) → {sent_on:.1} (on)"
    );
    assert!(
        (sent_off - heard).abs() <= 3.0,
        "gain off: {heard:.1} → {sent_off:.1}"
    );
    assert!(
        (-30.0..=-12.0).contains(&sent_on),
        "gain on: {heard:.1} → {sent_on:.1} dBFS"
    );
}
