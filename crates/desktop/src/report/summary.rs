//! The report's few lines for a person (an IT desk reads these first):
//! which call, how long, how it ended, each outage with how it came back.

use std::fmt::Write;

use rtcstack::events::AttemptKind;
use rtcstack::ConnectionState;

use super::timeline::{Happened, Timeline};
use crate::call::end_message;

/// `at_ms` (Unix milliseconds) as `2026-12-02 14:30:05 UTC`.
pub(crate) fn utc(at_ms: u64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{at_ms} ms after 1970"))
}

/// A duration in words a person reads: `850 ms`, `37.8 s`, `2 min 05 s`.
fn span(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms / 1000 % 60),
    }
}

/// One outage: when it began and ended (ms after the join was asked for),
/// how many attempts, and how it came back (`None`: it did not).
#[derive(Debug, PartialEq)]
pub(crate) struct Outage {
    pub from_ms: u64,
    pub to_ms: u64,
    pub attempts: u32,
    pub back: Option<AttemptKind>,
}

pub(crate) fn outages(t: &Timeline) -> Vec<Outage> {
    let start = t.entries().first().map_or(0, |e| e.at_ms);
    let mut found = Vec::new();
    let mut open: Option<Outage> = None;
    for e in t.entries() {
        let at = e.at_ms.saturating_sub(start);
        match (&e.what, open.as_mut()) {
            (
                Happened::State {
                    state: ConnectionState::Reconnecting,
                },
                None,
            ) => {
                open = Some(Outage {
                    from_ms: at,
                    to_ms: at,
                    attempts: 0,
                    back: None,
                });
            }
            (Happened::Attempt { attempt }, Some(o)) => o.attempts = o.attempts.max(*attempt),
            (Happened::Reconnected { how }, Some(o)) => {
                o.back = Some(*how);
                o.to_ms = at;
                found.extend(open.take());
            }
            (Happened::Ended { .. }, Some(o)) => {
                o.to_ms = at;
                found.extend(open.take());
            }
            _ => {}
        }
    }
    if let (Some(mut o), Some(last)) = (open, t.entries().last()) {
        o.to_ms = last.at_ms.saturating_sub(start);
        found.push(o);
    }
    found
}

/// The summary: `app` names the app's version and system.
pub fn summary(t: &Timeline, app: &str) -> String {
    let mut s = String::from("RTCstack call report\n");
    let _ = writeln!(s, "App: {app}");
    let Some(first) = t.entries().first() else {
        return s;
    };
    if let Happened::JoinStarted { room, server } = &first.what {
        let _ = writeln!(s, "Room \"{room}\" on {server}");
    }
    let last = t.entries().last().map_or(first.at_ms, |e| e.at_ms);
    let _ = write!(
        s,
        "Join asked for at {}; {} of record",
        utc(first.at_ms),
        // Wall-clock times: a clock set back must not underflow.
        span(last.saturating_sub(first.at_ms))
    );
    let ended = t.entries().iter().find_map(|e| match &e.what {
        // The report is read by whoever helps: in English.
        Happened::Ended { reason } => Some(end_message(*reason).say("en")),
        Happened::JoinFailed { reason } => Some(format!("The join failed: {reason}")),
        _ => None,
    });
    let _ = writeln!(
        s,
        "; {}",
        ended.unwrap_or_else(|| "still going when this was saved.".into())
    );
    let outages = outages(t);
    let _ = writeln!(s, "Outages: {}", outages.len());
    for (i, o) in outages.iter().enumerate() {
        let how = match o.back {
            Some(AttemptKind::Resume) => "back by resuming the same session",
            Some(AttemptKind::Rejoin) => "back by joining again",
            None => "not back",
        };
        let _ = writeln!(
            s,
            "  {}. lost at +{}, {how} at +{} ({}, {} attempt{})",
            i + 1,
            span(o.from_ms),
            span(o.to_ms),
            span(o.to_ms.saturating_sub(o.from_ms)),
            o.attempts,
            if o.attempts == 1 { "" } else { "s" }
        );
    }
    let count = |f: fn(&Happened) -> bool| t.entries().iter().filter(|e| f(&e.what)).count();
    let _ = writeln!(
        s,
        "Tokens refreshed: {}, failed refreshes: {}; device changes: {}; OS hints: {}",
        count(|w| matches!(w, Happened::TokenRefreshed { .. })),
        count(|w| matches!(w, Happened::TokenRefreshFailed { .. })),
        count(|w| matches!(w, Happened::Device { .. })),
        count(|w| matches!(w, Happened::Hint { .. })),
    );
    if t.dropped() > 0 {
        let _ = writeln!(s, "({} early entries were let go)", t.dropped());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack::{CallEvent, DisconnectReason};

    /// A call with a 38 s outage brought back by a rejoin on attempt 4,
    /// then left.
    fn cut_call() -> Timeline {
        let t0 = 1_796_220_000_000;
        let mut t = Timeline::new(t0, "diag", "127.0.0.1:7880");
        let ev = |t: &mut Timeline, s: u64, e: CallEvent| t.event(t0 + s, &e);
        ev(
            &mut t,
            1_000,
            CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connected,
            },
        );
        ev(
            &mut t,
            10_200,
            CallEvent::ConnectionStateChanged {
                state: ConnectionState::Reconnecting,
            },
        );
        for (i, at) in [10_200, 12_000, 17_000, 40_000].iter().enumerate() {
            ev(
                &mut t,
                *at,
                CallEvent::Reconnecting {
                    attempt: i as u32 + 1,
                },
            );
        }
        ev(
            &mut t,
            48_000,
            CallEvent::Reconnected {
                kind: AttemptKind::Rejoin,
            },
        );
        ev(
            &mut t,
            48_000,
            CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connected,
            },
        );
        ev(
            &mut t,
            60_000,
            CallEvent::Disconnected {
                reason: DisconnectReason::ClientInitiated,
            },
        );
        t
    }

    #[test]
    fn an_outage_is_told_from_loss_to_return() {
        let t = cut_call();
        assert_eq!(
            outages(&t),
            vec![Outage {
                from_ms: 10_200,
                to_ms: 48_000,
                attempts: 4,
                back: Some(AttemptKind::Rejoin)
            }]
        );
        let s = summary(&t, "0.1.0, linux x86_64");
        assert!(s.contains("Room \"diag\" on 127.0.0.1:7880"), "{s}");
        assert!(s.contains("at 2026-12-02 "), "{s}");
        assert!(
            s.contains("1 min 00 s of record; You left the call."),
            "{s}"
        );
        assert!(
            s.contains("1. lost at +10.2 s, back by joining again at +48.0 s (37.8 s, 4 attempts)"),
            "{s}"
        );
    }

    #[test]
    fn an_outage_still_open_or_ended_by_failure_is_not_back() {
        let mut t = cut_call();
        t = {
            let mut open = Timeline::new(0, "r", "h:1");
            for e in t.entries().iter().skip(1).take(6) {
                open.push(e.at_ms - 1_796_220_000_000, e.what.clone());
            }
            open
        };
        let o = outages(&t);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].back, None);
        assert_eq!(o[0].attempts, 4);
        assert!(summary(&t, "x").contains("still going"));
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(span(850), "850 ms");
        assert_eq!(span(37_800), "37.8 s");
        assert_eq!(span(125_000), "2 min 05 s");
    }
}
