//! Parking idle HTTP/1.1 keep-alive connections: between two requests a
//! plain-HTTP connection holds its socket and little else.
//!
//! hyper keeps a connection's read buffer (8 KiB and more), write buffer and
//! dispatcher state for as long as the connection lives, and a keep-alive
//! connection spends most of its life idle. As nginx does, a plain HTTP/1.1
//! connection drops all of that once it has been idle for [`PARK_AFTER`].
//! A *round* is one hyper connection on the socket. When the round has
//! served at least one request, has had none in flight for `PARK_AFTER`,
//! and its last read found no next request, hyper is told to finish (a
//! graceful shutdown of an idle connection ends it at once, and a response
//! still being flushed is finished first). The socket comes back through
//! [`ParkIo`], whose `poll_shutdown` does nothing while parking, so the
//! client sees no FIN. The connection then waits for readability holding
//! only the socket, the framing watch and its service. The next bytes start
//! a new round. Bytes hyper had read but not yet parsed (a pipelined or
//! partial request) are handed to the new round first, so nothing the
//! client sent is lost.
//!
//! Why not park after every response, as nginx frees its buffers: a new
//! round costs about half as much as a request (hyper's connection state,
//! including a slot for the request's future, is built again), and a busy
//! keep-alive connection would pay it every time, since its next request
//! is rarely in the socket when the last response leaves. 50 ms is far
//! above the gap between requests of a busy client and far below the idle
//! time of a browser's or a pool's spare connection. The park timer is
//! lazy: it is armed once per round and looks again only when it fires, so
//! a busy connection pays one timer wake-up per `PARK_AFTER` (measured: no
//! change in instructions per request under load). Parking promptly also
//! matters because freed memory is not given back to the system: what the
//! connections of a burst hold at the same moment stays resident, so the
//! delay bounds memory to the connections of the last 50 ms.
//!
//! A round whose last request came with a body does not park: its response
//! can end before the body has been read (an upstream that answers early),
//! and a round cut then would hand the body's remaining bytes to the next
//! round as if they were a request; hyper, left alone, reads the body to its
//! end or closes the connection. (Knowing when the request body ends would
//! lift this; such a connection parks again after a bodiless request.)
//!
//! While parked, the connection is closed at `idle_timeout` after its last
//! request ended, or `header_read_timeout` if shorter.
//!
//! `header_read_timeout` is kept here, not by hyper: hyper's timer is a
//! fresh boxed `Sleep` registered in tokio's timer wheel and removed again
//! for every request (about 1,500 instructions per request, 5% of all).
//! The round's lazy park timer looks anyway at least every [`PARK_AFTER`]
//! while the connection is not parked; when it finds no request in flight
//! and none started for `header_read_timeout` since the last one ended (or
//! the round began), the head being waited for is late and the connection
//! is closed, as hyper did (so the cut comes up to 50 ms late). That covers
//! a head trickled byte by byte, a connection that sends nothing, and the
//! wait for the next request of a round that cannot park. One case differs
//! from hyper's timer: a client still uploading a body after the upstream
//! answered early and its response ended counts as idle here, so such an
//! upload is cut `header_read_timeout` after the response ended.
//!
//! Only plain TCP parks: a TLS session keeps rustls' buffers anyway, and an
//! HTTP/2 (prior knowledge) connection multiplexes; both are served by
//! `accept::serve_http` for their whole life.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::accept::{self, stopped, Conn};
use super::idle::Activity;
use super::stop::Stopped;
use crate::proxy::framing::Sniffed;
use crate::proxy::ConnInfo;
use crate::state::Shared;

/// How long a connection has had no request in flight before it parks.
pub(super) const PARK_AFTER: Duration = Duration::from_millis(50);

/// The start of the HTTP/2 connection preface (prior knowledge).
const H2_PREFIX: &[u8] = b"PRI ";

