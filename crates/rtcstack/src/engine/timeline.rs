//! Milestones of a join and of a resume, as `tracing` events under one
//! target (`rtcstack::timeline`, level debug, fields `session` and `mark`),
//! so a benchmark can stamp them and anyone can see where a join's time
//! goes (`RUST_LOG=rtcstack::timeline=debug`). Nothing is spent when no
//! subscriber listens to the target.
//!
//! Marks, in the order a join meets them: `join_response`,
//! `transports_built`, `publisher_offer`, `publisher_answer`,
//! `subscriber_offer`, `subscriber_answer` (each renegotiation again),
//! `{publisher,subscriber}_ice_connected`, `{publisher,subscriber}_connected`
//! (ICE and DTLS both done), `primary_connected` (the connection LiveKit's
//! join response names primary, the moment LiveKit's own clients call the
//! room connected), `track`, `first_rtp`, `first_decoded`. A resume:
//! `resume_start`, `signal_restarted`, `resume_offer`, `resume_connected`;
//! and `rtp_resumed` when a remote track's packets come back after a gap.

/// Records `mark` for session `session`.
pub(crate) fn mark(session: u64, mark: &'static str) {
    tracing::debug!(target: "rtcstack::timeline", session, mark);
}
