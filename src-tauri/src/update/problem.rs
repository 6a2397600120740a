//! From the updater's errors to one sentence a person can act on, and a
//! kind the UI and the tests can tell apart. Every message ends by saying
//! the app stays on its version.

use tauri_plugin_updater::Error;

use rtcstack_desktop_core::i18n::Sentence;
use rtcstack_desktop_core::update::provenance::ProvenanceError;
use rtcstack_desktop_core::update::ProblemKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: Sentence,
}

/// Where the updater was when it failed, with what it knows there.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Check,
    Download { received: u64, total: Option<u64> },
    Install,
}

/// Explains an updater error. `offered` is the version on offer, if the
/// check got that far. The updater's own words stay as they are.
pub fn explain(err: &Error, stage: Stage, current: &str, offered: Option<&str>) -> Problem {
    let refused = |why: Sentence| {
        (
            ProblemKind::BadSignature,
            Sentence::new("updateProblem.refused").with_sentence("why", why),
        )
    };
    let (kind, what) = match (err, stage) {
        (Error::Minisign(e), _) => {
            refused(Sentence::new("updateProblem.signatureMismatch").with("why", e))
        }
        (Error::Base64(_) | Error::SignatureUtf8(_), _) => {
            refused(Sentence::new("updateProblem.signatureUnreadable"))
        }
        (Error::SignedVersionMismatch { signed, announced }, _) => refused(
            Sentence::new("updateProblem.versionMismatch")
                .with("signed", signed)
                .with("announced", announced),
        ),
        (Error::MissingSignedVersion, _) => refused(Sentence::new("updateProblem.noSignedVersion")),
        (Error::InvalidUpdaterFormat | Error::BinaryNotFoundInArchive, _) => (
            ProblemKind::WrongApp,
            Sentence::new("updateProblem.refused")
                .with_sentence("why", Sentence::new("updateProblem.notAnInstaller")),
        ),
        (
            _,
            Stage::Download {
                received,
                total: Some(total),
            },
        ) if received < total => (
            ProblemKind::Incomplete,
            Sentence::new("updateProblem.refused").with_sentence(
                "why",
                Sentence::new("updateProblem.stopped")
                    .with("received", received)
                    .with("total", total)
                    .with("why", err),
            ),
        ),
        (Error::TargetNotFound(t), _) => (
            ProblemKind::NoBuildForThisSystem,
            Sentence::new("updateProblem.noBuild").with("targets", t),
        ),
        (Error::TargetsNotFound(ts), _) => (
            ProblemKind::NoBuildForThisSystem,
            Sentence::new("updateProblem.noBuildLookedFor").with("targets", ts.join(", ")),
        ),
        (Error::ReleaseNotFound | Error::Serialization(_) | Error::Semver(_), _) => (
            ProblemKind::BadManifest,
            Sentence::new("updateProblem.notAManifest").with("why", err),
        ),
        (Error::EmptyEndpoints | Error::InsecureTransportProtocol | Error::UrlParse(_), _) => (
            ProblemKind::Config,
            Sentence::new("updateProblem.notSetUp").with("why", err),
        ),
        (
            Error::AuthenticationFailed
            | Error::DebInstallFailed
            | Error::PackageInstallFailed
            | Error::TempDirNotFound
            | Error::TempDirNotOnSameMountPoint
            | Error::PreviousAppNotRestored(_),
            _,
        )
        | (_, Stage::Install) => (
            ProblemKind::InstallFailed,
            Sentence::new("updateProblem.notInstalled").with("why", err),
        ),
        (_, Stage::Download { .. }) => (
            ProblemKind::Network,
            Sentence::new("updateProblem.notDownloaded").with("why", err),
        ),
        (_, Stage::Check) => (
            ProblemKind::Network,
            Sentence::new("updateProblem.notChecked").with("why", err),
        ),
    };
    Problem {
        kind,
        message: staying(what, current, offered),
    }
}

/// `what` happened to the update (`offered`, if known), and the app stays
/// on `current`.
pub fn staying(what: Sentence, current: &str, offered: Option<&str>) -> Sentence {
    let update = match offered {
        Some(v) => Sentence::new("updateProblem.update").with("version", v),
        None => Sentence::new("updateProblem.theUpdate"),
    };
    Sentence::new("updateProblem.staying")
        .with_sentence("what", what.with_sentence("update", update))
        .with("current", current)
}