/// Serves a plain-TCP HTTP connection, parking it between requests. A
/// connection whose first bytes may be the HTTP/2 preface is handed to
/// [`accept::serve_http`] instead.
pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, info: ConnInfo, conn: Conn) {
    let limits = accept::Limits::from_defaults(&shared);
    let mut shutdown = shared.shutdown.subscribe();
    let wait = limits.idle_timeout.min(limits.header_timeout);

    // The first bytes decide between HTTP/1.1 (parked) and HTTP/2.
    let mut first = [0u8; H2_PREFIX.len()];
    let peeked = tokio::select! {
        r = stream.peek(&mut first) => r,
        _ = tokio::time::sleep(wait) => return,
        _ = stopped(&mut shutdown) => return,
    };
    let n = match peeked {
        Ok(0) | Err(_) => return,
        Ok(n) => n,
    };
    if H2_PREFIX.starts_with(&first[..n]) {
        // Boxed: hyper's HTTP/2 connection would make every parked
        // connection's task as large as itself.
        return Box::pin(accept::serve_http(shared, stream, info, conn)).await;
    }

    let _conn = conn;
    let peer = info.peer;
    let (sniffed, framing) = Sniffed::new(stream);
    let activity = Activity::default();
    let mut svc = accept::service(shared, Arc::new(info), framing, activity.clone());
    let mut io = ParkIo {
        prefix: Bytes::new(),
        inner: sniffed,
        flags: Arc::default(),
    };
    let mut h1 = http1::Builder::new();
    // `header_read_timeout` is the round's (module docs), not hyper's.
    h1.timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(limits.max_header.max(8192))
        .keep_alive(true);

    loop {
        // Boxed, so that a parked connection's task holds a pointer's worth
        // of round state, not hyper's whole connection.
        let round = Box::pin(round(
            &h1,
            io,
            svc,
            &activity,
            &mut shutdown,
            peer,
            limits.header_timeout,
        ))
        .await;
        let Some((back, service)) = round else {
            return;
        };
        (io, svc) = (back, service);
        if !io.prefix.is_empty() {
            // Part of the next request is already here: no wait.
            continue;
        }
        let deadline = activity.last() + wait;
        tokio::select! {
            r = io.inner.get_ref().readable() => if r.is_err() { return },
            _ = tokio::time::sleep_until(deadline) => {
                tracing::debug!(%peer, "closing an idle connection");
                return;
            }
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Why a round ended other than by parking.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Hyper(#[from] hyper::Error),
    #[error("no complete request head within header_read_timeout")]
    HeaderTimeout,
}

/// One hyper connection on the socket. `Some` when it parked: the socket
/// (with the bytes read but not parsed as its prefix) and the service, for
/// the next round; `None` when the connection is over.
async fn round<S>(
    h1: &http1::Builder,
    io: ParkIo,
    svc: S,
    activity: &Activity,
    shutdown: &mut watch::Receiver<bool>,
    peer: std::net::SocketAddr,
    header_timeout: Duration,
) -> Option<(ParkIo, S)>
where
    S: accept::Handler,
{
    let flags = io.flags.clone();
    flags.parking.store(false, Ordering::Relaxed);
    flags.read_blocked.store(false, Ordering::Relaxed);
    let mut conn = h1.serve_connection(TokioIo::new(io), svc).with_upgrades();
    let timer = tokio::time::sleep(PARK_AFTER);
    tokio::pin!(timer);
    let drive = Drive {
        conn: &mut conn,
        flags: &flags,
        activity,
        requests_before: activity.started(),
        timer,
        began: Instant::now(),
        header_timeout,
    };
    let probe = shutdown.clone();
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    let stop = Stopped::new(probe, stop);
    tokio::select! {
        res = drive => {
            if let Err(e) = res {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
                return None;
            }
        }
        _ = stop => {
            // Finish the request in flight, then close.
            flags.parking.store(false, Ordering::Relaxed);
            Pin::new(&mut conn).graceful_shutdown();
            let _ = conn.await;
            return None;
        }
    }
    if !flags.parking.load(Ordering::Relaxed) {
        return None;
    }
    // `None` here means the connection was upgraded: the upgrade owns it.
    let parts = conn.into_parts()?;
    let mut io = parts.io.into_inner();
    // A copy: `read_buf` shares hyper's whole read buffer (8 KiB and up),
    // which a parked connection must not keep alive.
    io.prefix = if parts.read_buf.is_empty() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(&parts.read_buf)
    };
    Some((io, parts.service))
}

/// Polls a round's hyper connection, and starts parking it once it has
/// been idle for [`PARK_AFTER`].
struct Drive<'a, C> {
    conn: &'a mut C,
    flags: &'a Flags,
    activity: &'a Activity,
    /// Requests the connection had started before this round.
    requests_before: u64,
    /// When to look at the connection's activity next.
    timer: Pin<&'a mut Sleep>,
    /// When the round began.
    began: Instant,
    /// A request head must be complete this long after the last request
    /// ended or the round began.
    header_timeout: Duration,
}

/// What [`Drive`] needs of hyper's connection.
trait Parkable: Future<Output = hyper::Result<()>> + Unpin {
    fn graceful_shutdown(&mut self);
}

impl<S> Parkable for http1::UpgradeableConnection<TokioIo<ParkIo>, S>
where
    S: accept::Handler,
{
    fn graceful_shutdown(&mut self) {
        Pin::new(self).graceful_shutdown();
    }
}

impl<C: Parkable> Drive<'_, C> {
    /// Whether the request head being waited for is late: nothing in
    /// flight, and `header_timeout` passed since the last request ended or
    /// the round began (module docs).
    fn head_late(&self, now: Instant) -> bool {
        self.activity.in_flight() == 0
            && now >= self.activity.last().max(self.began) + self.header_timeout
    }

    /// When the connection may park, or `None` if it may now.
    fn park_at(&self, now: Instant) -> Option<Instant> {
        let waiting = self.flags.read_blocked.load(Ordering::Relaxed)
            && self.activity.in_flight() == 0
            && self.activity.started() != self.requests_before
            && !self.activity.last_had_body();
        if !waiting {
            // Busy, or no request yet in this round (hyper's header timer
            // rules then): look again later.
            return Some(now + PARK_AFTER);
        }
        let due = self.activity.last() + PARK_AFTER;
        (due > now).then_some(due)
    }
}

