//! proxyd's own HTTP/1.1 server, for plain-TCP client connections.
//!
//! One task per connection reads a request head (`head::parse`, httparse),
//! calls `proxy::handle` on it, and writes the answer, one request after
//! another. TLS connections and HTTP/2 (prior knowledge, detected from the
//! first bytes) are served by hyper instead (`accept::serve_http`).
//!
//! Why not hyper here: per proxied request hyper's HTTP/1 server cost
//! about 10,000 instructions (a third of proxyd's), in parts a proxy does
//! not need: a fresh 8 KiB read buffer and a read-ahead poll per request,
//! a dispatcher built around a `Service`, a boxed timer per request head,
//! and the `framing` watch proxyd had to wrap around it to see the framing
//! hyper resolves silently. Here the head's fields are seen once, as
//! parsed, and a body is only read when the proxy asks for it.
//!
//! Between requests a connection holds its socket, a timer and little
//! else: the read buffer is kept while requests follow each other, and
//! let go once the connection has waited [`PARK_AFTER`] for the next one
//! (an idle keep-alive connection costs a few KiB; `docs/performance.md`).
//!
//! Time limits, from `[defaults]` (no site is known before the head):
//! a request head must be complete `header_read_timeout` after the last
//! answer ended (or the connection opened) — a late head that has begun
//! gets 408, a connection that sent nothing is closed — and a connection
//! waits at most `idle_timeout` for its next request. One timer per
//! connection keeps both, lazily: it is armed once and, when it fires,
//! looks at the clock and sets itself again (at most every `PARK_AFTER`
//! while requests keep coming), so a request costs no timer of its own.
//! The connection answers one request at a time; pipelined requests wait
//! in the buffer. While a request without a body is in flight the socket
//! is watched for the client closing, which cancels the request (as
//! hyper did).

mod body;
pub mod head;

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{StatusCode, Version};
use http_body::Body as HttpBody;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, Sleep};

use body::Feed;
pub use body::{BodyError, OnUpgrade, RequestBody, Upgraded};
use head::{Beside, Framing, HeadContext, Refused, RequestHead};

use super::accept::{self, stopped, Conn};
use super::stop::Stopped;
use crate::body::Inbound;
use crate::prefixed::Prefixed;
use crate::proxy::{self, ConnInfo};
use crate::state::Shared;

/// How long a connection waits for its next request before it lets go of
/// its buffers.
const PARK_AFTER: Duration = Duration::from_millis(50);

/// Room made in the read buffer for a request head.
const HEAD_READ: usize = 8 * 1024;

/// A connection that closes with a request body unread reads and drops
/// the rest for at most this long (nginx: `lingering_time`)...
const LINGER_MAX: Duration = Duration::from_secs(30);

/// ...and stops once the client pauses this long (`lingering_timeout`).
const LINGER_PAUSE: Duration = Duration::from_secs(5);

/// Room first made for a response head.
const HEAD_ROOM: usize = 512;

/// A buffer grown past this (a large head or body) is not kept between
/// requests.
const KEEP_BUF: usize = 2 * HEAD_READ;

/// Data frames up to this size are copied next to the framing bytes (one
/// write for several); larger ones are written from where they are.
const COPY_MAX: usize = 4 * 1024;

/// The start of the HTTP/2 connection preface (prior knowledge).
const H2_PREFIX: &[u8] = b"PRI ";

