//! A watch on the raw HTTP/1 request stream for framing ambiguities that
//! hyper resolves silently and a proxy must refuse (SPEC §6): a
//! `Content-Length` beside `Transfer-Encoding`, and repeated
//! `Content-Length`s (hyper drops the extra ones when they agree, so they
//! are invisible once parsed).
//!
//! [`Sniffed`] wraps a connection's stream and follows its request framing
//! as the bytes go by: heads line by line, then bodies by length or chunk
//! by chunk (skipped, not scanned). Each head's verdict is numbered; the
//! service asks [`Verdicts::next_is_ambiguous`] once per request, in order.
//! The scanner stops (and everything after passes unchecked) at the HTTP/2
//! preface, at an upgrade, or at anything it cannot follow, where hyper
//! itself refuses the bytes or stops parsing HTTP/1.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Lines longer than this stop the scanner (hyper answers 431 first).
const MAX_LINE: usize = 256 * 1024;

/// Request extension marking a request whose framing was ambiguous on the
/// wire; `validate::check` refuses it with 400.
#[derive(Debug, Clone, Copy)]
pub struct Ambiguous;

/// Which request heads were ambiguous, shared with the service.
#[derive(Debug, Default)]
pub struct Verdicts {
    any: AtomicBool,
    ambiguous: Mutex<Vec<u64>>,
    asked: AtomicU64,
}

impl Verdicts {
    /// Whether the next request (in arrival order) had ambiguous framing.
    pub fn next_is_ambiguous(&self) -> bool {
        let i = self.asked.fetch_add(1, Ordering::Relaxed);
        self.any.load(Ordering::Acquire)
            && self
                .ambiguous
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&i)
    }

    fn mark(&self, head: u64) {
        self.ambiguous
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(head);
        self.any.store(true, Ordering::Release);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Off,
}

/// What one head said about framing.
#[derive(Debug, Default)]
struct Facts {
    lines: usize,
    content_lengths: usize,
    length: Option<u64>,
    transfer_encoding: bool,
    chunked_last: bool,
    upgrade: bool,
}

/// The framing follower; see the module docs.
#[derive(Debug)]
struct Scanner {
    state: State,
    line: Vec<u8>,
    facts: Facts,
    heads: u64,
    verdicts: Arc<Verdicts>,
}

impl Scanner {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.state {
                State::Off => return,
                State::Fixed(n) | State::ChunkData(n) => {
                    let take = n.min(bytes.len() as u64);
                    bytes = &bytes[take as usize..];
                    let left = n - take;
                    self.state = match (self.state, left) {
                        (State::Fixed(_), 0) => State::Head,
                        (State::Fixed(_), _) => State::Fixed(left),
                        (_, 0) => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                }
                _ => {
                    let Some(end) = memchr::memchr(b'\n', bytes) else {
                        // A partial line: kept until its end arrives.
                        if self.line.len() + bytes.len() > MAX_LINE {
                            self.state = State::Off;
                            return;
                        }
                        self.line.extend_from_slice(bytes);
                        return;
                    };
                    let (part, rest) = (&bytes[..end], &bytes[end + 1..]);
                    bytes = rest;
                    if self.line.len() + part.len() > MAX_LINE {
                        self.state = State::Off;
                        return;
                    }
                    if self.line.is_empty() {
                        // The usual case: the whole line is in this read.
                        self.line_done(strip_cr(part));
                    } else {
                        let mut line = std::mem::take(&mut self.line);
                        line.extend_from_slice(part);
                        self.line_done(strip_cr(&line));
                        line.clear();
                        self.line = line;
                    }
                }
            }
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        match self.state {
            State::Head => self.head_line(line),
            State::ChunkSize => {
                let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                let size = std::str::from_utf8(&line[..digits])
                    .ok()
                    .and_then(|s| u64::from_str_radix(s, 16).ok());
                self.state = match size {
                    Some(0) => State::Trailers,
                    Some(n) => State::ChunkData(n),
                    None => State::Off,
                };
            }
            State::ChunkEnd => {
                self.state = if line.is_empty() {
                    State::ChunkSize
                } else {
                    State::Off
                };
            }
            State::Trailers if line.is_empty() => self.state = State::Head,
            _ => {}
        }
    }

