//! From the updater's errors to one sentence a person can act on, and a
//! kind the UI and the tests can tell apart. Every message ends by saying
//! the app stays on its version.

use tauri_plugin_updater::Error;

use rtcstack_desktop_core::update::provenance::ProvenanceError;
use rtcstack_desktop_core::update::ProblemKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

/// Where the updater was when it failed, with what it knows there.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Check,
    Download { received: u64, total: Option<u64> },
    Install,
}

/// Explains an updater error. `offered` is the version on offer, if the
/// check got that far.
pub fn explain(err: &Error, stage: Stage, current: &str, offered: Option<&str>) -> Problem {
    let update = match offered {
        Some(v) => format!("Update {v}"),
        None => "The update".to_string(),
    };
    let stay = format!("Staying on {current}.");
    let (kind, what) = match (err, stage) {
        (Error::Minisign(e), _) => (
            ProblemKind::BadSignature,
            format!("{update} was refused: its signature does not match this app's release key ({e})."),
        ),
        (Error::Base64(_) | Error::SignatureUtf8(_), _) => (
            ProblemKind::BadSignature,
            format!("{update} was refused: its signature is unreadable."),
        ),
        (Error::SignedVersionMismatch { signed, announced }, _) => (
            ProblemKind::BadSignature,
            format!(
                "{update} was refused: the package was signed as version {signed} but offered as {announced}."
            ),
        ),
        (Error::MissingSignedVersion, _) => (
            ProblemKind::BadSignature,
            format!("{update} was refused: its signature does not say which version it is for."),
        ),
        (Error::InvalidUpdaterFormat | Error::BinaryNotFoundInArchive, _) => (
            ProblemKind::WrongApp,
            format!("{update} was refused: the download is not an installer for this app."),
        ),
        (_, Stage::Download { received, total: Some(total) }) if received < total => (
            ProblemKind::Incomplete,
            format!(
                "{update} was refused: the download stopped after {received} of {total} bytes ({err})."
            ),
        ),
        (Error::TargetNotFound(t), _) => (
            ProblemKind::NoBuildForThisSystem,
            format!("{update} has no build for this system ({t})."),
        ),
        (Error::TargetsNotFound(ts), _) => (
            ProblemKind::NoBuildForThisSystem,
            format!("{update} has no build for this system (looked for {}).", ts.join(", ")),
        ),
        (Error::ReleaseNotFound | Error::Serialization(_) | Error::Semver(_), _) => (
            ProblemKind::BadManifest,
            format!("The update server's answer is not a release manifest ({err})."),
        ),
        (Error::EmptyEndpoints | Error::InsecureTransportProtocol | Error::UrlParse(_), _) => (
            ProblemKind::Config,
            format!("Updates are not set up correctly in this build ({err})."),
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
            format!("{update} was downloaded and verified but could not be installed ({err})."),
        ),
        (_, Stage::Download { .. }) => (
            ProblemKind::Network,
            format!("{update} could not be downloaded ({err})."),
        ),
        (_, Stage::Check) => (
            ProblemKind::Network,
            format!("Could not check for updates ({err})."),
        ),
    };
    Problem {
        kind,
        message: format!("{what} {stay}"),
    }
}

/// Explains a package refused by [`super::provenance::check`].
pub fn explain_provenance(
    err: &ProvenanceError,
    product: &str,
    current: &str,
    offered: &str,
) -> Problem {
    let stay = format!("Staying on {current}.");
    match err {
        ProvenanceError::OtherApp { file } => Problem {
            kind: ProblemKind::WrongApp,
            message: format!(
                "Update {offered} was refused: the manifest points to {file}, which is not a {product} package. {stay}"
            ),
        },
        ProvenanceError::NoFileName => Problem {
            kind: ProblemKind::WrongApp,
            message: format!(
                "Update {offered} was refused: its signature does not name a {product} package. {stay}"
            ),
        },
        ProvenanceError::Unreadable(why) => Problem {
            kind: ProblemKind::BadSignature,
            message: format!(
                "Update {offered} was refused: its signature is unreadable ({why}). {stay}"
            ),
        },
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
            p.message,
            "Update 0.2.0 was refused: the package was signed as version 0.1.5 but offered as 0.2.0. Staying on 0.1.0."
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
        assert!(
            p.message.contains("after 500 of 1000 bytes"),
            "{}",
            p.message
        );
        assert!(p.message.ends_with("Staying on 0.1.0."));
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
        assert!(p.message.contains("linux-x86_64-deb, linux-x86_64"));
        let p = explain(&Error::ReleaseNotFound, Stage::Check, "0.1.0", None);
        assert_eq!(p.kind, ProblemKind::BadManifest);
        let p = explain(
            &Error::Network("Download request failed with status: 404".into()),
            Stage::Check,
            "0.1.0",
            None,
        );
        assert_eq!(p.kind, ProblemKind::Network);
        assert!(p.message.starts_with("Could not check for updates"));
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
            p.message,
            "Update 0.2.0 was refused: the manifest points to other-app_9.9.9_amd64.deb, which is not a RTCstack package. Staying on 0.1.0."
        );
    }
}