/// Serves a plain-TCP HTTP connection. One whose first bytes are the
/// HTTP/2 preface is handed to [`accept::serve_http`] (hyper) instead.
pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, mut info: ConnInfo, conn: Conn) {
    let limits = accept::Limits::from_defaults(&shared);
    let mut shutdown = shared.shutdown.subscribe();
    let wait = limits.idle_timeout.min(limits.header_timeout);

    let _conn = conn;
    // Upstream response fields are written as they arrived (`Out::head`).
    info.raw_fields = true;
    let peer = info.peer;
    let probe = shutdown.clone();
    let stop_probe = shutdown.clone();
    let stop = stopped(&mut shutdown);
    let stop = pin!(stop);
    let mut c = Connection {
        shared,
        info: Arc::new(info),
        stream,
        buf: BytesMut::new(),
        out: Out::default(),
        max_head: limits.max_header.max(HEAD_READ),
        header_timeout: limits.header_timeout,
        wait,
        stopping: probe,
        last: Instant::now(),
        // Nothing to let go of yet: the first bytes wait up to `wait`.
        parked: true,
    };
    let mut clock = Clock {
        timer: pin!(tokio::time::sleep(PARK_AFTER)),
        stop: Stopped::new(stop_probe, stop),
    };
    // The first bytes are read as any others (no peek: one system call
    // fewer per connection), then tell HTTP/2 with prior knowledge apart.
    loop {
        if let Err(end) = poll_fn(|cx| c.poll_fill(cx, &mut clock)).await {
            // Boxed: a rare path, kept out of every connection's task.
            Box::pin(c.end(end, peer)).await;
            return;
        }
        let n = c.buf.len().min(H2_PREFIX.len());
        if c.buf[..n] != H2_PREFIX[..n] {
            break;
        }
        if n == H2_PREFIX.len() {
            let mut info = Arc::unwrap_or_clone(c.info);
            info.raw_fields = false;
            let _ = c.stream.set_nodelay(true);
            let io = Prefixed::new(c.stream, c.buf);
            // Boxed: hyper's HTTP/2 connection would make every HTTP/1.1
            // connection's task as large as itself.
            return Box::pin(accept::serve_http(c.shared, io, info, _conn)).await;
        }
    }
    loop {
        // Boxed: a parked connection's task holds a pointer, not the
        // state of a request in flight. One box per busy period (requests
        // following each other within `PARK_AFTER`), not per request.
        let next = Box::pin(c.busy(&mut clock)).await;
        match next {
            Next::Request => {
                // Parked: the buffers are gone; wait for the next bytes.
                c.buf = BytesMut::new();
                c.out.release();
                c.parked = true;
                if let Err(end) = poll_fn(|cx| c.poll_fill(cx, &mut clock)).await {
                    Box::pin(c.end(end, peer)).await;
                    return;
                }
            }
            Next::Ended(end) => {
                Box::pin(c.end(end, peer)).await;
                return;
            }
            // Dropping the socket closes it with a FIN after the answer
            // (a `shutdown` first would only add a system call).
            Next::Close => return,
            Next::Linger => {
                Box::pin(c.linger(&mut clock.stop)).await;
                return;
            }
            Next::Gone => return,
            Next::Upgrade(tx) => {
                // Relayed both ways from now on: Nagle off.
                let _ = c.stream.set_nodelay(true);
                let early = std::mem::take(&mut c.buf);
                let _ = tx.send(Prefixed::new(c.stream, early));
                return;
            }
        }
    }
}

/// The connection's timer and its watch on shutdown, polled while it waits
/// for a request head.
struct Clock<'a, F> {
    timer: Pin<&'a mut Sleep>,
    stop: Stopped<'a, F>,
}

/// Why no request head came.
enum HeadEnd {
    /// The client closed, or the socket failed.
    Closed,
    /// Shutdown began.
    Stopped,
    /// `header_read_timeout` (or `idle_timeout`) passed.
    Late,
    /// No request for `PARK_AFTER`: time to let go of the buffers.
    Park,
    /// The head was refused.
    Refused(Refused),
}

/// What follows an exchange (or a busy period).
enum Next {
    /// The connection carries on with the next request (after a busy
    /// period: once it arrives, the connection parked meanwhile).
    Request,
    /// No request head came.
    Ended(HeadEnd),
    /// The answer is complete; the connection closes.
    Close,
    /// The client is gone or the answer could not be finished: drop the
    /// socket.
    Gone,
    /// The 101 is written: the socket goes to the upgrade.
    Upgrade(oneshot::Sender<Upgraded>),
    /// The answer is complete and the connection closes, but the client
    /// may still be sending the request's body: see `Connection::linger`.
    Linger,
}

