//! The bit of HTTP/1.1 the bench's hand-written servers share (the update
//! host and the token service, which misbehave on purpose and so are not
//! built on a framework): reading a request head with a deadline.

use std::time::Duration;

use anyhow::{bail, Result};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads up to the end of the request head (small, and it must come within
/// 10 s); returns it and whatever body bytes came with it.
pub async fn read_head(sock: &mut TcpStream) -> Result<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(end);
            }
            let n = sock.read(&mut buf).await?;
            if n == 0 || data.len() > 16 * 1024 {
                bail!("bad request head");
            }
            data.extend_from_slice(&buf[..n]);
        }
    };
    let end = tokio::time::timeout(Duration::from_secs(10), read).await??;
    let head = String::from_utf8_lossy(&data[..end]).to_string();
    Ok((head, data[end + 4..].to_vec()))
}

/// A header's value by name (case-insensitive).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
