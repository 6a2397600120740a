//! The microphones and speakers to choose from, and which are chosen.

use rtcstack::audio::device::{input_devices, output_devices, DeviceInfo};
use serde::Serialize;
use ts_rs::TS;

/// Microphones and speakers, and which are chosen.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Devices {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
    pub input: Option<String>,
    pub output: Option<String>,
}

/// The devices chosen (None: the system's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceChoice {
    pub input: Option<String>,
    pub output: Option<String>,
}

/// Lists the devices. Listing probes each device (ALSA opens them), which
/// can block: it runs on the blocking pool, off the async threads.
pub async fn list(chosen: DeviceChoice) -> Devices {
    let (inputs, outputs) = tokio::task::spawn_blocking(|| {
        (
            input_devices().unwrap_or_default(),
            output_devices().unwrap_or_default(),
        )
    })
    .await
    .unwrap_or_else(|e| {
        tracing::warn!("listing audio devices failed: {e}");
        Default::default()
    });
    Devices {
        inputs,
        outputs,
        input: chosen.input,
        output: chosen.output,
    }
}
