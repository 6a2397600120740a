use serde::{Deserialize, Serialize};

/// The spec's connection states, serialised in camelCase so the UI sees the
/// spec's own words (`reconnecting`, not `Reconnecting`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionState {
    /// Before `connect()`.
    #[default]
    Idle,
    /// The first join is running.
    Connecting,
    Connected,
    /// An outage is being recovered from.
    Reconnecting,
    /// Terminal: left, removed, or retries exhausted.
    Disconnected,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_the_spec_words() {
        let words: Vec<String> = [
            ConnectionState::Idle,
            ConnectionState::Connecting,
            ConnectionState::Connected,
            ConnectionState::Reconnecting,
            ConnectionState::Disconnected,
        ]
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
        assert_eq!(
            words,
            [
                "\"idle\"",
                "\"connecting\"",
                "\"connected\"",
                "\"reconnecting\"",
                "\"disconnected\""
            ]
        );
    }

    #[test]
    fn starts_idle() {
        assert_eq!(ConnectionState::default(), ConnectionState::Idle);
    }
}
