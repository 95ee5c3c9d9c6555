//! One upstream HTTP/1.1 connection, driven by the task of the request
//! that has it: no task of its own, no channels.
//!
//! hyper's client connection is a separate task that the request talks to
//! through channels: at one worker thread that was a third of proxyd's
//! instructions per proxied request (two task wake-ups, the dispatch
//! channels, and a second copy of every response head into hyper's own
//! structures). Here the request's task writes the head itself, reads the
//! response head into the connection's buffer, and the response body
//! ([`UpstreamBody`](super::UpstreamBody)) reads the rest as the client's
//! connection asks for it. The wire format is in `wire`.
//!
//! A request body is written by a [`Pump`] polled alongside the response:
//! before its head arrives by [`Conn::send`], after it by the response
//! body, so a server that answers while still reading (an echo) gets the
//! rest of the body while its answer streams back.
//!
//! The `request_timeout` timer lives as long as the connection and its
//! deadline is *moved later* for each request: a `tokio::time::timeout`
//! per request registers and removes a timer in tokio's wheel (each under
//! the wheel's lock), about 1,270 instructions; a later deadline is one
//! atomic store. An earlier deadline (a site with a shorter
//! `request_timeout`) is registered again, as a fresh timer would be.

use std::future::{poll_fn, Future};
use std::io::{self, Write as _};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use http::{header, Request, Response, StatusCode};
use http_body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::wire::{self, ExtraFields, Fields, Head, Invalid};
use super::UpstreamBody;
use crate::body::{Body, BoxError};
use crate::prefixed::Prefixed;

/// Bytes asked of the socket per read while the head is awaited.
const READ_SIZE: usize = 8 * 1024;

/// The byte stream of an upstream connection.
pub enum Io {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS (`scheme = "https"`); boxed, being ten times the size of a socket.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the connection failed.
    #[error("connection failed")]
    Io(#[source] io::Error),
    /// The server closed the connection before a complete response.
    #[error("connection closed before the response was complete")]
    Closed,
    /// The server's answer is not HTTP/1 we can pass on.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The client's request body failed (too large, broken off): the
    /// client's fault, not the server's.
    #[error("request body failed")]
    Body(#[source] BoxError),
}

impl Error {
    /// Whether the client's request body, not the server, caused it.
    pub fn is_client_fault(&self) -> bool {
        matches!(self, Error::Body(_))
    }
}

/// Why [`Conn::send`] got no response.
#[derive(Debug)]
pub enum SendError {
    /// Not even the request head reached the server (the connection was
    /// closed): the request is handed back untouched.
    Unsent(Box<Request<Body>>, Error),
    /// The request was (maybe partly) sent, then the exchange failed.
    Failed(Error),
    /// No response head within the timeout.
    TimedOut,
}

/// An upstream HTTP/1.1 connection between requests: the stream, what was
/// read and not yet used, and the request timer (module docs).
pub struct Conn {
    pub(super) io: Io,
    /// Bytes read from the server and not yet used.
    pub(super) buf: BytesMut,
    /// The request head being written; kept for its capacity.
    out: Vec<u8>,
    /// The last response head's fields (filled for each response, kept
    /// for its capacity; the response body gives access to them).
    pub(super) fields: Fields,
    /// Made on the first request; re-armed for every later one.
    timer: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("tls", &matches!(self.io, Io::Tls(_)))
            .field("buffered", &self.buf.len())
            .finish()
    }
}

impl Conn {
    /// A fresh connection over `io`.
    pub(super) fn new(io: Io) -> Box<Self> {
        Box::new(Conn {
            io,
            buf: BytesMut::new(),
            out: Vec::new(),
            fields: Fields::default(),
            timer: None,
        })
    }

