//! What the UI is told about updates: plain serde types, camelCase, one
//! `state` tag. The UI shows them as they are; it decides nothing.

use serde::Serialize;
use ts_rs::TS;

/// The updater's status and which change it is. Sent as the
/// `update-status` event (`crate::ipc::event::UPDATE_STATUS`) on every
/// change and as the `update_status` reply: the two come by different
/// ways and may arrive out of order, so the page keeps the highest `seq`
/// (a reply read during the signature check, arriving after the refusal's
/// event, left "Downloading 100 %" on screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UpdateView {
    #[ts(type = "number")]
    pub seq: u64,
    pub status: UpdateStatus,
}

impl UpdateView {
    pub fn new(status: UpdateStatus) -> Self {
        UpdateView { seq: 0, status }
    }

    /// The next change: `status`, numbered after this one.
    pub fn change(&mut self, status: UpdateStatus) -> &Self {
        self.seq += 1;
        self.status = status;
        self
    }
}

/// What the updater is doing, as an [`UpdateView`] tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UpdateStatus {
    /// No check has run yet.
    Idle {
        current: String,
    },
    /// This copy cannot update itself (e.g. a build run from a checkout,
    /// not an installed bundle); `reason` says so.
    Unavailable {
        current: String,
        reason: String,
    },
    Checking {
        current: String,
    },
    UpToDate {
        current: String,
    },
    /// Found during a call: nothing is downloaded until the call ends.
    WaitingForCall {
        current: String,
        version: String,
        notes: String,
    },
    Downloading {
        current: String,
        version: String,
        notes: String,
        #[ts(type = "number")]
        received: u64,
        /// From the server's Content-Length, when it sent one.
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    /// Downloaded and its signature checked; installed on restart.
    /// `action` is the label of the button that does it on this OS.
    Ready {
        current: String,
        version: String,
        notes: String,
        action: crate::i18n::Sentence,
    },
    Installing {
        current: String,
        version: String,
    },
    /// The update was refused or could not be had; the app stays on
    /// `current` and `message` says why in words a person can act on.
    Failed {
        current: String,
        version: Option<String>,
        problem: ProblemKind,
        message: crate::i18n::Sentence,
    },
}

/// Why an update was refused or failed, for the UI and the tests to tell
/// the cases apart without parsing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ProblemKind {
    /// The signature does not match the app's public key, or was signed
    /// for another version than the one offered.
    BadSignature,
    /// The download ended before all of it arrived.
    Incomplete,
    /// The manifest points at a package of another app.
    WrongApp,
    /// The manifest has no build for this system.
    NoBuildForThisSystem,
    /// The update server answered something that is not a release manifest.
    BadManifest,
    /// The update server could not be reached or refused the request.
    Network,
    /// The update was verified but the system could not install it.
    InstallFailed,
    /// The app's own updater configuration is unusable.
    Config,
}

impl UpdateStatus {
    /// The version offered, in the states that have one.
    pub fn offered_version(&self) -> Option<&str> {
        match self {
            Self::WaitingForCall { version, .. }
            | Self::Downloading { version, .. }
            | Self::Ready { version, .. }
            | Self::Installing { version, .. } => Some(version),
            Self::Failed { version, .. } => version.as_deref(),
            Self::Idle { .. }
            | Self::Unavailable { .. }
            | Self::Checking { .. }
            | Self::UpToDate { .. } => None,
        }
    }

    /// True while an update is being fetched or applied: no new check then.
    pub fn busy(&self) -> bool {
        matches!(
            self,
            Self::Checking { .. }
                | Self::WaitingForCall { .. }
                | Self::Downloading { .. }
                | Self::Ready { .. }
                | Self::Installing { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_the_names_the_ui_reads() {
        let s = UpdateStatus::Downloading {
            current: "0.1.0".into(),
            version: "0.2.0".into(),
            notes: "n".into(),
            received: 10,
            total: Some(20),
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"state": "downloading", "current": "0.1.0", "version": "0.2.0",
                               "notes": "n", "received": 10, "total": 20})
        );
        let f = UpdateStatus::Failed {
            current: "0.1.0".into(),
            version: None,
            problem: ProblemKind::NoBuildForThisSystem,
            message: crate::i18n::Sentence::plain("m"),
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"state": "failed", "current": "0.1.0", "version": null,
                               "problem": "noBuildForThisSystem",
                               "message": {"key": "plain", "params": {"text": "m"}}})
        );
        assert_eq!(
            serde_json::to_value(UpdateStatus::WaitingForCall {
                current: "0.1.0".into(),
                version: "0.2.0".into(),
                notes: String::new()
            })
            .unwrap()["state"],
            "waitingForCall"
        );
    }

    #[test]
    fn each_change_is_numbered_after_the_last() {
        let idle = UpdateStatus::Idle {
            current: "0.1.0".into(),
        };
        let checking = UpdateStatus::Checking {
            current: "0.1.0".into(),
        };
        let mut view = UpdateView::new(idle);
        assert_eq!(view.seq, 0);
        assert_eq!(view.change(checking.clone()).seq, 1);
        assert_eq!(
            serde_json::to_value(view.change(checking)).unwrap(),
            serde_json::json!({"seq": 2, "status": {"state": "checking", "current": "0.1.0"}})
        );
    }
}
