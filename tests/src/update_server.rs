//! A loopback HTTP server that plays the release host for the update test:
//! it answers the app's manifest requests (`…/latest.json`) and serves the
//! packages under `/files/`. It can also misbehave on purpose: cut a
//! download short (the full Content-Length is announced, then the
//! connection closes) or pace it so a progress bar can be seen.
//!
//! A few lines of HTTP/1.1 by hand rather than a framework, because a
//! framework would not let a response lie about its length.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_wire::read_head;

/// How a served file misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub enum Delivery {
    #[default]
    Whole,
    /// Announce the whole length, send only this many bytes, then close.
    CutAfter(usize),
    /// Send at about this many bytes a second.
    Paced(usize),
}

#[derive(Default)]
struct State {
    /// `None` answers 204 No Content: "no update".
    manifest: Option<String>,
    files: HashMap<String, (Arc<Vec<u8>>, Delivery)>,
    /// Every request line received, in order ("GET /path").
    requests: Vec<String>,
}

pub struct UpdateServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl UpdateServer {
    /// Listens on 127.0.0.1:`port` (the port the app was built to ask).
    pub async fn start(port: u16) -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port} for the update server"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((sock, _)) = listener.accept().await {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let _ = serve(sock, state).await;
                    });
                }
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer manifest requests with 204: no update.
    pub fn serve_no_update(&self) {
        lock(&self.state).manifest = None;
    }

    /// Answer manifest requests with a release `version` whose package for
    /// `platform` (e.g. `linux-x86_64-deb`) is the file `file` with the
    /// signature `signature` (the `.sig` file's text, base64 as written).
    pub fn serve_release(
        &self,
        version: &str,
        notes: &str,
        platform: &str,
        file: &str,
        signature: &str,
    ) {
        let manifest = serde_json::json!({
            "version": version,
            "notes": notes,
            "pub_date": "2026-01-01T00:00:00Z",
            "platforms": {
                platform: {
                    "url": format!("{}/files/{file}", self.base_url()),
                    "signature": signature.trim(),
                }
            }
        });
        lock(&self.state).manifest = Some(manifest.to_string());
    }

    /// Answer manifest requests with this JSON as it is.
    pub fn serve_manifest(&self, json: String) {
        lock(&self.state).manifest = Some(json);
    }

    pub fn put_file(&self, name: &str, bytes: Vec<u8>, delivery: Delivery) {
        lock(&self.state)
            .files
            .insert(name.to_string(), (Arc::new(bytes), delivery));
    }

    /// The request lines seen so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// Waits until a request whose line satisfies `pred` arrives.
    pub async fn wait_request(
        &self,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return Ok(r);
            }
            if Instant::now() > deadline {
                bail!(
                    "no such request within {within:?}; seen: {:?}",
                    self.requests()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for UpdateServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> Result<()> {
    let (text, _) = read_head(&mut sock).await?;
    let line = text.lines().next().unwrap_or_default().to_string();
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("").to_string();

    let reply = {
        let mut s = lock(&state);
        s.requests.push(format!("{method} {path}"));
        if method != "GET" {
            Reply::Status(405)
        } else if path.ends_with("/latest.json") {
            match &s.manifest {
                Some(m) => Reply::Body(
                    "application/json",
                    Arc::new(m.clone().into_bytes()),
                    Delivery::Whole,
                ),
                None => Reply::Status(204),
            }
        } else if let Some((bytes, delivery)) = path
            .strip_prefix("/files/")
            .and_then(|name| s.files.get(name))
        {
            Reply::Body("application/octet-stream", bytes.clone(), *delivery)
        } else {
            Reply::Status(404)
        }
    };

    match reply {
        Reply::Status(code) => {
            let reason = match code {
                204 => "No Content",
                404 => "Not Found",
                _ => "Method Not Allowed",
            };
            let body_len = if code == 204 {
                ""
            } else {
                "Content-Length: 0\r\n"
            };
            sock.write_all(
                format!("HTTP/1.1 {code} {reason}\r\n{body_len}Connection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        }
        Reply::Body(kind, bytes, delivery) => {
            sock.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                )
                .as_bytes(),
            )
            .await?;
            match delivery {
                Delivery::Whole => sock.write_all(&bytes).await?,
                Delivery::CutAfter(n) => {
                    sock.write_all(&bytes[..n.min(bytes.len())]).await?;
                    sock.flush().await?;
                    // Closing now leaves the announced length unmet.
                }
                Delivery::Paced(per_second) => {
                    let chunk = (per_second / 20).max(1);
                    for part in bytes.chunks(chunk) {
                        sock.write_all(part).await?;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
    sock.shutdown().await.ok();
    Ok(())
}

enum Reply {
    Status(u16),
    Body(&'static str, Arc<Vec<u8>>, Delivery),
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &str) -> Result<reqwest::Response> {
        crate::install_tls_provider();
        Ok(reqwest::Client::new().get(url).send().await?)
    }

    #[tokio::test]
    async fn serves_manifest_files_and_cut_downloads() {
        let server = UpdateServer::start(0).await.unwrap();
        let base = server.base_url();
        let r = get(&format!("{base}/linux-x86_64/0.1.0/latest.json"))
            .await
            .unwrap();
        assert_eq!(r.status(), 204);

        server.serve_release("0.2.0", "notes", "linux-x86_64-deb", "b.deb", "c2ln\n");
        let r = get(&format!("{base}/x/latest.json")).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(json["version"], "0.2.0");
        assert_eq!(json["platforms"]["linux-x86_64-deb"]["signature"], "c2ln");
        assert_eq!(
            json["platforms"]["linux-x86_64-deb"]["url"],
            format!("{base}/files/b.deb")
        );

        server.put_file("b.deb", vec![7u8; 100_000], Delivery::Whole);
        let body = get(&format!("{base}/files/b.deb"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body.len(), 100_000);

        server.put_file("b.deb", vec![7u8; 100_000], Delivery::CutAfter(1000));
        let r = get(&format!("{base}/files/b.deb")).await.unwrap();
        assert_eq!(r.content_length(), Some(100_000));
        assert!(
            r.bytes().await.is_err(),
            "a cut download must not read as whole"
        );

        assert_eq!(
            get(&format!("{base}/files/nope")).await.unwrap().status(),
            404
        );
        server
            .wait_request(Duration::from_secs(1), |r| r == "GET /files/nope")
            .await
            .unwrap();
        assert!(server
            .wait_request(Duration::from_millis(100), |r| r.contains("never"))
            .await
            .is_err());
    }
}
