//! Each check's outcome as a line a person reads: a verdict, what was
//! found, and what to do about it, as sentences the page says in its
//! language. Pure, so every wording is tested.

use std::time::Duration;

use rtcstack::check::TestJoin;
use rtcstack::{ConnectError, MediaPath, PathProtocol};
use serde::Serialize;
use ts_rs::TS;

use crate::audio::Heard;
use crate::call::join::join_error;
use crate::i18n::Sentence;
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
    pub text: Sentence,
    /// What to do, for a line that is not good.
    pub advice: Option<Sentence>,
}

fn line(item: CheckItem, verdict: Verdict, text: Sentence) -> CheckLine {
    CheckLine {
        item,
        verdict,
        text,
        advice: None,
    }
}

fn advised(mut l: CheckLine, advice: &'static str) -> CheckLine {
    l.advice = Some(Sentence::new(advice));
    l
}

/// Every line, checking.
pub(crate) fn checking() -> Vec<CheckLine> {
    use CheckItem::*;
    [Server, Token, Transport, Microphone, Speaker]
        .into_iter()
        .map(|item| line(item, Verdict::Checking, Sentence::new("check.checking")))
        .collect()
}

/// A round trip this long or longer is felt in a conversation.
const FAR: Duration = Duration::from_millis(250);

const NETWORK_ADVICE: &str = "check.networkAdvice";

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A round trip as people read it: whole milliseconds, and on a local
/// network (under one) not "0 ms".
fn round_trip(d: Duration) -> Sentence {
    if d < Duration::from_millis(1) {
        Sentence::new("check.underOneMs")
    } else {
        Sentence::new("check.ms").with("ms", ms(d))
    }
}

/// The server's signal port, and how far away it is.
pub(crate) fn server(found: Result<Duration, ConnectError>, within: Duration) -> CheckLine {
    let item = CheckItem::Server;
    let unreachable = |why: String| {
        advised(
            line(
                item,
                Verdict::Failed,
                Sentence::new("check.notReachable").with("why", why),
            ),
            NETWORK_ADVICE,
        )
    };
    match found {
        Ok(rtt) if rtt >= FAR => advised(
            line(
                item,
                Verdict::Warning,
                Sentence::new("check.far").with_sentence("rtt", round_trip(rtt)),
            ),
            "check.farAdvice",
        ),
        Ok(rtt) => line(
            item,
            Verdict::Good,
            Sentence::new("check.reachable").with_sentence("rtt", round_trip(rtt)),
        ),
        Err(ConnectError::InvalidUrl(m)) => advised(
            line(
                item,
                Verdict::Failed,
                // What was typed: a token pasted into it is not shown.
                Sentence::new("check.invalidUrl").with("why", redact(&m)),
            ),
            "check.invalidUrlAdvice",
        ),
        Err(ConnectError::Timeout(_)) => advised(
            line(
                item,
                Verdict::Failed,
                Sentence::new("check.noAnswer").with("s", within.as_secs()),
            ),
            NETWORK_ADVICE,
        ),
        Err(ConnectError::Unreachable(why)) => unreachable(why),
        Err(e) => unreachable(e.to_string()),
    }
}

/// The profile's token source.
pub(crate) fn token(kind: ProfileKind, found: &Result<Duration, TokenSourceError>) -> CheckLine {
    let item = CheckItem::Token;
    match (kind, found) {
        (ProfileKind::TokenEndpoint, Ok(took)) => line(
            item,
            Verdict::Good,
            Sentence::new("check.tokenServiceAnswered").with("ms", ms(*took)),
        ),
        (ProfileKind::SelfHosted, Ok(_)) => {
            line(item, Verdict::Good, Sentence::new("check.signedHere"))
        }
        (ProfileKind::PastedToken, Ok(_)) => {
            line(item, Verdict::Good, Sentence::new("check.pastedValid"))
        }
        (_, Err(TokenSourceError::SignInAgain(m))) => advised(
            line(item, Verdict::Failed, m.clone()),
            "check.newCredentialAdvice",
        ),
        (_, Err(TokenSourceError::Service(m))) => advised(
            line(item, Verdict::Failed, m.clone()),
            "check.tokenServiceAdvice",
        ),
        (_, Err(TokenSourceError::Unusable(m))) => advised(
            line(item, Verdict::Failed, m.clone()),
            "check.editProfileAdvice",
        ),
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
                | ConnectError::JoinRejected { .. } => "check.accessRefusedAdvice",
                _ => NETWORK_ADVICE,
            };
            return advised(
                line(item, Verdict::Failed, join_error(e).into_sentence()),
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
                Sentence::new("check.onlyRelay").with("relay", relay),
            ),
            "check.onlyRelayAdvice",
        ),
        Some(p) if p.protocol == PathProtocol::Tcp => advised(
            line(item, Verdict::Warning, Sentence::new("check.udpBlocked")),
            "check.udpBlockedAdvice",
        ),
        Some(_) => line(
            item,
            Verdict::Good,
            Sentence::new("check.udpWorks").with("ms", took),
        ),
        None => advised(
            line(
                item,
                Verdict::Warning,
                Sentence::new("check.pathUnread").with("ms", took),
            ),
            "check.tryAgainAdvice",
        ),
    }
}

/// Why the test join was not tried (a `check.skipped…` key).
pub(crate) fn transport_skipped(why: &'static str) -> CheckLine {
    line(
        CheckItem::Transport,
        Verdict::Skipped,
        Sentence::new("check.notTried").with_sentence("why", Sentence::new(why)),
    )
}