    /// Whether an idle connection is still open and quiet: the server sent
    /// nothing since the last response (no close, no reset, no stray
    /// bytes). While nothing arrived this is tokio's readiness flag (an
    /// atomic load, no system call, no waker): the last read of a response
    /// saw the socket drained.
    pub fn is_idle_open(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        match &mut self.io {
            Io::Tcp(s) => {
                let mut probe = [0u8; 1];
                matches!(s.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            // TLS records may arrive unasked (session tickets): rustls
            // reads them, and only plaintext or a close counts.
            Io::Tls(s) => {
                let mut cx = Context::from_waker(Waker::noop());
                let mut probe = [0u8; 1];
                let mut probe = ReadBuf::new(&mut probe);
                matches!(
                    Pin::new(s.as_mut()).poll_read(&mut cx, &mut probe),
                    Poll::Pending
                )
            }
        }
    }

    /// Lets go of buffers grown past their usual size (a large response
    /// body, a large request head) before the connection waits idle in the
    /// pool: idle connections hold a few hundred bytes, not what their
    /// largest exchange needed.
    pub(super) fn shrink_idle(&mut self) {
        if self.buf.capacity() > 2 * READ_SIZE {
            self.buf = BytesMut::new();
        }
        self.fields.shrink_idle();
        if self.out.capacity() > 2 * READ_SIZE {
            self.out = Vec::new();
        }
    }

    /// Reads more of the server's bytes into the buffer (at least `want`
    /// bytes of room). `Ok(0)` is the end of the stream.
    pub(super) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        self.buf.reserve(want);
        pin!(self.io.read_buf(&mut self.buf)).poll(cx)
    }

    /// Sends `req` (origin-form, headers final; `fields` written after its
    /// map's) and waits for the response head, at most `timeout` when given. Informational responses other
    /// than 101 are skipped. The response body holds the connection until
    /// it ends (then the caller's pool gets it back, if it is reusable).
    pub async fn send(
        mut self: Box<Self>,
        req: Request<Body>,
        fields: &ExtraFields,
        timeout: Option<Duration>,
    ) -> Result<Response<UpstreamBody>, SendError> {
        let (parts, body) = req.into_parts();
        let to_head = parts.method == http::Method::HEAD;
        let close = wire::asks_close(&parts.headers);
        let mode = RequestBody::of(&parts.headers, &body);
        // Framing the client's head did not carry (an HTTP/2 body, a
        // chunked one whose `Transfer-Encoding` went with the hop-by-hop
        // fields). No allocation when there is none.
        let mut extra = String::new();
        match mode {
            RequestBody::Chunked => extra.push_str("transfer-encoding: chunked\r\n"),
            RequestBody::Length { add: true, len } => {
                extra = format!("content-length: {len}\r\n");
            }
            _ => {}
        }
        wire::encode_head(
            &mut self.out,
            &parts.method,
            &parts.uri,
            &parts.headers,
            fields,
            extra.as_bytes(),
        );

        let mut st = Sending {
            written: 0,
            flushed: false,
            unsent: Some((parts, body)),
            mode,
            pump: None,
            broken: false,
        };
        // Out of the connection while the exchange borrows it; back after.
        let mut timer_slot = self.timer.take();
        let mut timer = timeout.map(|t| arm(&mut timer_slot, Instant::now() + t));
        let conn = &mut *self;
        let head = poll_fn(|cx| {
            let polled = st.poll(conn, cx);
            if polled.is_ready() {
                return polled;
            }
            match timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Err(SendError::TimedOut)),
                _ => Poll::Pending,
            }
        })
        .await;
        self.timer = timer_slot;
        let head = head?;
        let (framing, reusable) = wire::framing(to_head, &head);
        let reusable = reusable && !close && !st.broken;
        let body = UpstreamBody::new(self, framing, st.pump, reusable);
        Ok(into_response(head, body))
    }
}

/// Arms the connection's timer for `deadline` (see the module docs).
fn arm(timer: &mut Option<Pin<Box<Sleep>>>, deadline: Instant) -> Pin<&mut Sleep> {
    match timer {
        Some(t) => {
            t.as_mut().reset(deadline);
            t.as_mut()
        }
        None => timer
            .insert(Box::pin(tokio::time::sleep_until(deadline)))
            .as_mut(),
    }
}

/// The response: status and version from `head`; its header fields stay
/// in the connection, which `body` holds ([`UpstreamBody::raw_fields`]).
fn into_response(head: Head, body: UpstreamBody) -> Response<UpstreamBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = head.status;
    *resp.version_mut() = head.version;
    if let Some(reason) = head.reason {
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(reason) {
            resp.extensions_mut().insert(r);
        }
    }
    resp
}

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestBody {
    /// No body.
    None,
    /// `Content-Length: len` (`add`: the header is not there yet).
    Length { len: u64, add: bool },
    /// Chunked (the length is not known in advance).
    Chunked,
}

