//! Faults a test (or a support tool) can ask for, the way LiveKit's own SDKs
//! offer `simulateScenario`: most are carried out by the server, one by us.

use livekit_protocol as proto;

/// A fault to simulate on a live call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Our signal connection drops (client side): we resume.
    SignalReconnect,
    /// The server's node "fails": the session is dropped without a goodbye.
    NodeFailure,
    /// The server "migrates" the session away: dropped without a goodbye.
    Migration,
    /// The server leaves us (as on shutdown): the call ends.
    ServerLeave,
    /// The server restarts ICE and offers TCP candidates only.
    ForceTcp,
    /// The server drops the signal connection on our next resume.
    DisconnectSignalOnResume,
    /// The same, before the server sends anything on the resumed connection.
    DisconnectSignalOnResumeNoMessages,
}

impl Scenario {
    /// The request for the server, or `None` for a client-side fault.
    pub(crate) fn to_proto(self) -> Option<proto::SimulateScenario> {
        use proto::simulate_scenario::Scenario as S;
        let s = match self {
            Scenario::SignalReconnect => return None,
            Scenario::NodeFailure => S::NodeFailure(true),
            Scenario::Migration => S::Migration(true),
            Scenario::ServerLeave => S::ServerLeave(true),
            Scenario::ForceTcp => S::SwitchCandidateProtocol(proto::CandidateProtocol::Tcp as i32),
            Scenario::DisconnectSignalOnResume => S::DisconnectSignalOnResume(true),
            Scenario::DisconnectSignalOnResumeNoMessages => {
                S::DisconnectSignalOnResumeNoMessages(true)
            }
        };
        Some(proto::SimulateScenario { scenario: Some(s) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_signal_drop_is_ours() {
        assert!(Scenario::SignalReconnect.to_proto().is_none());
        let p = Scenario::ForceTcp.to_proto().unwrap();
        assert_eq!(
            p.scenario,
            Some(proto::simulate_scenario::Scenario::SwitchCandidateProtocol(
                proto::CandidateProtocol::Tcp as i32
            ))
        );
    }
}
