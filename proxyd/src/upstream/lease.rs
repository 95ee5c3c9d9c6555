//! A response body from an upstream server that carries its connection:
//! it reads the body off the connection as the client's side asks for it,
//! and the connection goes back to the server's pool the moment the body
//! is known to be complete (and the connection reusable), or is closed if
//! the body ends any other way.
//!
//! "Complete" means the body yielded its end (or reports it has none left,
//! which is how hyper's server stops polling a sized body after its last
//! byte) without an error. A connection is reusable when both sides said
//! keep-alive, the response was delimited by its length or chunking, the
//! request body was sent in full and the server sent nothing past its
//! response. A body dropped early or failed closes the connection.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};

use super::conn::{Conn, Error, Pump, Upgraded};
use super::wire::{Chunked, Decoded, Fields, Framing, Invalid};
use super::ServerState;

/// Bytes asked of the socket per read of a body: at least the first, at
/// most the second (a large body is read in large pieces).
const READ_MIN: usize = 8 * 1024;
const READ_MAX: usize = 64 * 1024;

#[derive(Debug)]
enum State {
    /// No body.
    Empty,
    /// This many bytes left.
    Length(u64),
    Chunked(Chunked),
    /// Until the server closes.
    Close,
    /// After `101`: the connection is for [`UpstreamBody::into_upgraded`].
    Upgrade,
    /// Read to the end.
    Done,
}

/// An upstream response body holding its connection until it ends; see the
/// module docs.
#[derive(Debug)]
pub struct UpstreamBody {
    conn: Option<Box<Conn>>,
    state: State,
    /// The rest of the request body, when the server answered before it
    /// was all sent.
    pump: Option<Box<Pump>>,
    /// Whether the connection may carry another exchange once this ends.
    reusable: bool,
    /// The server whose `active` count this exchange holds and whose pool
    /// takes the connection back.
    server: Option<Arc<ServerState>>,
    /// The response's header fields are still only in the connection
    /// ([`UpstreamBody::raw_fields`]), not in the response's header map.
    raw: bool,
}

/// What `poll_frame` does after looking at the buffer.
enum Step {
    Frame(Frame<Bytes>),
    End,
    Fail(Error),
    Read(usize),
}

