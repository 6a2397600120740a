//! Meeting links (`rtcstack://join?…`, from a browser, a calendar, a chat):
//! what one asks for and what the app does with it. A link may only pick
//! among the person's own profiles — by name or id (`profile=`), or by
//! the server it names (`server=`) — and a room; a server none of them uses
//! is shown and asked about, never joined. A call in progress is not left
//! without asking.
//!
//! The https form (`https://host/…/join?…`, for a backend's page to link
//! to) asks the same; naming neither profile nor server, it names its own
//! host's server. A desktop OS hands https links to the browser, so it
//! reaches the app as an argument (a launcher, a second launch handing it
//! over) or pasted; a click in the browser goes through the backend's page
//! and its `rtcstack:` link.

use serde::Serialize;
use ts_rs::TS;
use url::Url;

use crate::call::CallView;
use crate::i18n::Sentence;
use crate::profiles::ProfileInfo;
use crate::tray::in_call;

/// The scheme the app is registered for.
pub const SCHEME: &str = "rtcstack";

/// What the page does with a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum LinkView {
    /// Join `room` with `profile` (its server is `url`). `leaving` names
    /// the call in progress, which the person is asked about first.
    #[serde(rename_all = "camelCase")]
    Join {
        profile: String,
        profile_name: String,
        url: String,
        room: String,
        leaving: Option<String>,
    },
    /// The link names a server none of the profiles uses: shown, with the
    /// offer to make a profile for it; nothing joined.
    #[serde(rename_all = "camelCase")]
    UnknownServer {
        server: String,
        room: Option<String>,
    },
    /// The link names a profile that does not exist.
    #[serde(rename_all = "camelCase")]
    UnknownProfile { profile: String },
    /// Not a link the app can read: why.
    #[serde(rename_all = "camelCase")]
    Unreadable { why: Sentence },
}

/// Which profile a link asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Profile(String),
    Server(Url),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    target: Target,
    room: Option<String>,
}

/// Whether `arg` (a command-line argument) is a link of the https form.
pub fn is_https_link(arg: &str) -> bool {
    arg.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

fn read(link: &str) -> Result<Link, Sentence> {
    let url = Url::parse(link.trim()).map_err(|e| Sentence::new("link.notALink").with("why", e))?;
    let https = url.scheme() == "https";
    if url.scheme() != SCHEME && !https {
        return Err(Sentence::new("link.otherScheme").with("scheme", url.scheme()));
    }
    // rtcstack://join?… has "join" as its host; rtcstack:join?… as its
    // path; https://host/…/join?… as its path's last part.
    let action = if https {
        url.path_segments()
            .and_then(|mut s| s.rfind(|p| !p.is_empty()))
            .unwrap_or("")
    } else {
        url.host_str()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| url.path().trim_matches('/'))
    };
    if action != "join" {
        return Err(Sentence::new("link.unknownAction").with("action", action));
    }
    let (mut profile, mut server, mut room) = (None, None, None);
    for (k, v) in url.query_pairs() {
        let v = v.trim().to_string();
        match k.as_ref() {
            "profile" if !v.is_empty() => profile = Some(v),
            "server" if !v.is_empty() => server = Some(v),
            "room" if !v.is_empty() => room = Some(v),
            _ => {}
        }
    }
    let target = match (profile, server) {
        (Some(p), _) => Target::Profile(p),
        (None, Some(s)) => {
            let parsed = Url::parse(&s).map_err(|e| {
                Sentence::new("link.serverNotUrl")
                    .with("server", &s)
                    .with("why", e)
            })?;
            if !matches!(parsed.scheme(), "ws" | "wss" | "http" | "https")
                || parsed.host().is_none()
            {
                return Err(Sentence::new("link.serverNotLiveKit").with("server", &s));
            }
            Target::Server(parsed)
        }
        // The https form's own host (the same server over wss).
        (None, None) if https => {
            let mut own = url.clone();
            own.set_query(None);
            own.set_fragment(None);
            own.set_path("");
            Target::Server(own)
        }
        (None, None) => return Err(Sentence::new("link.namesNothing")),
    };
    Ok(Link { target, room })
}

/// Where a server is, whatever the scheme says about TLS: ws and http, wss
/// and https are the same server.
fn place(url: &Url) -> Option<(bool, String, u16)> {
    let secure = matches!(url.scheme(), "wss" | "https");
    let port = url.port().unwrap_or(if secure { 443 } else { 80 });
    Some((secure, url.host_str()?.to_ascii_lowercase(), port))
}

