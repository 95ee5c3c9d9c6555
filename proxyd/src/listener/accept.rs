//! Accept loops and per-connection serving.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::{service_fn, Service};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::stop::Stopped;
use super::{h1, idle, Kind};
use crate::body::Inbound;
use crate::proxy::access::ClientBody;
use crate::proxy::framing::Verdicts;
use crate::proxy::{self, ConnInfo};
use crate::shutdown::DrainGuard;
use crate::state::Shared;

/// Resolves once `rx` holds `true` or its sender is gone.
pub(super) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Accepts until this listener is stopped or the daemon shuts down. At most
/// `max_connections` connections are open at once; beyond that, new ones
/// wait in the kernel's backlog.
pub(super) async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
    kind: Kind,
    mut stop: watch::Receiver<bool>,
    active: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    // Both watches live across the loop, registered once: a watch polled
    // afresh per accepted connection took two locks each time.
    let probes = (stop.clone(), shutdown.clone());
    let stop = pin!(stopped(&mut stop));
    let shutdown = pin!(stopped(&mut shutdown));
    let mut stop = Stopped::new(probes.0, stop);
    let mut shutdown = Stopped::new(probes.1, shutdown);
    loop {
        // A free permit is taken at once; the waits below are `biased`,
        // stop first: once stopped, a connection that is also ready is
        // left to the loop that replaces this one (a reload that switched
        // the address's kind waits for this loop to end).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = &mut shutdown => break,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%addr, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if kind == Kind::Tcp {
            let conn = Conn {
                _permit: permit,
                _active: ActiveGuard::new(active.clone()),
                _drain: shared.shutdown.guard(),
            };
            tokio::spawn(crate::tcp::serve(shared.clone(), stream, addr, peer, conn));
            continue;
        }
        let conn = Conn {
            _permit: permit,
            _active: ActiveGuard::new(active.clone()),
            _drain: shared.shutdown.guard(),
        };
        if kind == Kind::Https {
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Some((tls, sni)) = crate::tls::accept(&shared, addr, stream).await {
                    let info = ConnInfo::new(addr, peer, true, sni);
                    serve_http(shared, tls, info, conn).await;
                }
            });
            continue;
        }
        let info = ConnInfo::new(addr, peer, false, None);
        // Boxed once here: `spawn` hands the future down by value through
        // several calls, and each moved the whole (1 KiB) task state.
        tokio::spawn(Box::pin(h1::serve(shared.clone(), stream, info, conn)));
    }
    tracing::debug!(%addr, "stopped accepting");
}

/// Counts a connection as active for as long as it lives.
pub(super) struct ActiveGuard(Arc<AtomicU64>);

impl ActiveGuard {
    fn new(active: Arc<AtomicU64>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(active)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What an accepted connection holds until it closes: its slot under
/// `max_connections`, its place in the listener's active count, and its
/// place in the shutdown drain. Its fields are only ever dropped.
pub(super) struct Conn {
    _permit: OwnedSemaphorePermit,
    _active: ActiveGuard,
    _drain: DrainGuard,
}

/// The `[defaults]` limits a connection reads at accept: the request head
/// arrives before its site is known.
pub(super) struct Limits {
    pub header_timeout: Duration,
    pub max_header: usize,
    pub idle_timeout: Duration,
}

impl Limits {
    pub fn from_defaults(shared: &Shared) -> Self {
        let snap = shared.snapshot.load();
        let d = &snap.config.defaults;
        Limits {
            header_timeout: d.header_read_timeout,
            max_header: d.max_header_size,
            idle_timeout: d.idle_timeout,
        }
    }
}

/// A connection's request handler as hyper needs it (TLS and HTTP/2
/// connections), its future named so its `Send + 'static` bounds are seen.
pub(super) trait Handler:
    Service<
        http::Request<Incoming>,
        Response = http::Response<idle::Tracked<ClientBody>>,
        Error = Infallible,
        Future = <Self as Handler>::Fut,
    > + Send
    + Unpin
    + 'static
{
    /// The future of one request.
    type Fut: Future<Output = Result<http::Response<idle::Tracked<ClientBody>>, Infallible>>
        + Send
        + 'static;
}

impl<S, F> Handler for S
where
    S: Service<
            http::Request<Incoming>,
            Response = http::Response<idle::Tracked<ClientBody>>,
            Error = Infallible,
            Future = F,
        > + Send
        + Unpin
        + 'static,
    F: Future<Output = Result<http::Response<idle::Tracked<ClientBody>>, Infallible>>
        + Send
        + 'static,
{
    type Fut = F;
}

/// The service of one connection: marks each request from the framing
/// watch, tracks it in `activity` until its response body ends, and hands
/// it to the proxy.
pub(super) fn service(
    shared: Arc<Shared>,
    info: Arc<ConnInfo>,
    framing: Arc<Verdicts>,
    activity: idle::Activity,
) -> impl Handler + Clone {
    service_fn(move |mut req: http::Request<Incoming>| {
        if framing.next_is_ambiguous() {
            req.extensions_mut().insert(proxy::framing::Ambiguous);
        }
        let busy = activity.begin();
        let req = req.map(Inbound::Hyper);
        idle::Tracking::new(proxy::handle(shared.clone(), info.clone(), req), busy)
    })
}

/// Serves HTTP/1.1 and HTTP/2 on an accepted stream (TLS after the
/// handshake, or plain TCP that opened with the HTTP/2 preface) until the
/// client closes or shutdown drains it. Plain HTTP/1.1 goes to
/// [`h1::serve`] instead.
pub(super) async fn serve_http<I>(shared: Arc<Shared>, io: I, info: ConnInfo, conn: Conn)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _conn = conn;
    let Limits {
        header_timeout,
        max_header,
        idle_timeout,
    } = Limits::from_defaults(&shared);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(max_header.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(max_header).unwrap_or(u32::MAX));

    let peer = info.peer;
    let (io, framing) = proxy::framing::Sniffed::new(io);
    let activity = idle::Activity::default();
    let svc = service(shared.clone(), Arc::new(info), framing, activity.clone());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut shutdown = shared.shutdown.subscribe();
    let probe = shutdown.clone();
    let stop = stopped(&mut shutdown);
    tokio::pin!(stop);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = Stopped::new(probe, stop) => {
            // Finish the request in flight, then close (keep-alive ends).
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
        _ = activity.idle_for(idle_timeout) => {
            // No request for `idle_timeout`: close (HTTP/2: GOAWAY).
            tracing::debug!(%peer, "closing an idle connection");
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
