//! A self-hosted LiveKit behind its owner's own PKI: haproxy in the
//! server's namespace terminating TLS (`wss://`) with a certificate from a
//! private certificate authority made for the test with `openssl`, and the
//! websocket passed on to livekit-server. A client trusts that authority
//! only when its trust store holds the authority's certificate
//! ([`TlsFront::ca_file`], e.g. as `SSL_CERT_FILE`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::daemon::Daemon;
use crate::server::LiveKitServer;

/// Where the TLS front listens, beside the server.
const TLS_PORT: u16 = 7443;

pub struct TlsFront {
    // Dropped before `dir`, whose log it prints on a failure.
    _proxy: Daemon,
    url: String,
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .context("running openssl (scripts/setup installs it)")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A private authority (`ca.pem`) and a server certificate it signed for
/// `ip` (`server.pem`: certificate, then key, as haproxy reads it).
pub(crate) fn private_pki(dir: &Path, ip: &str) -> Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=RTCstack test authority",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=livekit.test",
        ],
    )?;
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n\
             basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
        ),
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    )?;
    let mut pem = std::fs::read(dir.join("server.crt"))?;
    pem.extend(std::fs::read(dir.join("server.key"))?);
    std::fs::write(dir.join("server.pem"), pem)?;
    Ok(())
}

impl TlsFront {
    /// TLS in front of `server` (which must have its own namespace).
    pub async fn start(server: &LiveKitServer) -> Result<TlsFront> {
        let net = server.link()?;
        let dir = tempfile::Builder::new().prefix("rtcstack-tls-").tempdir()?;
        let ip = server.ip().to_string();
        private_pki(dir.path(), &ip)?;
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1h\n  \
                 timeout server 1h\n\
                 frontend wss\n  bind {ip}:{TLS_PORT} ssl crt {pem}\n  default_backend server\n\
                 backend server\n  server livekit {ip}:{http}\n",
                pem = dir.path().join("server.pem").display(),
                http = server.http_port()
            ),
        )?;
        let mut proxy = Daemon::spawn(
            net.command("haproxy").arg("-db").arg("-f").arg(&config),
            dir.path().join("haproxy.log"),
            "haproxy (TLS front)",
        )?;
        // Listening: a TCP connect succeeds (the handshake is the client's).
        proxy
            .wait_listening(
                SocketAddr::new(server.ip(), TLS_PORT),
                Duration::from_secs(10),
            )
            .await?;
        Ok(TlsFront {
            _proxy: proxy,
            url: format!("wss://{ip}:{TLS_PORT}"),
            dir,
        })
    }

    /// `wss://address:7443`: the address is in the certificate.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The private authority's certificate, PEM.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}