/// What to do with `link`, given the person's profiles and the call.
pub fn decide(link: &str, profiles: &[ProfileInfo], call: &CallView) -> LinkView {
    let link = match read(link) {
        Ok(l) => l,
        Err(why) => {
            return LinkView::Unreadable {
                why: Sentence::new("link.unreadable").with_sentence("why", why),
            }
        }
    };
    let profile = match &link.target {
        Target::Profile(p) => profiles
            .iter()
            .find(|i| i.id == *p || i.name.eq_ignore_ascii_case(p)),
        Target::Server(s) => profiles
            .iter()
            .find(|i| Url::parse(&i.url).ok().and_then(|u| place(&u)) == place(s)),
    };
    let Some(profile) = profile else {
        return match link.target {
            Target::Profile(profile) => LinkView::UnknownProfile { profile },
            Target::Server(server) => LinkView::UnknownServer {
                server: server.to_string(),
                room: link.room,
            },
        };
    };
    let room = link.room.unwrap_or_else(|| profile.room.clone());
    LinkView::Join {
        profile: profile.id.clone(),
        profile_name: profile.name.clone(),
        url: profile.url.clone(),
        leaving: in_call(call).then(|| call.room.clone().unwrap_or_default()),
        room,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileKind;
    use rtcstack::ConnectionState;

    fn profile(id: &str, name: &str, url: &str) -> ProfileInfo {
        ProfileInfo {
            id: id.into(),
            name: name.into(),
            kind: ProfileKind::TokenEndpoint,
            url: url.into(),
            room: "lobby".into(),
            endpoint: None,
            api_key: None,
            token_expires_at_ms: None,
            from_environment: false,
        }
    }

    fn mine() -> Vec<ProfileInfo> {
        vec![
            profile("p1", "Work", "wss://rtc.example.com"),
            profile("p2", "Home lab", "ws://10.0.0.5:7880"),
        ]
    }

    fn join_of(v: LinkView) -> (String, String, Option<String>) {
        match v {
            LinkView::Join {
                profile,
                room,
                leaving,
                ..
            } => (profile, room, leaving),
            other => panic!("not a join: {other:?}"),
        }
    }

    #[test]
    fn a_link_picks_a_profile_by_name_id_or_server() {
        let idle = CallView::default();
        let by_name = decide("rtcstack://join?profile=work&room=standup", &mine(), &idle);
        assert_eq!(join_of(by_name), ("p1".into(), "standup".into(), None));
        let by_id = decide("rtcstack://join?profile=p2", &mine(), &idle);
        assert_eq!(
            join_of(by_id),
            ("p2".into(), "lobby".into(), None),
            "the profile's room"
        );
        // The same server written with https and its port.
        let by_server = decide(
            "rtcstack://join?server=https%3A%2F%2Frtc.example.com%3A443&room=r",
            &mine(),
            &idle,
        );
        assert_eq!(join_of(by_server), ("p1".into(), "r".into(), None));
    }

    #[test]
    fn a_call_in_progress_is_asked_about() {
        let call = CallView {
            state: ConnectionState::Connected,
            room: Some("standup".into()),
            ..CallView::default()
        };
        let v = decide("rtcstack://join?profile=Work&room=retro", &mine(), &call);
        assert_eq!(join_of(v).2.as_deref(), Some("standup"));
    }

    #[test]
    fn an_unknown_server_or_profile_joins_nothing() {
        let idle = CallView::default();
        assert_eq!(
            decide(
                "rtcstack://join?server=wss://evil.example&room=x",
                &mine(),
                &idle
            ),
            LinkView::UnknownServer {
                server: "wss://evil.example/".into(),
                room: Some("x".into())
            }
        );
        // Another port is another server.
        assert!(matches!(
            decide("rtcstack://join?server=ws://10.0.0.5:7881", &mine(), &idle),
            LinkView::UnknownServer { .. }
        ));
        assert_eq!(
            decide("rtcstack://join?profile=Nope", &mine(), &idle),
            LinkView::UnknownProfile {
                profile: "Nope".into()
            }
        );
    }

    #[test]
    fn a_malformed_link_says_why() {
        let idle = CallView::default();
        for (link, words) in [
            ("rtcstack://frobnicate?room=x", "does not know “frobnicate”"),
            ("rtcstack://join?room=x", "neither a profile nor a server"),
            (
                "rtcstack://join?server=file:///etc/passwd",
                "not a LiveKit server",
            ),
            ("rtcstack://join?server=%%%", "not a URL"),
            (
                "ftp://example.com/join?profile=Work",
                "not an rtcstack: one",
            ),
            (
                "https://example.com/meet?profile=Work",
                "does not know “meet”",
            ),
            ("not a link at all", "not a link"),
        ] {
            match decide(link, &mine(), &idle) {
                LinkView::Unreadable { why } => {
                    let why = why.to_string();
                    assert!(why.contains(words), "{link}: {why}")
                }
                other => panic!("{link}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_https_form_asks_the_same_and_names_its_own_server() {
        let idle = CallView::default();
        let named = decide(
            "https://meet.example.org/rtc/join?profile=Work&room=standup",
            &mine(),
            &idle,
        );
        assert_eq!(join_of(named), ("p1".into(), "standup".into(), None));
        // Neither profile nor server: its own host, the same server as wss.
        let own = decide("https://rtc.example.com/join/?room=retro", &mine(), &idle);
        assert_eq!(join_of(own), ("p1".into(), "retro".into(), None));
        assert_eq!(
            decide("https://evil.example/join?room=x", &mine(), &idle),
            LinkView::UnknownServer {
                server: "https://evil.example/".into(),
                room: Some("x".into())
            }
        );
        assert!(is_https_link("HTTPS://rtc.example.com/join"));
        assert!(!is_https_link("rtcstack://join?profile=Work"));
        assert!(!is_https_link("--flag"));
    }

    #[test]
    fn a_reason_is_said_in_the_pages_language() {
        let v = decide("rtcstack://frobnicate", &mine(), &CallView::default());
        let LinkView::Unreadable { why } = v else {
            panic!("{v:?}")
        };
        assert_eq!(
            why.say("de"),
            "Dieser Link konnte nicht geöffnet werden: Die App kennt „frobnicate“ nicht (nur join)."
        );
    }
}
