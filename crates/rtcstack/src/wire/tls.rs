//! TLS for `wss://`: the server's certificate verified by the operating
//! system's trust store (rustls-platform-verifier: the Keychain on macOS,
//! the Windows certificate store, the system bundle on Linux, where
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` name another as OpenSSL's tools do),
//! read at each connection so a root installed mid-session counts. A
//! certificate that does not verify is said as such, never as a network
//! failure to retry.

use std::sync::Arc;

use livekit_net::TransportError;
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig};
use rustls_platform_verifier::BuilderVerifierExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How an untrusted certificate's failure begins, through livekit-net's
/// string-only errors, for [`untrusted`] to find.
const UNTRUSTED: &str = "the server's certificate is not trusted: ";

/// Why the certificate was not trusted, if that is what `message` (as our
/// websocket said it) says.
pub(crate) fn untrusted(message: &str) -> Option<&str> {
    message.strip_prefix(UNTRUSTED)
}

fn config() -> Result<Arc<ClientConfig>, TransportError> {
    let setup = |e: rustls::Error| {
        TransportError::Connection(format!("TLS could not be set up on this system: {e}"))
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(setup)?
            .with_platform_verifier()
            .map_err(setup)?
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// TLS over `tcp` to `host` (a name, or an address in brackets or not).
pub(super) async fn handshake(
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, TransportError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|e| TransportError::Connection(format!("{host} is not a server name: {e}")))?;
    TlsConnector::from(config()?)
        .connect(name, tcp)
        .await
        .map_err(|e| TransportError::Connection(failure(&e)))
}

/// A failed handshake in words: the certificate's fault named as such.
fn failure(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(why)) => format!("{UNTRUSTED}{}", reason(why)),
        Some(other) => format!("the TLS handshake failed: {other}"),
        None => format!("the TLS handshake failed: {e}"),
    }
}

fn reason(why: &CertificateError) -> String {
    use CertificateError as C;
    match why {
        C::UnknownIssuer => "it was issued by an authority this computer does not trust".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it was not issued for this server's name".into()
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
        C::Revoked => "it has been revoked".into(),
        C::BadSignature => "its signature is not valid".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_certificate_is_found_in_the_words_that_carry_it() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            untrusted(&failure(&e)),
            Some("it was issued by an authority this computer does not trust")
        );
        // Only our own words count, not the same words inside another's.
        assert_eq!(untrusted(&format!("proxy said: {}", failure(&e))), None);
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(untrusted(&failure(&other)), None);
    }
}