impl UpstreamBody {
    pub(super) fn new(
        conn: Box<Conn>,
        framing: Framing,
        pump: Option<Box<Pump>>,
        reusable: bool,
    ) -> Self {
        let state = match framing {
            Framing::Empty => State::Empty,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunked::default()),
            Framing::Close => State::Close,
            Framing::Upgrade => State::Upgrade,
        };
        UpstreamBody {
            conn: Some(conn),
            state,
            pump,
            reusable,
            server: None,
            raw: true,
        }
    }

    /// The response's header fields as the upstream sent them, until
    /// [`UpstreamBody::fields_into`] moved them into the header map. They
    /// live in the connection, which this body holds until it is first
    /// polled: a server writes the response head before the body.
    pub fn raw_fields(&self) -> Option<&Fields> {
        self.conn.as_ref().filter(|_| self.raw).map(|c| &c.fields)
    }

    /// Moves the response's header fields into `headers` (once; nothing
    /// after that).
    pub fn fields_into(&mut self, headers: &mut HeaderMap) -> Result<(), Invalid> {
        if let Some(f) = self.raw_fields() {
            f.insert_into(headers)?;
        }
        self.raw = false;
        Ok(())
    }

    /// Ties the exchange to `server`, already counted in its `active`: the
    /// count drops when the body ends, and a reusable connection goes back
    /// to the server's pool.
    pub fn lease(mut self, server: Arc<ServerState>) -> Self {
        self.server = Some(server);
        self
    }

    /// After `101 Switching Protocols`: the connection, for the new protocol.
    pub fn into_upgraded(mut self) -> Option<Upgraded> {
        if !matches!(self.state, State::Upgrade) {
            return None;
        }
        let conn = self.conn.take()?;
        self.release_count();
        Some(conn.into_upgraded())
    }

    fn release_count(&mut self) {
        if let Some(server) = &self.server {
            server.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The exchange completed: the connection goes back to the pool if it
    /// can carry another one.
    fn finish(&mut self) {
        self.state = State::Done;
        let Some(conn) = self.conn.take() else {
            return;
        };
        self.release_count();
        if self.reusable && self.pump.is_none() && conn.buf.is_empty() {
            if let Some(server) = &self.server {
                server.pool.checkin(conn);
            }
        }
    }

    /// The exchange did not complete: the connection is dropped (closed).
    fn abandon(&mut self) {
        if self.conn.take().is_some() {
            self.release_count();
        }
    }

    /// Looks at what is buffered: a frame, the end, or how much to read.
    fn step(&mut self, conn: &mut Conn) -> Step {
        match &mut self.state {
            State::Empty | State::Done | State::Length(0) | State::Upgrade => Step::End,
            State::Length(left) => {
                if conn.buf.is_empty() {
                    let want = usize::try_from(*left).unwrap_or(READ_MAX);
                    return Step::Read(want.clamp(READ_MIN, READ_MAX));
                }
                let n = usize::try_from(*left).map_or(conn.buf.len(), |l| l.min(conn.buf.len()));
                *left -= n as u64;
                Step::Frame(Frame::data(conn.buf.split_to(n).freeze()))
            }
            State::Chunked(dec) => match dec.decode(&mut conn.buf) {
                Ok(Decoded::Data(d)) => Step::Frame(Frame::data(d)),
                Ok(Decoded::Trailers(t)) => Step::Frame(Frame::trailers(t)),
                Ok(Decoded::End) => Step::End,
                Ok(Decoded::NeedMore) => Step::Read(READ_MIN),
                Err(e) => Step::Fail(e.into()),
            },
            State::Close => {
                if conn.buf.is_empty() {
                    return Step::Read(READ_MAX);
                }
                let all = conn.buf.len();
                Step::Frame(Frame::data(conn.buf.split_to(all).freeze()))
            }
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if self.conn.is_some() && !matches!(self.state, State::Upgrade) && self.is_end_stream() {
            self.finish();
        } else {
            self.abandon();
        }
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        let Some(mut conn) = this.conn.take() else {
            return Poll::Ready(None);
        };
        match Pump::drive(&mut this.pump, &mut conn.io, cx) {
            // The server stopped reading: its answer still counts.
            Ok(broke) => this.reusable &= !broke,
            Err(e) => {
                this.conn = Some(conn);
                this.abandon();
                return Poll::Ready(Some(Err(e)));
            }
        }
        let step = loop {
            let want = match this.step(&mut conn) {
                Step::Read(want) => want,
                other => break other,
            };
            match conn.poll_fill(cx, want) {
                Poll::Ready(Ok(0)) if matches!(this.state, State::Close) => {
                    this.reusable = false;
                    break Step::End;
                }
                Poll::Ready(Ok(0)) => break Step::Fail(Error::Closed),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => break Step::Fail(Error::Io(e)),
                Poll::Pending => {
                    this.conn = Some(conn);
                    return Poll::Pending;
                }
            }
        };
        this.conn = Some(conn);
        match step {
            Step::Frame(f) => Poll::Ready(Some(Ok(f))),
            Step::End => {
                if !matches!(this.state, State::Upgrade) {
                    this.finish();
                }
                Poll::Ready(None)
            }
            Step::Fail(e) => {
                this.abandon();
                Poll::Ready(Some(Err(e)))
            }
            Step::Read(_) => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Empty | State::Done | State::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Empty | State::Done | State::Upgrade => SizeHint::with_exact(0),
            State::Length(n) => SizeHint::with_exact(n),
            State::Chunked(_) | State::Close => SizeHint::default(),
        }
    }
}