/// Explains a package refused by [`super::provenance::check`].
pub fn explain_provenance(
    err: &ProvenanceError,
    product: &str,
    current: &str,
    offered: &str,
) -> Problem {
    let (kind, why) = match err {
        ProvenanceError::OtherApp { file } => (
            ProblemKind::WrongApp,
            Sentence::new("updateProblem.otherApp")
                .with("file", file)
                .with("product", product),
        ),
        ProvenanceError::NoFileName => (
            ProblemKind::WrongApp,
            Sentence::new("updateProblem.namesNoPackage").with("product", product),
        ),
        ProvenanceError::Unreadable(why) => (
            ProblemKind::BadSignature,
            Sentence::new("updateProblem.signatureUnreadableWhy").with("why", why),
        ),
    };
    Problem {
        kind,
        message: staying(
            Sentence::new("updateProblem.refused").with_sentence("why", why),
            current,
            Some(offered),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_swap_is_a_bad_signature() {
        let p = explain(
            &Error::SignedVersionMismatch {
                signed: "0.1.5".into(),
                announced: "0.2.0".into(),
            },
            Stage::Download {
                received: 10,
                total: Some(10),
            },
            "0.1.0",
            Some("0.2.0"),
        );
        assert_eq!(p.kind, ProblemKind::BadSignature);
        assert_eq!(
            p.message.to_string(),
            "Update 0.2.0 was refused: the package was signed as version 0.1.5 but offered as 0.2.0. Staying on 0.1.0."
        );
        assert_eq!(
            p.message.say("de"),
            "Update 0.2.0 wurde abgelehnt: Das Paket wurde als Version 0.1.5 signiert, aber als 0.2.0 angeboten. Es bleibt bei 0.1.0."
        );
    }

    #[test]
    fn a_short_download_is_incomplete() {
        let err = Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
        let p = explain(
            &err,
            Stage::Download {
                received: 500,
                total: Some(1000),
            },
            "0.1.0",
            Some("0.2.0"),
        );
        assert_eq!(p.kind, ProblemKind::Incomplete);
        let message = p.message.to_string();
        assert!(message.contains("after 500 of 1000 bytes"), "{message}");
        assert!(message.ends_with("Staying on 0.1.0."), "{message}");
        // The whole length arrived: the same error is a network failure.
        let p = explain(
            &err,
            Stage::Download {
                received: 1000,
                total: Some(1000),
            },
            "0.1.0",
            Some("0.2.0"),
        );
        assert_eq!(p.kind, ProblemKind::Network);
    }

    #[test]
    fn check_failures() {
        let p = explain(
            &Error::TargetsNotFound(vec!["linux-x86_64-deb".into(), "linux-x86_64".into()]),
            Stage::Check,
            "0.1.0",
            None,
        );
        assert_eq!(p.kind, ProblemKind::NoBuildForThisSystem);
        assert!(p
            .message
            .to_string()
            .contains("linux-x86_64-deb, linux-x86_64"));
        let p = explain(&Error::ReleaseNotFound, Stage::Check, "0.1.0", None);
        assert_eq!(p.kind, ProblemKind::BadManifest);
        let p = explain(
            &Error::Network("Download request failed with status: 404".into()),
            Stage::Check,
            "0.1.0",
            None,
        );
        assert_eq!(p.kind, ProblemKind::Network);
        assert!(p
            .message
            .to_string()
            .starts_with("Could not check for updates"));
    }

    #[test]
    fn install_failures() {
        let p = explain(
            &Error::DebInstallFailed,
            Stage::Install,
            "0.1.0",
            Some("0.2.0"),
        );
        assert_eq!(p.kind, ProblemKind::InstallFailed);
        let p = explain(
            &Error::InvalidUpdaterFormat,
            Stage::Install,
            "0.1.0",
            Some("0.2.0"),
        );
        assert_eq!(p.kind, ProblemKind::WrongApp);
    }

    #[test]
    fn another_apps_package() {
        let p = explain_provenance(
            &ProvenanceError::OtherApp {
                file: "other-app_9.9.9_amd64.deb".into(),
            },
            "RTCstack",
            "0.1.0",
            "0.2.0",
        );
        assert_eq!(p.kind, ProblemKind::WrongApp);
        assert_eq!(
            p.message.to_string(),
            "Update 0.2.0 was refused: the manifest points to other-app_9.9.9_amd64.deb, which is not a RTCstack package. Staying on 0.1.0."
        );
    }
}