impl<C: Parkable> Future for Drive<'_, C> {
    type Output = Result<(), RoundError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let polled = Pin::new(&mut *self.conn).poll(cx);
            if polled.is_ready() || self.flags.parking.load(Ordering::Relaxed) {
                return polled.map_err(RoundError::from);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.head_late(now) {
                return Poll::Ready(Err(RoundError::HeaderTimeout));
            }
            match self.park_at(now) {
                Some(at) => {
                    self.timer.as_mut().reset(at);
                    // Registers the waker for the new deadline.
                    if self.timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                None => {
                    // Finish the round (at once, unless a response is
                    // still being flushed) and poll again so hyper sees it.
                    self.flags.parking.store(true, Ordering::Relaxed);
                    self.conn.graceful_shutdown();
                }
            }
        }
    }
}

/// State shared between a connection's [`ParkIo`] and its serving loop.
#[derive(Debug, Default)]
struct Flags {
    /// The last read from the socket found nothing (would block).
    read_blocked: AtomicBool,
    /// The round is ending to park: shutting the socket down does nothing.
    parking: AtomicBool,
}

/// The socket as hyper sees it: bytes of an earlier round first, then the
/// framing-watched stream.
#[derive(Debug)]
struct ParkIo {
    /// Read by an earlier round but not parsed.
    prefix: Bytes,
    inner: Sniffed<TcpStream>,
    flags: Arc<Flags>,
}

impl AsyncRead for ParkIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.flags
            .read_blocked
            .store(polled.is_pending(), Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for ParkIo {
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
        let this = self.get_mut();
        if this.flags.parking.load(Ordering::Relaxed) {
            // hyper ends an idle round like a closed connection; the socket
            // stays open for the next round.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
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
