//! Raw TCP requests: bytes out exactly as written (for malformed and
//! ambiguous requests no HTTP client would send), one response back.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait::patience;

/// What came back on a raw connection.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code, if a status line arrived.
    pub status: Option<u16>,
    /// Everything read, lossy UTF-8.
    pub text: String,
    /// The server closed the connection (rather than us stopping after
    /// one complete response).
    pub closed: bool,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        let head = self.text.split("\r\n\r\n").next()?;
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `bytes` on a new connection and reads one response: until its
/// head and `Content-Length` body are complete, the server closes, or
/// [`patience`] passes.
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> RawResponse {
    let mut s = TcpStream::connect(addr).await.expect("connect to proxyd");
    // The server may refuse early and close; a failed write is fine.
    let _ = s.write_all(bytes).await;
    read_response(&mut s).await
}

/// Reads one response from `s` (see [`send_raw`]).
pub async fn read_response(s: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut closed = false;
    let deadline = tokio::time::Instant::now() + patience();
    while !complete(&buf) {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok());
    RawResponse {
        status,
        text,
        closed,
    }
}

fn complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match len {
        Some(n) => buf.len() >= end + 4 + n,
        // Chunked or close-delimited: read until the server closes.
        None => head.contains("transfer-encoding") && buf.ends_with(b"0\r\n\r\n"),
    }
}
