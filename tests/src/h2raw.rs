//! Hand-made HTTP/2 (prior knowledge, no TLS), for input a real client
//! library refuses to send: connection-specific headers, pseudo-header
//! abuse, `Content-Length` that disagrees with the DATA frames.
//!
//! Header blocks are HPACK "literal without indexing, new name" entries,
//! no Huffman: any byte string goes out exactly as given. Only what comes
//! back is interpreted, and only as far as the tests need ([`Outcome`]).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait::patience;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

/// How the server dealt with stream 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response HEADERS frame; `Some(code)` when `:status` came as a
    /// static-table index (200, 204, 206, 304, 400, 404, 500).
    Response(Option<u16>),
    /// `RST_STREAM` with this error code.
    Reset(u32),
    /// `GOAWAY` with this error code (the whole connection refused).
    GoAway(u32),
    /// The connection closed (or stayed silent for [`patience`]).
    Closed,
}

impl Outcome {
    /// Whether the server refused: a reset, a GOAWAY, a close or a 4xx.
    pub fn is_refusal(&self) -> bool {
        match self {
            Outcome::Response(Some(code)) => (400..500).contains(code),
            Outcome::Response(None) => false,
            _ => true,
        }
    }
}

/// One header block entry (`name`, `value`), bytes exactly as sent.
pub type Field<'a> = (&'a [u8], &'a [u8]);

/// HPACK: an integer with an `n`-bit prefix (RFC 7541 §5.1).
fn int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// A header block of literal-without-indexing entries.
pub fn block(fields: &[Field<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name);
        int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value);
    }
    out
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Opens a prior-knowledge HTTP/2 connection to `addr`, sends stream 1
/// with `fields` (and `body` as one DATA frame when given), and reports
/// what the server did with it.
pub async fn exchange(addr: SocketAddr, fields: &[Field<'_>], body: Option<&[u8]>) -> Outcome {
    exchange_in_two(addr, fields, body, 0).await
}

/// [`exchange`], with the first `split` bytes (of the preface, say) sent
/// alone and the rest 100 ms later.
pub async fn exchange_in_two(
    addr: SocketAddr,
    fields: &[Field<'_>],
    body: Option<&[u8]>,
    split: usize,
) -> Outcome {
    let mut s = TcpStream::connect(addr).await.expect("connect to proxyd");
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    let flags = END_HEADERS | if body.is_none() { END_STREAM } else { 0 };
    out.extend(frame(HEADERS, flags, 1, &block(fields)));
    if let Some(b) = body {
        out.extend(frame(DATA, END_STREAM, 1, b));
    }
    let (first, rest) = out.split_at(split.min(out.len()));
    if !first.is_empty() {
        let _ = s.write_all(first).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The server may refuse early and close; a failed write is fine.
    let _ = s.write_all(rest).await;
    match tokio::time::timeout(patience(), read_outcome(&mut s)).await {
        Ok(o) => o,
        Err(_) => Outcome::Closed,
    }
}

async fn read_outcome(s: &mut TcpStream) -> Outcome {
    loop {
        let mut head = [0u8; 9];
        if s.read_exact(&mut head).await.is_err() {
            return Outcome::Closed;
        }
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        if s.read_exact(&mut payload).await.is_err() {
            return Outcome::Closed;
        }
        let code_at = |i: usize| {
            payload
                .get(i..i + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match kind {
            SETTINGS if flags & ACK == 0 => {
                let _ = s.write_all(&frame(SETTINGS, ACK, 0, &[])).await;
            }
            PING if flags & ACK == 0 => {
                let _ = s.write_all(&frame(PING, ACK, 0, &payload)).await;
            }
            HEADERS if stream == 1 => {
                let status = match payload.first() {
                    Some(0x88) => Some(200),
                    Some(0x89) => Some(204),
                    Some(0x8a) => Some(206),
                    Some(0x8b) => Some(304),
                    Some(0x8c) => Some(400),
                    Some(0x8d) => Some(404),
                    Some(0x8e) => Some(500),
                    _ => None,
                };
                return Outcome::Response(status);
            }
            RST_STREAM if stream == 1 => return Outcome::Reset(code_at(0)),
            GOAWAY => return Outcome::GoAway(code_at(4)),
            _ => {}
        }
    }
}

/// The pseudo-headers of a plain `GET path` for `host`, in order.
pub fn get<'a>(host: &'a str, path: &'a str) -> Vec<Field<'a>> {
    vec![
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", host.as_bytes()),
        (b":path", path.as_bytes()),
    ]
}
