//! Is the offered package ours? The manifest is not signed, but each
//! package's minisign signature carries a trusted comment written at build
//! time (`timestamp:…\tfile:RTCstack_0.2.0_amd64.deb\tversion:0.2.0`) that
//! the signature itself covers. A manifest that pairs our version number with
//! another app's package, signed with the same key, names that app's file.
//!
//! This runs before the download, on a comment not yet verified: a forged
//! comment cannot pass the signature check that the download then does, so
//! it can refuse early but never accept wrongly.

use base64::Engine as _;

/// What a signature says it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    pub file: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvenanceError {
    /// Not a Tauri/minisign signature at all.
    Unreadable(String),
    /// The signature names a file that is not one of `product`'s packages.
    OtherApp { file: String },
    /// The signature names no file, which our build never produces.
    NoFileName,
}

/// Reads the trusted comment of a signature as found in an update manifest
/// (base64 of the `.sig` file).
pub fn signed_file(signature_base64: &str) -> Result<SignedFile, ProvenanceError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature_base64.trim())
        .map_err(|e| ProvenanceError::Unreadable(format!("not base64 ({e})")))?;
    let text = String::from_utf8(raw)
        .map_err(|_| ProvenanceError::Unreadable("not a minisign signature (not text)".into()))?;
    let comment = text
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))
        .ok_or_else(|| ProvenanceError::Unreadable("no trusted comment".into()))?;
    let field = |key: &str| {
        comment
            .split('\t')
            .find_map(|f| f.strip_prefix(key))
            .map(str::to_string)
    };
    Ok(SignedFile {
        file: field("file:"),
        version: field("version:"),
    })
}

/// Accepts a signature only if the file it names is one of `product`'s
/// bundles: `RTCstack_0.2.0_amd64.deb`, `RTCstack_0.2.0_x64-setup.exe`,
/// `RTCstack.app.tar.gz`, … (the bundler names every artifact after the
/// product name followed by `_` or `.`).
pub fn check(signature_base64: &str, product: &str) -> Result<SignedFile, ProvenanceError> {
    let signed = signed_file(signature_base64)?;
    let file = signed.file.as_deref().ok_or(ProvenanceError::NoFileName)?;
    let ours = file
        .strip_prefix(product)
        .is_some_and(|rest| rest.starts_with('_') || rest.starts_with('.'));
    if ours {
        Ok(signed)
    } else {
        Err(ProvenanceError::OtherApp {
            file: file.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(comment: &str) -> String {
        let text = format!(
            "untrusted comment: signature from tauri secret key\nRUTX5qZ=\ntrusted comment: {comment}\nDDq2CL==\n"
        );
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn reads_file_and_version() {
        let s = signed_file(&sig(
            "timestamp:1791649051\tfile:RTCstack_0.2.0_amd64.deb\tversion:0.2.0",
        ))
        .unwrap();
        assert_eq!(s.file.as_deref(), Some("RTCstack_0.2.0_amd64.deb"));
        assert_eq!(s.version.as_deref(), Some("0.2.0"));
    }

    #[test]
    fn accepts_every_bundle_of_ours() {
        for file in [
            "RTCstack_0.2.0_amd64.deb",
            "RTCstack_0.2.0_amd64.AppImage",
            "RTCstack_0.2.0_x64-setup.exe",
            "RTCstack_0.2.0_x64_en-US.msi",
            "RTCstack.app.tar.gz",
        ] {
            let s = sig(&format!("timestamp:1\tfile:{file}\tversion:0.2.0"));
            assert!(check(&s, "RTCstack").is_ok(), "{file}");
        }
    }

    #[test]
    fn refuses_another_apps_package() {
        for file in [
            "other-app_0.2.0_amd64.deb",
            "RTCstackEvil_0.2.0_amd64.deb",
            "rtcstack_0.2.0_amd64.deb",
            "Other.app.tar.gz",
        ] {
            let s = sig(&format!("timestamp:1\tfile:{file}\tversion:0.2.0"));
            assert_eq!(
                check(&s, "RTCstack"),
                Err(ProvenanceError::OtherApp { file: file.into() })
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_signature() {
        assert!(matches!(
            check("%%%", "RTCstack"),
            Err(ProvenanceError::Unreadable(_))
        ));
        let no_comment = base64::engine::general_purpose::STANDARD.encode("hello\nworld\n");
        assert!(matches!(
            check(&no_comment, "RTCstack"),
            Err(ProvenanceError::Unreadable(_))
        ));
        let binary = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0x00]);
        assert!(matches!(
            check(&binary, "RTCstack"),
            Err(ProvenanceError::Unreadable(_))
        ));
        assert_eq!(
            check(&sig("timestamp:1\tversion:0.2.0"), "RTCstack"),
            Err(ProvenanceError::NoFileName)
        );
    }
}
