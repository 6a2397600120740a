//! The log's last line of defence: every log line passes through here on its
//! way to stderr, and anything that looks like an access token (a JWT:
//! `eyJ…`.`…`.`…`) or equals a secret the app holds is blanked. The app logs
//! no secret on purpose; this catches what a library might print at the most
//! verbose level (a websocket URL with `access_token=`, a request dump).

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Blanks `secret` in every later log line. Every [`crate::secret::Secret`]
/// is registered when it is made.
pub(crate) fn register(secret: &str) {
    // Very short strings would blank ordinary words.
    if secret.len() < 8 {
        return;
    }
    let mut s = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    if !s.iter().any(|k| k == secret) {
        s.push(secret.to_string());
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'='
}

/// The line with JWTs and registered secrets replaced.
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if line[i..].starts_with("eyJ") {
            // Three base64url parts joined by dots.
            let mut j = i;
            let mut dots = 0;
            while j < bytes.len() && (is_b64url(bytes[j]) || (bytes[j] == b'.' && dots < 2)) {
                if bytes[j] == b'.' {
                    dots += 1;
                }
                j += 1;
            }
            if dots == 2 {
                out.push_str("<token>");
                i = j;
                continue;
            }
        }
        let c = line[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    for secret in SECRETS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "<secret>");
        }
    }
    out
}

/// A `MakeWriter` for tracing-subscriber: one buffer per event, redacted
/// and written to stderr whole when the event ends.
pub struct Redacting;

pub struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = redact(&String::from_utf8_lossy(&self.0));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_registered_secrets_are_blanked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        let line = format!("GET /rtc?access_token={jwt}&auto_subscribe=1 ok");
        assert_eq!(
            redact(&line),
            "GET /rtc?access_token=<token>&auto_subscribe=1 ok"
        );
        register("hunter2-credential");
        assert_eq!(
            redact("bearer hunter2-credential sent"),
            "bearer <secret> sent"
        );
        // Ordinary text, and text that only starts like a token, stay.
        assert_eq!(
            redact("eyJust a word. Done. ünïcode"),
            "eyJust a word. Done. ünïcode"
        );
        register("short");
        assert_eq!(redact("a short line"), "a short line");
    }
}