struct Connection {
    shared: Arc<Shared>,
    info: Arc<ConnInfo>,
    stream: TcpStream,
    /// Bytes read and not yet parsed or delivered.
    buf: BytesMut,
    out: Out,
    max_head: usize,
    header_timeout: Duration,
    /// `min(idle_timeout, header_read_timeout)`: how long a connection
    /// that has sent nothing of its next request is kept.
    wait: Duration,
    stopping: watch::Receiver<bool>,
    /// When the last answer ended (or the connection opened).
    last: Instant,
    /// The buffers were let go while waiting.
    parked: bool,
}

impl Connection {
    /// Whether shutdown began. The watch's version first (one atomic
    /// load); its value (a lock) only once it moved.
    fn is_stopping(&self) -> bool {
        self.stopping.has_changed().unwrap_or(true) && *self.stopping.borrow()
    }

    /// Serves requests until the connection ends or has waited
    /// `PARK_AFTER` for the next one (`Next::Request`).
    async fn busy<F: Future<Output = ()>>(&mut self, clock: &mut Clock<'_, F>) -> Next {
        loop {
            let head = match self.read_head(clock).await {
                Ok(head) => head,
                Err(HeadEnd::Park) => return Next::Request,
                Err(end) => return Next::Ended(end),
            };
            match self.exchange(head).await {
                Next::Request if self.is_stopping() => return Next::Close,
                Next::Request => {}
                other => return other,
            }
        }
    }

    /// Reads until a complete request head is parsed.
    async fn read_head<F: Future<Output = ()>>(
        &mut self,
        clock: &mut Clock<'_, F>,
    ) -> Result<RequestHead, HeadEnd> {
        loop {
            if !self.buf.is_empty() {
                match head::parse(&mut self.buf, self.max_head) {
                    Ok(Some(head)) => return Ok(head),
                    Ok(None) => {}
                    Err(refused) => return Err(HeadEnd::Refused(refused)),
                }
            }
            poll_fn(|cx| self.poll_fill(cx, clock)).await?;
        }
    }

