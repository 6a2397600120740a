//! The parts of self-update that need no updater plugin: the rule that an
//! update never interrupts a call ([`gate`]), what the UI is told
//! ([`status`]) and whether an offered package is ours ([`provenance`]).
//! The desktop shell wires them to `tauri-plugin-updater`.

pub mod gate;
pub mod provenance;
pub mod status;

pub use gate::UpdateGate;
pub use status::{ProblemKind, UpdateStatus, UpdateView};