impl RequestBody {
    fn of(headers: &http::HeaderMap, body: &Body) -> Self {
        if body.is_end_stream() {
            return RequestBody::None;
        }
        let given = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match (given, body.size_hint().exact()) {
            (Some(len), _) => RequestBody::Length { len, add: false },
            (None, Some(len)) => RequestBody::Length { len, add: true },
            (None, None) => RequestBody::Chunked,
        }
    }
}

/// The state of [`Conn::send`] between polls.
struct Sending {
    /// Bytes of the head written.
    written: usize,
    flushed: bool,
    /// The request, until its head is out (to hand back if it never is).
    unsent: Option<(http::request::Parts, Body)>,
    mode: RequestBody,
    /// The body on its way, once the head is out.
    pump: Option<Box<Pump>>,
    /// Writing the body failed (the server stopped reading): what it
    /// answered may still be read, but the connection is not reused.
    broken: bool,
}

impl Sending {
    fn unsent(&mut self, e: io::Error) -> SendError {
        match self.unsent.take() {
            Some((parts, body)) => {
                SendError::Unsent(Box::new(Request::from_parts(parts, body)), Error::Io(e))
            }
            None => SendError::Failed(Error::Io(e)),
        }
    }

    fn poll(&mut self, conn: &mut Conn, cx: &mut Context<'_>) -> Poll<Result<Head, SendError>> {
        while self.written < conn.out.len() {
            match Pin::new(&mut conn.io).poll_write(cx, &conn.out[self.written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.unsent(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.unsent(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !self.flushed {
            match Pin::new(&mut conn.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flushed = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.unsent(e))),
                Poll::Pending => return Poll::Pending,
            }
            if let Some((_, body)) = self.unsent.take() {
                self.pump = Pump::new(body, self.mode).map(Box::new);
            }
        }
        match Pump::drive(&mut self.pump, &mut conn.io, cx) {
            Ok(broke) => self.broken |= broke,
            Err(e) => return Poll::Ready(Err(SendError::Failed(e))),
        }
        loop {
            // Nothing to parse before the first read (the usual first poll).
            if !conn.buf.is_empty() {
                match wire::parse_head(&mut conn.buf, &mut conn.fields) {
                    Err(e) => return Poll::Ready(Err(SendError::Failed(e.into()))),
                    Ok(Some(head))
                        if head.status.is_informational()
                            && head.status != StatusCode::SWITCHING_PROTOCOLS =>
                    {
                        continue
                    }
                    Ok(Some(head)) => return Poll::Ready(Ok(head)),
                    Ok(None) => {}
                }
            }
            match conn.poll_fill(cx, READ_SIZE) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(SendError::Failed(Error::Closed))),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(SendError::Failed(Error::Io(e)))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A request body on its way to the server, framed as its head said.
pub struct Pump {
    body: Body,
    chunked: bool,
    /// Bytes `Content-Length` still expects (unused when chunked).
    left: u64,
    /// Framed bytes not yet written, from `pos`.
    out: Vec<u8>,
    pos: usize,
    /// The body's end (with the chunked terminator) is in `out`.
    ended: bool,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("chunked", &self.chunked)
            .field("ended", &self.ended)
            .finish()
    }
}

impl Pump {
    fn new(body: Body, mode: RequestBody) -> Option<Self> {
        let (chunked, left) = match mode {
            RequestBody::None => return None,
            RequestBody::Length { len, .. } => (false, len),
            RequestBody::Chunked => (true, 0),
        };
        Some(Pump {
            body,
            chunked,
            left,
            out: Vec::new(),
            pos: 0,
            ended: false,
        })
    }

    /// Moves the body in `slot` towards the server as far as it goes now,
    /// and empties the slot once it is all sent or the server's side
    /// failed. `Ok(true)`: the server stopped reading (its answer may
    /// still be read, but the connection is not reused); `Err`: the
    /// client's body failed.
    pub(super) fn drive(
        slot: &mut Option<Box<Pump>>,
        io: &mut Io,
        cx: &mut Context<'_>,
    ) -> Result<bool, Error> {
        let Some(pump) = slot else {
            return Ok(false);
        };
        match pump.poll(io, cx) {
            Poll::Pending => Ok(false),
            Poll::Ready(Ok(())) => {
                *slot = None;
                Ok(false)
            }
            Poll::Ready(Err(Error::Io(_))) => {
                *slot = None;
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(e),
        }
    }

    /// Moves the body towards the server. Ready with `Ok` once all of it is
    /// written and flushed; `Error::Body` when the client's body failed,
    /// `Error::Io` when the server's side did.
    fn poll(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            while self.pos < self.out.len() {
                match Pin::new(&mut *io).poll_write(cx, &self.out[self.pos..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())))
                    }
                    Poll::Ready(Ok(n)) => self.pos += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::Io(e))),
                    Poll::Pending => return Poll::Pending,
                }
            }
            self.out.clear();
            self.pos = 0;
            if self.ended {
                return Pin::new(&mut *io).poll_flush(cx).map_err(Error::Io);
            }
            let frame = match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => {
                    // Whatever TLS still buffers goes out while we wait.
                    return match Pin::new(&mut *io).poll_flush(cx) {
                        Poll::Ready(Err(e)) => Poll::Ready(Err(Error::Io(e))),
                        _ => Poll::Pending,
                    };
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(Error::Body(e))),
                Poll::Ready(None) => {
                    if self.chunked {
                        self.out.extend_from_slice(b"0\r\n\r\n");
                    } else if self.left != 0 {
                        let short = "request body shorter than its content-length";
                        return Poll::Ready(Err(Error::Body(short.into())));
                    }
                    self.ended = true;
                    continue;
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) if self.chunked => {
                    // Into the buffer directly: no string per chunk.
                    let _ = write!(self.out, "{:x}\r\n", data.len());
                    self.out.extend_from_slice(&data);
                    self.out.extend_from_slice(b"\r\n");
                }
                Ok(data) => {
                    let n = data.len() as u64;
                    if n > self.left {
                        let long = "request body longer than its content-length";
                        return Poll::Ready(Err(Error::Body(long.into())));
                    }
                    self.left -= n;
                    self.out.extend_from_slice(&data);
                }
                Err(frame) => {
                    if let (Ok(trailers), true) = (frame.into_trailers(), self.chunked) {
                        self.out.extend_from_slice(b"0\r\n");
                        for (name, value) in &trailers {
                            self.out.extend_from_slice(name.as_str().as_bytes());
                            self.out.extend_from_slice(b": ");
                            self.out.extend_from_slice(value.as_bytes());
                            self.out.extend_from_slice(b"\r\n");
                        }
                        self.out.extend_from_slice(b"\r\n");
                        self.ended = true;
                    }
                }
            }
        }
    }
}