/// Below this the microphone sends nothing at all (digital silence, or a
/// muted switch); any real room is louder.
const DEAD_DB: f32 = -80.0;

pub(crate) fn microphone(heard: &Heard) -> CheckLine {
    let item = CheckItem::Microphone;
    let Some(name) = &heard.device else {
        return advised(
            line(item, Verdict::Failed, Sentence::new("check.noMicrophone")),
            "check.noMicrophoneAdvice",
        );
    };
    if heard.voice {
        line(
            item,
            Verdict::Good,
            Sentence::new("check.heardYou").with("name", name),
        )
    } else if heard.loudest_dbfs > DEAD_DB {
        line(
            item,
            Verdict::Good,
            Sentence::new("check.soundComing").with("name", name),
        )
    } else {
        advised(
            line(
                item,
                Verdict::Warning,
                Sentence::new("check.noSound").with("name", name),
            ),
            "check.noSoundAdvice",
        )
    }
}

pub(crate) fn speaker(played: Result<String, String>) -> CheckLine {
    let item = CheckItem::Speaker;
    match played {
        Ok(name) => line(
            item,
            Verdict::Good,
            Sentence::new("check.soundPlayed").with("name", name),
        ),
        Err(e) => advised(
            line(
                item,
                Verdict::Failed,
                Sentence::new("check.noSpeaker").with("why", e),
            ),
            "check.noSpeakerAdvice",
        ),
    }
}

/// A check that started itself (after a failed join) plays no sound.
pub(crate) fn speaker_not_asked() -> CheckLine {
    line(
        CheckItem::Speaker,
        Verdict::Skipped,
        Sentence::new("check.speakerNotAsked"),
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
            (near.verdict, near.text.to_string().as_str()),
            (Verdict::Good, "Reachable: 3 ms round trip")
        );
        let next_door = server(Ok(Duration::from_micros(300)), within);
        assert_eq!(
            next_door.text.to_string(),
            "Reachable: under 1 ms round trip"
        );
        assert_eq!(server(Ok(FAR), within).verdict, Verdict::Warning);
        let silent = server(Err(ConnectError::Timeout(within)), within);
        assert_eq!(silent.verdict, Verdict::Failed);
        assert_eq!(
            silent.text.to_string(),
            "Not reachable: no answer within 4 s"
        );
        assert!(silent.advice.is_some());
        let refused = server(Err(ConnectError::Unreachable("refused".into())), within);
        assert!(
            refused.text.to_string().starts_with("Not reachable: "),
            "{}",
            refused.text
        );
    }

    #[test]
    fn udp_tcp_and_relay_each_say_what_a_call_will_do() {
        let udp = transport(Ok(joined(PathProtocol::Udp, None)));
        assert_eq!(udp.verdict, Verdict::Good);
        assert!(
            udp.text.to_string().starts_with("UDP works"),
            "{}",
            udp.text
        );
        let tcp = transport(Ok(joined(PathProtocol::Tcp, None)));
        assert_eq!(tcp.verdict, Verdict::Warning);
        assert_eq!(
            tcp.text.to_string(),
            "UDP is blocked on this network: calls will use TCP, which can add delay"
        );
        let relay = transport(Ok(joined(PathProtocol::Udp, Some(RelayProtocol::Tls))));
        assert_eq!(relay.verdict, Verdict::Warning);
        assert!(
            relay.text.to_string().contains("relay (TURN over TLS)"),
            "{}",
            relay.text
        );
        let refused = transport(Err(ConnectError::Unauthorized("bad signature".into())));
        assert_eq!(refused.verdict, Verdict::Failed);
        assert!(refused.advice.unwrap().to_string().contains("profile"));
    }

    #[test]
    fn a_token_source_that_refuses_says_what_to_do() {
        let e = Err(TokenSourceError::SignInAgain(
            Sentence::new("token.signInAgain").with("status", 401),
        ));
        let l = token(ProfileKind::TokenEndpoint, &e);
        assert_eq!(l.verdict, Verdict::Failed);
        assert_eq!(
            l.text.to_string(),
            "The token service did not accept the credential (HTTP 401): sign in again and update the profile's credential."
        );
        let ok = token(ProfileKind::TokenEndpoint, &Ok(Duration::from_millis(42)));
        assert_eq!(ok.text.to_string(), "The token service answered in 42 ms");
    }

    #[test]
    fn a_line_is_said_in_the_pages_language() {
        let near = server(Ok(Duration::from_millis(3)), Duration::from_secs(4));
        assert_eq!(near.text.say("de"), "Erreichbar: 3 ms Umlaufzeit");
        let skipped = transport_skipped("check.skippedUnreachable");
        assert_eq!(
            skipped.text.to_string(),
            "Not tried: the server is not reachable"
        );
        assert_eq!(
            skipped.text.say("de"),
            "Nicht versucht: Der Server ist nicht erreichbar"
        );
    }

    #[test]
    fn a_microphone_heard_quiet_and_silent() {
        let heard = |dbfs: f32, voice: bool| Heard {
            device: Some("Mic".into()),
            loudest_dbfs: dbfs,
            voice,
        };
        assert_eq!(
            microphone(&heard(-20.0, true)).text.to_string(),
            "Mic: we hear you"
        );
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
