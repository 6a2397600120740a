//! Each check's outcome as a line a person reads: a verdict, what was
//! found, and what to do about it. Pure, so every wording is tested.

use std::time::Duration;

use rtcstack::check::TestJoin;
use rtcstack::{ConnectError, MediaPath, PathProtocol};
use serde::Serialize;
use ts_rs::TS;

use crate::audio::Heard;
use crate::call::join::join_error;
use crate::profiles::tokens::TokenSourceError;
use crate::profiles::ProfileKind;
use crate::redact::redact;

/// What is checked, one line each, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CheckItem {
    Server,
    Token,
    Transport,
    Microphone,
    Speaker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Verdict {
    /// Not known yet.
    Checking,
    Good,
    /// Calls work, less well than they could.
    Warning,
    /// Calls will not work until this is fixed.
    Failed,
    /// Not tried: an earlier line failed, or it was not asked for.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CheckLine {
    pub item: CheckItem,
    pub verdict: Verdict,
    pub text: String,
    /// What to do, for a line that is not good.
    pub advice: Option<String>,
}

fn line(item: CheckItem, verdict: Verdict, text: impl Into<String>) -> CheckLine {
    CheckLine {
        item,
        verdict,
        text: text.into(),
        advice: None,
    }
}

fn advised(mut l: CheckLine, advice: &str) -> CheckLine {
    l.advice = Some(advice.to_string());
    l
}

/// Every line, checking.
pub(crate) fn checking() -> Vec<CheckLine> {
    use CheckItem::*;
    [Server, Token, Transport, Microphone, Speaker]
        .into_iter()
        .map(|item| line(item, Verdict::Checking, "Checking…"))
        .collect()
}

/// A round trip this long or longer is felt in a conversation.
const FAR: Duration = Duration::from_millis(250);

const NETWORK_ADVICE: &str = "Check the server address, and that this network lets you reach it: a firewall, proxy or VPN may be in the way.";

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A round trip as people read it: whole milliseconds, and on a local
/// network (under one) not "0 ms".
fn round_trip(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        "under 1 ms".into()
    } else {
        format!("{} ms", ms(d))
    }
}

/// The server's signal port, and how far away it is.
pub(crate) fn server(found: Result<Duration, ConnectError>, within: Duration) -> CheckLine {
    let item = CheckItem::Server;
    match found {
        Ok(rtt) if rtt >= FAR => advised(
            line(
                item,
                Verdict::Warning,
                format!("Reachable, but far: {} round trip", round_trip(rtt)),
            ),
            "Calls will feel delayed: a wired network or a server nearer to you helps.",
        ),
        Ok(rtt) => line(
            item,
            Verdict::Good,
            format!("Reachable: {} round trip", round_trip(rtt)),
        ),
        Err(ConnectError::InvalidUrl(m)) => advised(
            line(
                item,
                Verdict::Failed,
                // What was typed: a token pasted into it is not shown.
                format!("The server address is not valid: {}", redact(&m)),
            ),
            "Check the Server field.",
        ),
        Err(ConnectError::Timeout(_)) => advised(
            line(
                item,
                Verdict::Failed,
                format!("Not reachable: no answer within {} s", within.as_secs()),
            ),
            NETWORK_ADVICE,
        ),
        Err(ConnectError::Unreachable(why)) => advised(
            line(item, Verdict::Failed, format!("Not reachable: {why}")),
            NETWORK_ADVICE,
        ),
        Err(e) => advised(
            line(item, Verdict::Failed, format!("Not reachable: {e}")),
            NETWORK_ADVICE,
        ),
    }
}