    /// Reads more bytes of a request head, watching the timer and shutdown.
    fn poll_fill<F: Future<Output = ()>>(
        &mut self,
        cx: &mut Context<'_>,
        clock: &mut Clock<'_, F>,
    ) -> Poll<Result<(), HeadEnd>> {
        // Readiness first: a parked connection makes room for bytes only
        // once they are there.
        match self.stream.poll_read_ready(cx) {
            Poll::Ready(Ok(())) => {
                if self.buf.capacity() - self.buf.len() < HEAD_READ / 4 {
                    self.buf.reserve(HEAD_READ);
                }
                match pin!(self.stream.read_buf(&mut self.buf)).poll(cx) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        return Poll::Ready(Err(HeadEnd::Closed))
                    }
                    Poll::Ready(Ok(_)) => {
                        self.parked = false;
                        return Poll::Ready(Ok(()));
                    }
                    // Readiness was stale: a parked connection lets go of
                    // the room it just made.
                    Poll::Pending if self.parked && self.buf.is_empty() => {
                        self.buf = BytesMut::new();
                    }
                    Poll::Pending => {}
                }
            }
            Poll::Ready(Err(_)) => return Poll::Ready(Err(HeadEnd::Closed)),
            Poll::Pending => {}
        }
        if Pin::new(&mut clock.stop).poll(cx).is_ready() {
            return Poll::Ready(Err(HeadEnd::Stopped));
        }
        while clock.timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            let deadline = self.last
                + if self.buf.is_empty() {
                    self.wait
                } else {
                    self.header_timeout
                };
            if now >= deadline {
                return Poll::Ready(Err(HeadEnd::Late));
            }
            let park_at = self.last + PARK_AFTER;
            let next = if self.parked || !self.buf.is_empty() {
                deadline
            } else if now >= park_at {
                // Waited long enough: park (the caller lets go of the
                // buffers and of the busy period's state).
                clock.timer.as_mut().reset(deadline);
                return Poll::Ready(Err(HeadEnd::Park));
            } else {
                park_at.min(deadline)
            };
            clock.timer.as_mut().reset(next);
        }
        Poll::Pending
    }

    /// Ends a connection that sent no complete head: a late or refused
    /// head gets its status, then the socket closes.
    async fn end(&mut self, end: HeadEnd, peer: std::net::SocketAddr) {
        let status = match end {
            HeadEnd::Closed | HeadEnd::Stopped | HeadEnd::Park => return,
            HeadEnd::Late if self.buf.is_empty() => {
                tracing::debug!(%peer, "closing an idle connection");
                return;
            }
            HeadEnd::Late => {
                tracing::debug!(%peer, "no complete request head within header_read_timeout");
                StatusCode::REQUEST_TIMEOUT
            }
            HeadEnd::Refused(Refused(status, why)) => {
                tracing::debug!(%peer, why, "request head refused");
                status
            }
        };
        let resp = proxy::status(status);
        let cx = HeadContext {
            version: Version::HTTP_11,
            head: false,
            keep_alive: false,
            length: resp.body().size_hint().exact(),
        };
        let (parts, body) = resp.into_parts();
        let limit = self.header_timeout;
        let written = async {
            let framing = self.out.head(&parts, Beside::default(), &cx);
            self.write_body(body, framing, None, &[]).await?;
            self.stream.shutdown().await
        };
        // Best effort, and never longer than a head was allowed to take.
        let _ = tokio::time::timeout(limit, written).await;
    }

    /// Hands one request to the proxy and writes its answer.
    async fn exchange(&mut self, head: RequestHead) -> Next {
        let RequestHead {
            request,
            body: framing,
            keep_alive,
            expect_continue,
            upgrade,
            trailers,
        } = head;
        let version = request.version();
        let is_head = request.method() == http::Method::HEAD;
        let (mut feed, body) = match Feed::new(framing, expect_continue) {
            Some((feed, body)) => (Some(feed), Inbound::H1(body)),
            None => (None, Inbound::Empty),
        };
        let mut request = request.map(|()| body);
        let mut upgrade_tx = None;
        if upgrade {
            let (tx, rx) = oneshot::channel();
            request.extensions_mut().insert(OnUpgrade::new(rx));
            upgrade_tx = Some(tx);
        }

        // Polled where it is (no move into another future's state: it is
        // several KiB).
        let handler = proxy::handle(self.shared.clone(), self.info.clone(), request);
        let mut handler = pin!(handler);
        let mut watching = true;
        let answer = poll_fn(|cx| loop {
            if let Poll::Ready(Ok(resp)) = handler.as_mut().poll(cx) {
                return Poll::Ready(Some(resp));
            }
            if let Some(feed) = feed.as_mut().filter(|f| !f.finished()) {
                if feed.poll_feed(cx, &mut self.stream, &mut self.buf) {
                    continue;
                }
                return Poll::Pending;
            }
            if watching {
                // A closed connection reads as 0 bytes; bytes (a pipelined
                // request) end the watch.
                let mut probe = [0u8; 1];
                match self.stream.poll_peek(cx, &mut ReadBuf::new(&mut probe)) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(None),
                    Poll::Ready(Ok(_)) => watching = false,
                    Poll::Pending => {}
                }
            }
            return Poll::Pending;
        })
        .await;
        let Some(resp) = answer else {
            return Next::Gone;
        };
        let mut keep_alive = keep_alive && !upgrade && !self.is_stopping();
        if let Some(feed) = &mut feed {
            feed.answer_started();
            // Answered without reading the whole body (a 413, an early
            // refusal): unless its rest is already here, the connection
            // ends with this answer, and the answer says so.
            if feed.abandoned() && !feed.skip_buffered(&mut self.buf) {
                keep_alive = false;
            }
        }
        let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
        let cx = HeadContext {
            version,
            head: is_head,
            keep_alive,
            length: resp.body().size_hint().exact(),
        };
        let (parts, body) = resp.into_parts();
        let beside = Beside {
            raw: body.raw_fields(),
            request_id: body.request_id(),
        };
        let framing = self.out.head(&parts, beside, &cx);
        if switching {
            if let Some(tx) = upgrade_tx {
                if self.out.flush(&mut self.stream).await.is_err() {
                    return Next::Gone;
                }
                return Next::Upgrade(tx);
            }
        }
        let allowed = match (framing, trailers) {
            (Framing::Chunked, true) => head::announced_trailers(&parts.headers),
            _ => Vec::new(),
        };
        let written = self
            .write_body(body, framing, feed.as_mut(), &allowed)
            .await;
        self.last = Instant::now();
        if self.buf.is_empty() && self.buf.capacity() > KEEP_BUF {
            self.buf = BytesMut::new();
        }
        if let Err(e) = written {
            tracing::debug!(peer = %self.info.peer, error = %e, "answer not finished");
            return Next::Gone;
        }
        let body_read = feed.as_mut().is_none_or(|f| f.skip_buffered(&mut self.buf));
        if !body_read {
            Next::Linger
        } else if keep_alive && framing != Framing::Close {
            Next::Request
        } else {
            Next::Close
        }
    }

    /// Closes after an answer that left the request's body unread, as
    /// nginx's `lingering_close`: the answer is followed by a FIN, then
    /// whatever the client still sends is read and dropped until it
    /// closes, pauses [`LINGER_PAUSE`], [`LINGER_MAX`] has passed or
    /// shutdown begins. Closing at once with unread bytes would send a
    /// reset, and a client still sending its body could lose the answer
    /// (a 413, say) before reading it.
    async fn linger<F: Future<Output = ()>>(&mut self, stop: &mut Stopped<'_, F>) {
        if self.stream.shutdown().await.is_err() {
            return;
        }
        let end = Instant::now() + LINGER_MAX;
        loop {
            self.buf.clear();
            if self.buf.capacity() < HEAD_READ {
                self.buf.reserve(HEAD_READ);
            }
            let until = end.min(Instant::now() + LINGER_PAUSE);
            tokio::select! {
                read = tokio::time::timeout_at(until, self.stream.read_buf(&mut self.buf)) => {
                    if !matches!(read, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                }
                () = &mut *stop => return,
            }
        }
    }

    /// Writes an answer's body framed as its head said (the head is in
    /// `out` already), feeding the request body alongside, and flushes.
    async fn write_body<B>(
        &mut self,
        body: B,
        framing: Framing,
        mut feed: Option<&mut Feed>,
        allowed: &[http::HeaderName],
    ) -> io::Result<()>
    where
        B: HttpBody<Data = Bytes>,
        B::Error: Into<crate::body::BoxError>,
    {
        let mut body = pin!(body);
        if framing == Framing::None {
            return self.out.flush(&mut self.stream).await;
        }
        let mut left = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        let mut ended = false;
        poll_fn(|cx| loop {
            let mut progress = false;
            if let Some(feed) = feed.as_deref_mut() {
                progress |= feed.poll_feed(cx, &mut self.stream, &mut self.buf);
            }
            let mut waiting = false;
            while !ended && self.out.can_take() {
                let frame = match body.as_mut().poll_frame(cx) {
                    Poll::Pending => {
                        waiting = true;
                        break;
                    }
                    Poll::Ready(None) => {
                        if framing == Framing::Chunked {
                            self.out.last_chunk(None, allowed);
                        } else if left.is_some_and(|l| l != 0) {
                            return Poll::Ready(Err(io::Error::other(
                                "response body shorter than its content-length",
                            )));
                        }
                        ended = true;
                        break;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        let e: crate::body::BoxError = e.into();
                        return Poll::Ready(Err(io::Error::other(e)));
                    }
                    Poll::Ready(Some(Ok(frame))) => frame,
                };
                progress = true;
                match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) => {
                        if let Some(l) = &mut left {
                            let n = data.len() as u64;
                            if n > *l {
                                return Poll::Ready(Err(io::Error::other(
                                    "response body longer than its content-length",
                                )));
                            }
                            *l -= n;
                        }
                        self.out.data(data, framing == Framing::Chunked);
                    }
                    Err(frame) => {
                        if let (Ok(trailers), Framing::Chunked) = (frame.into_trailers(), framing) {
                            self.out.last_chunk(Some(&trailers), allowed);
                            ended = true;
                        }
                    }
                }
            }
            match self.out.poll_write(cx, &mut self.stream) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            if ended {
                return Poll::Ready(Ok(()));
            }
            if waiting && !progress {
                return Poll::Pending;
            }
        })
        .await
    }
}