    fn head_line(&mut self, line: &[u8]) {
        let f = &mut self.facts;
        if f.lines == 0 {
            if line.is_empty() {
                return; // blank lines before a request line are skipped
            }
            if line.starts_with(b"PRI * HTTP/2.0") || line.starts_with(b"CONNECT ") {
                self.state = State::Off;
                return;
            }
            f.lines = 1;
            return;
        }
        if !line.is_empty() {
            f.lines += 1;
            if let Some(value) = field_value(line, b"content-length") {
                let value = trim(value);
                f.content_lengths += 1 + value.iter().filter(|b| **b == b',').count();
                f.length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            } else if let Some(value) = field_value(line, b"transfer-encoding") {
                f.transfer_encoding = true;
                let last = value.rsplit(|b| *b == b',').next().map(trim);
                f.chunked_last = last.is_some_and(|l| l.eq_ignore_ascii_case(b"chunked"));
            } else if field_value(line, b"upgrade").is_some() {
                f.upgrade = true;
            }
            return;
        }
        // End of the head.
        let f = std::mem::take(&mut self.facts);
        if (f.transfer_encoding && f.content_lengths > 0) || f.content_lengths > 1 {
            self.verdicts.mark(self.heads);
        }
        self.heads += 1;
        self.state = if f.upgrade {
            State::Off
        } else if f.transfer_encoding {
            if f.chunked_last {
                State::ChunkSize
            } else {
                State::Off
            }
        } else if f.content_lengths > 0 {
            match f.length {
                Some(0) => State::Head,
                Some(n) => State::Fixed(n),
                None => State::Off,
            }
        } else {
            State::Head
        };
    }
}

/// The value of header line `line` if its field name is `name` (lowercase;
/// matched ignoring case, the name ending at the first `:`), untrimmed.
/// Compares in place: no search for the colon in the many lines that carry
/// other fields.
fn field_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let n = name.len();
    (line.len() > n && line[n] == b':' && line[..n].eq_ignore_ascii_case(name))
        .then(|| &line[n + 1..])
}

/// `line` without the `\r` of its `\r\n` ending.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

/// A stream whose incoming bytes are followed by the framing scanner.
#[derive(Debug)]
pub struct Sniffed<I> {
    inner: I,
    scanner: Scanner,
}

impl<I> Sniffed<I> {
    /// Wraps `inner`; the returned [`Verdicts`] belong to its requests.
    pub fn new(inner: I) -> (Self, Arc<Verdicts>) {
        let verdicts = Arc::new(Verdicts::default());
        let scanner = Scanner {
            state: State::Head,
            line: Vec::new(),
            facts: Facts::default(),
            heads: 0,
            verdicts: verdicts.clone(),
        };
        (Sniffed { inner, scanner }, verdicts)
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &I {
        &self.inner
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Sniffed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if this.scanner.state != State::Off {
                this.scanner.feed(&buf.filled()[before..]);
            }
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Sniffed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(stream: &[&[u8]]) -> (Arc<Verdicts>, State) {
        let (mut s, v) = Sniffed::new(());
        for part in stream {
            s.scanner.feed(part);
        }
        (v, s.scanner.state)
    }

    fn flags(v: &Verdicts, n: usize) -> Vec<bool> {
        (0..n).map(|_| v.next_is_ambiguous()).collect()
    }

    #[test]
    fn clean_pipelined_requests_pass() {
        let (v, state) = verdicts(&[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel",
            b"loPUT /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
            b"GET /z HTTP/1.1\r\n\r\n",
        ]);
        assert_eq!(flags(&v, 4), [false; 4]);
        assert_eq!(state, State::Head);
    }

    #[test]
    fn cl_with_te_and_repeated_cl_are_flagged_in_order() {
        let (v, _) = verdicts(&[
            b"GET / HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok",
            b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok",
            b"GET / HTTP/1.1\r\n\r\n",
        ]);
        assert_eq!(flags(&v, 5), [false, true, true, true, false]);
    }

    #[test]
    fn lines_split_across_reads_are_followed() {
        let (v, state) = verdicts(&[
            b"POST / HTTP/1.1\r\nContent-Len",
            b"gth: 2\r\nTransfer-Enc",
            b"oding: chunked\r",
            b"\n\r\n0\r\n\r",
            b"\nGET / HTTP/1.1\r\nX-Content-Length: 1\r\nContent-Length: 3\r\n\r\nabc",
        ]);
        assert_eq!(flags(&v, 2), [true, false]);
        assert_eq!(state, State::Head);
    }

    #[test]
    fn h2_preface_and_upgrades_stop_the_scanner() {
        let (_, state) = verdicts(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]);
        assert_eq!(state, State::Off);
        let (_, state) = verdicts(&[b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x05"]);
        assert_eq!(state, State::Off);
    }
}