/// The profile's token source.
pub(crate) fn token(kind: ProfileKind, found: &Result<Duration, TokenSourceError>) -> CheckLine {
    let item = CheckItem::Token;
    match (kind, found) {
        (ProfileKind::TokenEndpoint, Ok(took)) => line(
            item,
            Verdict::Good,
            format!("The token service answered in {} ms", ms(*took)),
        ),
        (ProfileKind::SelfHosted, Ok(_)) => line(
            item,
            Verdict::Good,
            "Signed on this computer with the profile's key",
        ),
        (ProfileKind::PastedToken, Ok(_)) => {
            line(item, Verdict::Good, "The pasted access is valid")
        }
        (_, Err(TokenSourceError::SignInAgain(m))) => advised(
            line(item, Verdict::Failed, m.clone()),
            "Edit the profile and enter a new credential.",
        ),
        (_, Err(TokenSourceError::Service(m))) => advised(
            line(item, Verdict::Failed, m.clone()),
            "The token service may be down: try again later, or ask whoever runs it.",
        ),
        (_, Err(TokenSourceError::Unusable(m))) => {
            advised(line(item, Verdict::Failed, m.clone()), "Edit the profile.")
        }
    }
}

/// The test join's path, or why there was none.
pub(crate) fn transport(found: Result<TestJoin, ConnectError>) -> CheckLine {
    let item = CheckItem::Transport;
    let joined = match found {
        Ok(j) => j,
        Err(e) => {
            let advice = match &e {
                ConnectError::Unauthorized(_)
                | ConnectError::TokenExpired
                | ConnectError::MalformedToken(_)
                | ConnectError::JoinRejected { .. } => {
                    "The server does not accept this profile's access: check the profile."
                }
                _ => NETWORK_ADVICE,
            };
            return advised(
                line(item, Verdict::Failed, join_error(e).to_string()),
                advice,
            );
        }
    };
    let took = ms(joined.took);
    match joined.paths.publisher {
        Some(MediaPath {
            relay: Some(relay), ..
        }) => advised(
            line(
                item,
                Verdict::Warning,
                format!(
                    "Only a relay (TURN over {relay}) gets through: calls work, with a detour that can add delay",
                ),
            ),
            "Direct UDP to the server is blocked here; another network may do better.",
        ),
        Some(p) if p.protocol == PathProtocol::Tcp => advised(
            line(
                item,
                Verdict::Warning,
                "UDP is blocked on this network: calls will use TCP, which can add delay",
            ),
            "If you can, use another network, or ask its administrator to allow UDP to the server.",
        ),
        Some(_) => line(
            item,
            Verdict::Good,
            format!("UDP works: media goes straight to the server (connected in {took} ms)"),
        ),
        None => advised(
            line(
                item,
                Verdict::Warning,
                format!("Connected in {took} ms, but the path media took could not be read"),
            ),
            "Try the check again.",
        ),
    }
}

/// Why the test join was not tried.
pub(crate) fn transport_skipped(why: &str) -> CheckLine {
    line(
        CheckItem::Transport,
        Verdict::Skipped,
        format!("Not tried: {why}"),
    )
}

/// Below this the microphone sends nothing at all (digital silence, or a
/// muted switch); any real room is louder.
const DEAD_DB: f32 = -80.0;

pub(crate) fn microphone(heard: &Heard) -> CheckLine {
    let item = CheckItem::Microphone;
    let Some(name) = &heard.device else {
        return advised(
            line(item, Verdict::Failed, "No microphone was found"),
            "Plug one in, or allow this app to use it in the system's privacy settings.",
        );
    };
    if heard.voice {
        line(item, Verdict::Good, format!("{name}: we hear you"))
    } else if heard.loudest_dbfs > DEAD_DB {
        line(
            item,
            Verdict::Good,
            format!("{name}: sound is coming in (say something to see the meter move)"),
        )
    } else {
        advised(
            line(item, Verdict::Warning, format!("{name}: no sound at all")),
            "It may be muted by a switch or in the system's sound settings, or you use another one: choose it below.",
        )
    }
}

pub(crate) fn speaker(played: Result<String, String>) -> CheckLine {
    let item = CheckItem::Speaker;
    match played {
        Ok(name) => line(
            item,
            Verdict::Good,
            format!("A test sound played on {name} (not heard? choose another speaker below)"),
        ),
        Err(e) => advised(
            line(item, Verdict::Failed, format!("No speaker could play: {e}")),
            "Plug in headphones, or check the system's sound output.",
        ),
    }
}

