//! The call report: one file a person can attach to a bug or send to their
//! IT desk. A few lines for people (`summary`), then the call's whole
//! timeline as JSON (`timeline`): state changes, reconnect attempts and
//! how each outage ended, token refreshes (their times only), the OS's
//! hints, device changes, qualities, the media path. The last call's
//! timeline is kept after it ends, so a failed call can still be reported.
//!
//! Nothing secret is put in (tokens are their expiry times), and the file
//! passes through the log's redactor on its way out all the same.

mod summary;
mod timeline;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rtcstack::CallEvent;
use serde::Serialize;

use crate::i18n::Sentence;

pub use timeline::{Entry, Happened, Timeline};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The current or last call's timeline; the call controller and the audio
/// write into it. Each timeline belongs to one join (the controller's
/// generation): a replaced call's late news does not reach the next one's.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Option<(u64, Timeline)>>>);

/// The file, as written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallReport {
    /// For people: which call, how it went, each outage.
    pub summary: Vec<String>,
    pub app: String,
    /// Early entries let go in a very long call.
    pub dropped: usize,
    pub timeline: Vec<Entry>,
}

/// The server as a report names it: host and port, nothing of the path or
/// query (where a token could ride).
fn server_of(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "(no host)".into(),
        },
        Err(_) => "(not a URL)".into(),
    }
}

fn app() -> String {
    format!(
        "RTCstack {} on {} {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Timeline)>> {
        // Each change is one push: nothing half-done to see after a panic.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Join `generation` was asked for: a new timeline (the last call's
    /// goes).
    pub fn start(&self, generation: u64, room: &str, url: &str) {
        *self.lock() = Some((generation, Timeline::new(now_ms(), room, &server_of(url))));
    }

    /// Something the app saw, into the current timeline (none, or one
    /// that has ended: dropped).
    pub fn note(&self, what: Happened) {
        if let Some((_, t)) = self.lock().as_mut() {
            t.push(now_ms(), what);
        }
    }

    /// Something of join `generation` only (dropped if a newer join has
    /// started since).
    pub fn note_for(&self, generation: u64, what: Happened) {
        if let Some((g, t)) = self.lock().as_mut() {
            if *g == generation {
                t.push(now_ms(), what);
            }
        }
    }

    /// A call event of join `generation`.
    pub fn event(&self, generation: u64, event: &CallEvent) {
        if let Some((g, t)) = self.lock().as_mut() {
            if *g == generation {
                t.event(now_ms(), event);
            }
        }
    }

    /// The report of the current or last call; `None` before any join.
    pub fn report(&self) -> Option<CallReport> {
        let guard = self.lock();
        let (_, t) = guard.as_ref()?;
        let app = app();
        Some(CallReport {
            summary: summary::summary(t, &app)
                .lines()
                .map(String::from)
                .collect(),
            app,
            dropped: t.dropped(),
            timeline: t.entries().to_vec(),
        })
    }

    /// Writes the report into `dir` as `rtcstack-call-report-<time>.json`;
    /// the path written, or why not in words for the page.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, Sentence> {
        let report = self.report().ok_or_else(|| Sentence::new("report.none"))?;
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Sentence::new("report.notWritten").with("why", e))?;
        // Nothing secret goes in; the redactor is the last line all the same.
        let text = crate::redact::redact(&text);
        let stamp = summary::utc(now_ms())
            .trim_end_matches(" UTC")
            .replace([' ', ':'], "-");
        std::fs::create_dir_all(dir).map_err(|e| not_saved(dir, e))?;
        // Two saves in one second: the second gets a number, never
        // overwrites the first.
        let path = (1..100)
            .map(|n| match n {
                1 => dir.join(format!("rtcstack-call-report-{stamp}.json")),
                n => dir.join(format!("rtcstack-call-report-{stamp}-{n}.json")),
            })
            .find(|p| !p.exists())
            .ok_or_else(|| Sentence::new("report.tooMany").with("path", dir.display()))?;
        std::fs::write(&path, text + "\n").map_err(|e| not_saved(dir, e))?;
        tracing::info!("call report saved: {}", path.display());
        Ok(path)
    }
}

/// The report could not be saved in `dir`: why, in words.
fn not_saved(dir: &Path, why: impl ToString) -> Sentence {
    Sentence::new("report.notSaved")
        .with("path", dir.display())
        .with("why", why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack::{ConnectionState, DisconnectReason};

    #[test]
    fn servers_are_named_by_host_and_port_only() {
        assert_eq!(
            server_of("wss://lk.example.com/rtc?access_token=eyJx"),
            "lk.example.com:443"
        );
        assert_eq!(server_of("ws://127.0.0.1:7880"), "127.0.0.1:7880");
        assert_eq!(server_of("not a url"), "(not a URL)");
    }

    #[test]
    fn a_report_is_saved_after_the_call_ended_and_nothing_after_the_end_is_added() {
        let journal = Journal::default();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(journal.save(dir.path()).unwrap_err().key, "report.none");
        journal.start(1, "diag", "ws://127.0.0.1:7880");
        journal.event(
            1,
            &CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connected,
            },
        );
        // A replaced call's late news is not this call's.
        journal.note_for(
            0,
            Happened::Device {
                notice: "old".into(),
            },
        );
        journal.note(Happened::Hint {
            hint: "networkChanged".into(),
        });
        journal.note(Happened::Video {
            source: "camera".into(),
            on: true,
        });
        journal.event(
            1,
            &CallEvent::Disconnected {
                reason: DisconnectReason::NetworkError,
            },
        );
        journal.note(Happened::Device {
            notice: "late".into(),
        });
        let path = journal.save(dir.path()).unwrap();
        let again = journal.save(dir.path()).unwrap();
        assert_ne!(path, again, "a second save overwrote the first");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let kinds: Vec<&str> = saved["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["joinStarted", "state", "hint", "video", "ended"]);
        assert_eq!(
            (&saved["timeline"][3]["source"], &saved["timeline"][3]["on"]),
            (&"camera".into(), &true.into())
        );
        assert_eq!(saved["timeline"][4]["reason"], "networkError");
        assert!(saved["timeline"][0]["atMs"].as_u64().unwrap() > 1_700_000_000_000);
        let summary = saved["summary"].as_array().unwrap();
        assert!(summary[0]
            .as_str()
            .unwrap()
            .starts_with("RTCstack call report"));
        assert!(
            summary
                .iter()
                .any(|l| l.as_str().unwrap().contains("Could not reconnect")),
            "{summary:?}"
        );
    }

    #[test]
    fn a_secret_that_reaches_the_report_is_blanked() {
        let journal = Journal::default();
        journal.start(1, "r", "ws://h:1");
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        journal.note(Happened::TokenRefreshFailed {
            reason: format!("the service said {jwt}"),
        });
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(journal.save(dir.path()).unwrap()).unwrap();
        assert!(!text.contains("eyJ"), "{text}");
    }
}