/// An answer's bytes on their way out: framing and small frames copied
/// into `front` (and `back`, after `data`), one large frame written from
/// where it is, all in one vectored write.
#[derive(Debug, Default)]
struct Out {
    front: Vec<u8>,
    data: Bytes,
    back: Vec<u8>,
    /// Bytes of `front`, `data` and `back`, in that order, written so far.
    written: usize,
    /// The socket has been written to.
    wrote: bool,
    /// Nagle's algorithm is off on the socket (`TCP_NODELAY`).
    nodelay: bool,
}

impl Out {
    /// Writes the head of `parts` (and the fields `beside` its map) into
    /// `front`; returns the body's framing.
    fn head(
        &mut self,
        parts: &http::response::Parts,
        beside: Beside<'_>,
        cx: &HeadContext,
    ) -> Framing {
        let reason = parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| r.as_bytes());
        if self.front.capacity() == 0 {
            // Room for a usual head at once, not grown from nothing in
            // steps (the first answer of a busy period).
            self.front.reserve(HEAD_ROOM);
        }
        head::encode_head(
            &mut self.front,
            parts.status,
            reason,
            &parts.headers,
            beside,
            cx,
        )
    }

    fn pending(&self) -> usize {
        self.front.len() + self.data.len() + self.back.len() - self.written
    }

    /// Whether another frame may be added before a write.
    fn can_take(&self) -> bool {
        self.pending() < 64 * 1024
    }

    /// Adds a data frame (chunk-framed when `chunked`).
    fn data(&mut self, data: Bytes, chunked: bool) {
        let large = data.len() > COPY_MAX && self.data.is_empty() && self.back.is_empty();
        let into = if self.data.is_empty() && self.back.is_empty() {
            &mut self.front
        } else {
            &mut self.back
        };
        if chunked {
            head::encode_chunk_size(into, data.len());
        }
        if large {
            self.data = data;
            if chunked {
                self.back.extend_from_slice(b"\r\n");
            }
        } else {
            into.extend_from_slice(&data);
            if chunked {
                into.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Adds the last chunk and the allowed trailer fields.
    fn last_chunk(&mut self, trailers: Option<&http::HeaderMap>, allowed: &[http::HeaderName]) {
        let into = if self.data.is_empty() && self.back.is_empty() {
            &mut self.front
        } else {
            &mut self.back
        };
        head::encode_last_chunk(into, trailers, allowed);
    }

    /// Lets go of the buffers (a parked connection); what it knows of the
    /// socket stays.
    fn release(&mut self) {
        *self = Out {
            wrote: self.wrote,
            nodelay: self.nodelay,
            ..Out::default()
        };
    }

    /// Writes what is pending; ready once all of it is written.
    ///
    /// Nagle's algorithm is turned off before the socket's second write,
    /// as nginx does: the first write of a connection never waits for an
    /// acknowledgement (nothing is in flight), so a connection answered in
    /// one write, as most `Connection: close` ones are, spares the system
    /// call.
    fn poll_write(&mut self, cx: &mut Context<'_>, stream: &mut TcpStream) -> Poll<io::Result<()>> {
        while self.pending() > 0 {
            if self.wrote && !self.nodelay {
                let _ = stream.set_nodelay(true);
                self.nodelay = true;
            }
            let mut at = self.written;
            let mut parts = [IoSlice::new(&[]); 3];
            let mut n = 0;
            for part in [&self.front[..], &self.data[..], &self.back[..]] {
                if at >= part.len() {
                    at -= part.len();
                    continue;
                }
                parts[n] = IoSlice::new(&part[at..]);
                at = 0;
                n += 1;
            }
            match Pin::new(&mut *stream).poll_write_vectored(cx, &parts[..n]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(k)) => {
                    self.written += k;
                    self.wrote = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.front.clear();
        self.data = Bytes::new();
        self.back.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    async fn flush(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        poll_fn(|cx| self.poll_write(cx, stream)).await
    }
}