/// A check that started itself (after a failed join) plays no sound.
pub(crate) fn speaker_not_asked() -> CheckLine {
    line(
        CheckItem::Speaker,
        Verdict::Skipped,
        "Not tried: press \"Check connection\" to hear a test sound",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack::{MediaPaths, RelayProtocol};

    fn joined(protocol: PathProtocol, relay: Option<RelayProtocol>) -> TestJoin {
        let path = MediaPath {
            protocol,
            relay,
            remote: None,
            local: None,
            bytes_sent: 0,
            bytes_received: 0,
        };
        TestJoin {
            paths: MediaPaths {
                publisher: Some(path.clone()),
                subscriber: Some(path),
            },
            took: Duration::from_millis(640),
        }
    }

    #[test]
    fn the_server_near_far_and_gone() {
        let within = Duration::from_secs(4);
        let near = server(Ok(Duration::from_millis(3)), within);
        assert_eq!(
            (near.verdict, near.text.as_str()),
            (Verdict::Good, "Reachable: 3 ms round trip")
        );
        let next_door = server(Ok(Duration::from_micros(300)), within);
        assert_eq!(next_door.text, "Reachable: under 1 ms round trip");
        assert_eq!(server(Ok(FAR), within).verdict, Verdict::Warning);
        let silent = server(Err(ConnectError::Timeout(within)), within);
        assert_eq!(silent.verdict, Verdict::Failed);
        assert_eq!(silent.text, "Not reachable: no answer within 4 s");
        assert!(silent.advice.is_some());
        let refused = server(Err(ConnectError::Unreachable("refused".into())), within);
        assert!(
            refused.text.starts_with("Not reachable: "),
            "{}",
            refused.text
        );
    }

    #[test]
    fn udp_tcp_and_relay_each_say_what_a_call_will_do() {
        let udp = transport(Ok(joined(PathProtocol::Udp, None)));
        assert_eq!(udp.verdict, Verdict::Good);
        assert!(udp.text.starts_with("UDP works"), "{}", udp.text);
        let tcp = transport(Ok(joined(PathProtocol::Tcp, None)));
        assert_eq!(tcp.verdict, Verdict::Warning);
        assert_eq!(
            tcp.text,
            "UDP is blocked on this network: calls will use TCP, which can add delay"
        );
        let relay = transport(Ok(joined(PathProtocol::Udp, Some(RelayProtocol::Tls))));
        assert_eq!(relay.verdict, Verdict::Warning);
        assert!(
            relay.text.contains("relay (TURN over TLS)"),
            "{}",
            relay.text
        );
        let refused = transport(Err(ConnectError::Unauthorized("bad signature".into())));
        assert_eq!(refused.verdict, Verdict::Failed);
        assert!(refused.advice.unwrap().contains("profile"));
    }

    #[test]
    fn a_token_source_that_refuses_says_what_to_do() {
        let e = Err(TokenSourceError::SignInAgain(
            "The credential was refused.".into(),
        ));
        let l = token(ProfileKind::TokenEndpoint, &e);
        assert_eq!(l.verdict, Verdict::Failed);
        assert_eq!(l.text, "The credential was refused.");
        let ok = token(ProfileKind::TokenEndpoint, &Ok(Duration::from_millis(42)));
        assert_eq!(ok.text, "The token service answered in 42 ms");
    }

    #[test]
    fn a_microphone_heard_quiet_and_silent() {
        let heard = |dbfs: f32, voice: bool| Heard {
            device: Some("Mic".into()),
            loudest_dbfs: dbfs,
            voice,
        };
        assert_eq!(microphone(&heard(-20.0, true)).text, "Mic: we hear you");
        assert_eq!(microphone(&heard(-60.0, false)).verdict, Verdict::Good);
        let dead = microphone(&heard(-100.0, false));
        assert_eq!(dead.verdict, Verdict::Warning);
        assert!(dead.advice.is_some());
        let none = microphone(&Heard {
            device: None,
            loudest_dbfs: -100.0,
            voice: false,
        });
        assert_eq!(none.verdict, Verdict::Failed);
    }
}
