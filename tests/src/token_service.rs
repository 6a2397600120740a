//! The project's own small token endpoint (the protocol the README
//! documents, served by `rtcstack_token_endpoint`'s client): it mints
//! short-lived LiveKit tokens with the server's key for a caller holding the
//! right bearer credential. The demo runs it so a newcomer sees refreshes
//! happen; the tests also make it misbehave (an HTTP status, garbage, a hang,
//! or down), which is why it is a few lines of HTTP by hand rather than a
//! framework that would not let it hang mid-answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_wire::{header, read_head};
use crate::tokens::TokenSpec;

/// How the service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Tokens for callers with the credential, 401 for others.
    #[default]
    Issue,
    /// This HTTP status, no token.
    Status(u16),
    /// 200 with something that is not JSON.
    Garbage,
    /// As [`Behaviour::Issue`], but each token is for another room than
    /// the one asked for (`<room>-other`).
    OtherRoom,
    /// Reads the request and never answers.
    Hang,
    /// Closes every connection at once, as if the network were gone.
    Down,
}

/// One request as the service saw it (no credential, no token).
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub authorized: bool,
    pub room: String,
    pub identity: String,
    /// The HTTP status answered (0: none).
    pub status: u16,
}

struct State {
    key: String,
    secret: String,
    credential: String,
    ttl: Duration,
    behaviour: Behaviour,
    seen: Vec<Seen>,
    /// Every token handed out, for the tests' leak search.
    issued: Vec<String>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct TokenService {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

#[derive(Deserialize)]
struct Body {
    room: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    identity: String,
}

impl TokenService {
    /// Listens on a free loopback port; tokens live `ttl`.
    pub async fn start(key: &str, secret: &str, credential: &str, ttl: Duration) -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            key: key.into(),
            secret: secret.into(),
            credential: credential.into(),
            ttl,
            behaviour: Behaviour::Issue,
            seen: Vec::new(),
            issued: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(sock, state).await;
                });
            }
        });
        Ok(TokenService { addr, state, task })
    }

    /// The endpoint's address.
    pub fn url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        lock(&self.state).behaviour = behaviour;
    }

    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    pub fn issued(&self) -> Vec<String> {
        lock(&self.state).issued.clone()
    }

    /// Waits until `n` requests have been seen.
    pub async fn wait_requests(&self, n: usize, within: Duration) -> Result<Vec<Seen>> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return Ok(seen);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} token requests within {within:?}, wanted {n}",
                    seen.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> Result<()> {
    if lock(&state).behaviour == Behaviour::Down {
        return Ok(()); // dropped: connection closed before any answer
    }
    let (head, mut body) = read_head(&mut sock).await?;
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    while body.len() < length {
        let mut buf = vec![0u8; length - body.len()];
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            bail!("body cut short");
        }
        body.extend_from_slice(&buf[..n]);
    }
    let asked: Option<Body> = serde_json::from_slice(&body).ok();
    let (status, answer) = {
        let mut s = lock(&state);
        let authorized = header(&head, "authorization")
            .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
            .is_some_and(|c| c == s.credential);
        let (room, name, identity) = asked
            .as_ref()
            .map(|b| (b.room.clone(), b.name.clone(), b.identity.clone()))
            .unwrap_or_default();
        let identity = if identity.is_empty() {
            format!("guest-{}", s.seen.len())
        } else {
            identity
        };
        let (status, answer) = match s.behaviour {
            Behaviour::Hang => (0, None),
            Behaviour::Garbage => (200, Some("<html>not a token</html>".to_string())),
            Behaviour::Status(code) => (code, Some(String::new())),
            Behaviour::Issue | Behaviour::Down | Behaviour::OtherRoom if !authorized => {
                (401, Some(String::new()))
            }
            Behaviour::Issue | Behaviour::Down | Behaviour::OtherRoom
                if asked.is_none() || room.is_empty() =>
            {
                (400, Some(String::new()))
            }
            Behaviour::Issue | Behaviour::Down | Behaviour::OtherRoom => {
                let granted = if s.behaviour == Behaviour::OtherRoom {
                    format!("{room}-other")
                } else {
                    room.clone()
                };
                let token = TokenSpec::join(&granted, &identity)
                    .name(if name.is_empty() { &identity } else { &name })
                    .ttl(s.ttl)
                    .mint(&s.key, &s.secret)
                    .context("minting")?;
                s.issued.push(token.clone());
                (200, Some(serde_json::json!({ "token": token }).to_string()))
            }
        };
        s.seen.push(Seen {
            at: Instant::now(),
            authorized,
            room,
            identity,
            status,
        });
        (status, answer)
    };
    let Some(answer) = answer else {
        // Hang: hold the connection open, answer nothing.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    };
    let reply = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        reason(status),
        answer.len()
    );
    sock.write_all(reply.as_bytes()).await?;
    sock.shutdown().await.ok();
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
