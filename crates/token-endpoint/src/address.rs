//! Which endpoint addresses are acceptable: HTTPS, or plain HTTP to this
//! computer only (a credential sent in the clear across a network is a
//! credential given away).

use std::net::IpAddr;

use url::{Host, Url};

use crate::EndpointError;

/// Parses and checks a token endpoint address.
pub fn check_endpoint_url(raw: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(raw.trim()).map_err(|e| EndpointError::BadUrl(format!("{e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(EndpointError::Insecure),
        other => Err(EndpointError::BadUrl(format!(
            "it starts with {other}://, expected https://"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_this_computer() {
        for ok in [
            "https://tokens.example.com/api/token",
            "http://127.0.0.1:8080/token",
            "http://localhost/token",
            "http://[::1]:9/t",
        ] {
            assert!(check_endpoint_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_endpoint_url("http://tokens.example.com/t"),
            Err(EndpointError::Insecure)
        );
        assert_eq!(
            check_endpoint_url("http://10.0.0.1/t"),
            Err(EndpointError::Insecure)
        );
        assert!(matches!(
            check_endpoint_url("ftp://x/t"),
            Err(EndpointError::BadUrl(_))
        ));
        assert!(matches!(
            check_endpoint_url("not a url"),
            Err(EndpointError::BadUrl(_))
        ));
    }
}