/// An upstream connection after `101 Switching Protocols`: the bytes the
/// server sent after its head first, then the stream.
pub type Upgraded = Prefixed<Io>;

impl Conn {
    /// The connection, for the protocol a 101 switched to.
    pub(super) fn into_upgraded(self) -> Upgraded {
        Prefixed::new(self.io, self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn pair() -> (Box<Conn>, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        (Conn::new(Io::Tcp(client)), server)
    }

    /// Lets tokio's I/O driver see what the peer did.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn an_idle_connection_is_open_until_the_server_closes_or_talks() {
        let (mut conn, server) = pair().await;
        settle().await;
        assert!(conn.is_idle_open(), "a quiet connection is reusable");
        drop(server);
        settle().await;
        assert!(!conn.is_idle_open(), "closed by the server");

        let (mut conn, mut server) = pair().await;
        server.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        settle().await;
        assert!(!conn.is_idle_open(), "stray bytes from the server");
    }

    #[tokio::test]
    async fn an_idle_connection_lets_go_of_grown_buffers() {
        let (mut conn, _server) = pair().await;
        conn.buf.reserve(64 * 1024);
        conn.out.reserve(100);
        conn.shrink_idle();
        assert_eq!(conn.buf.capacity(), 0);
        assert!(conn.out.capacity() >= 100, "a usual head buffer is kept");
    }
}
