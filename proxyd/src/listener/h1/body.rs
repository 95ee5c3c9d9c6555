//! A request body on proxyd's HTTP/1.1 server, and the upgraded connection.
//!
//! The connection's task owns the socket and its read buffer; the body the
//! proxy gets ([`RequestBody`]) is the consuming end of a one-frame slot.
//! When the body is polled and the slot is empty it says so, and the
//! connection ([`Feed`]) decodes the next frame from its buffer, reading
//! the socket only then: nothing is read ahead of what the proxy asks for,
//! so a body the upstream reads slowly is held back by TCP, not buffered.
//! Both ends usually run in the same task (the proxy's future is polled by
//! the connection), and neither wakes the other then.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::head::BodyFraming;
use crate::prefixed::Prefixed;
use crate::upstream::wire::{Chunked, Decoded};

/// Room made in the read buffer for a body's bytes.
const BODY_READ: usize = 16 * 1024;

/// Why a request body could not be read whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyError {
    /// The client closed the connection before the body's end.
    #[error("the client closed the connection before the end of the request body")]
    Closed,
    /// The chunked coding was broken.
    #[error("invalid chunked request body: {0}")]
    Chunked(&'static str),
    /// Reading the socket failed.
    #[error("reading the request body: {0}")]
    Io(io::ErrorKind),
}

#[derive(Debug, Default)]
struct SlotState {
    /// A frame decoded and not yet taken.
    frame: Option<Result<Frame<Bytes>, BodyError>>,
    /// No frame follows `frame`.
    done: bool,
    /// The body was polled and found the slot empty.
    want: bool,
    /// The body's task, woken when a frame arrives.
    body_waker: Option<Waker>,
    /// The connection's task, woken when the body wants a frame.
    conn_waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slot(Mutex<SlotState>);

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A client's request body as proxyd's HTTP/1.1 server hands it to the
/// proxy (see the module docs).
#[derive(Debug)]
pub struct RequestBody {
    slot: Arc<Slot>,
    /// Bytes still to come, when `Content-Length` said.
    left: Option<u64>,
    ended: bool,
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let slot = self.slot.clone();
        let mut s = slot.lock();
        if let Some(frame) = s.frame.take() {
            if let (Some(left), Ok(Some(data))) =
                (&mut self.left, frame.as_ref().map(|f| f.data_ref()))
            {
                *left = left.saturating_sub(data.len() as u64);
            }
            return Poll::Ready(Some(frame));
        }
        if s.done {
            self.ended = true;
            return Poll::Ready(None);
        }
        s.want = true;
        if !s
            .body_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            s.body_waker = Some(cx.waker().clone());
        }
        if let Some(conn) = &s.conn_waker {
            if !conn.will_wake(cx.waker()) {
                conn.wake_by_ref();
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.left == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.left {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

enum Decoder {
    /// Bytes of a `Content-Length` body still to come.
    Length(u64),
    Chunked(Chunked),
}

/// The connection's end of a request body: decodes frames into the slot
/// when the body asks.
pub(super) struct Feed {
    slot: Arc<Slot>,
    decoder: Decoder,
    /// `Expect: 100-continue` and the interim answer not sent yet: it goes
    /// out when the body is first read, as long as no answer has started.
    send_continue: bool,
    /// The last frame (or an error) was delivered.
    finished: bool,
}

impl Feed {
    /// The two ends of a body framed as `framing` (`None` when it has none).
    pub(super) fn new(framing: BodyFraming, expect_continue: bool) -> Option<(Feed, RequestBody)> {
        let (decoder, left) = match framing {
            BodyFraming::Empty => return None,
            BodyFraming::Length(n) => (Decoder::Length(n), Some(n)),
            BodyFraming::Chunked => (Decoder::Chunked(Chunked::default()), None),
        };
        let slot = Arc::new(Slot::default());
        let body = RequestBody {
            slot: slot.clone(),
            left,
            ended: false,
        };
        let feed = Feed {
            slot,
            decoder,
            send_continue: expect_continue,
            finished: false,
        };
        Some((feed, body))
    }

    /// Whether the body's last frame was delivered.
    pub(super) fn finished(&self) -> bool {
        self.finished
    }

    /// The answer has started: a `100 Continue` may no longer be sent.
    pub(super) fn answer_started(&mut self) {
        self.send_continue = false;
    }

    /// The next frame out of `buf`, `None` when more bytes are needed.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<(Frame<Bytes>, bool)>, BodyError> {
        match &mut self.decoder {
            Decoder::Length(left) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = usize::try_from(*left).map_or(buf.len(), |l| l.min(buf.len()));
                *left -= n as u64;
                Ok(Some((Frame::data(buf.split_to(n).freeze()), *left == 0)))
            }
            Decoder::Chunked(chunked) => loop {
                match chunked.decode(buf).map_err(|e| BodyError::Chunked(e.0))? {
                    Decoded::Data(d) if d.is_empty() => continue,
                    Decoded::Data(d) => return Ok(Some((Frame::data(d), false))),
                    Decoded::Trailers(t) => return Ok(Some((Frame::trailers(t), true))),
                    Decoded::End => return Ok(Some((Frame::data(Bytes::new()), true))),
                    Decoded::NeedMore => return Ok(None),
                }
            },
        }
    }

    /// Delivers the next frame if the body asked for one, reading the
    /// socket as needed. `true` when a frame (or the end) was delivered.
    pub(super) fn poll_feed(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut TcpStream,
        buf: &mut BytesMut,
    ) -> bool {
        if self.finished {
            return false;
        }
        {
            let mut s = self.slot.lock();
            if !s
                .conn_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                s.conn_waker = Some(cx.waker().clone());
            }
            // The body is gone (nobody will ask) or has a frame to take.
            if self.abandoned() || !s.want || s.frame.is_some() {
                return false;
            }
        }
        loop {
            let delivered = match self.decode(buf) {
                Ok(Some((frame, last))) => {
                    let frame = match frame.into_data() {
                        Ok(d) if d.is_empty() => None,
                        Ok(d) => Some(Frame::data(d)),
                        Err(frame) => Some(frame),
                    };
                    self.deliver(frame.map(Ok), last);
                    return true;
                }
                Ok(None) => None,
                Err(e) => Some(e),
            };
            if let Some(e) = delivered {
                self.deliver(Some(Err(e)), true);
                return true;
            }
            if self.send_continue {
                // Tiny, and the socket's send buffer is empty now (no answer
                // started): a short write is as good as a failure.
                const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
                self.send_continue = false;
                // The answer follows this write: Nagle off (see
                // `Out::poll_write`).
                let _ = stream.set_nodelay(true);
                if !matches!(stream.try_write(CONTINUE), Ok(n) if n == CONTINUE.len()) {
                    self.deliver(Some(Err(BodyError::Io(io::ErrorKind::WriteZero))), true);
                    return true;
                }
            }
            if buf.capacity() - buf.len() < BODY_READ / 4 {
                buf.reserve(BODY_READ);
            }
            match pin!(stream.read_buf(buf)).poll(cx) {
                Poll::Pending => return false,
                Poll::Ready(Ok(0)) => {
                    self.deliver(Some(Err(BodyError::Closed)), true);
                    return true;
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.deliver(Some(Err(BodyError::Io(e.kind()))), true);
                    return true;
                }
            }
        }
    }

    fn deliver(&mut self, frame: Option<Result<Frame<Bytes>, BodyError>>, last: bool) {
        self.finished = last;
        let waker = {
            let mut s = self.slot.lock();
            s.want = false;
            s.frame = frame;
            s.done = last;
            s.body_waker.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the proxy dropped the body: nothing more of it will be read.
    pub(super) fn abandoned(&self) -> bool {
        Arc::strong_count(&self.slot) == 1
    }

    /// After the answer: reads the rest of the body out of `buf` without
    /// touching the socket. `true` when the body's end was found there, so
    /// the connection can carry the next request.
    pub(super) fn skip_buffered(&mut self, buf: &mut BytesMut) -> bool {
        while !self.finished {
            match self.decode(buf) {
                Ok(Some((_, last))) => self.finished = last,
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }
}

/// A client connection after `101 Switching Protocols`, for the upgrade's
/// splice: the bytes read past the request head first, then the socket.
pub type Upgraded = Prefixed<TcpStream>;

/// The upgraded connection, once the server has written the 101. A
/// request extension (hence `Clone`; the first to wait gets it).
#[derive(Debug, Clone)]
pub struct OnUpgrade(Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>);

impl OnUpgrade {
    pub(super) fn new(rx: oneshot::Receiver<Upgraded>) -> Self {
        OnUpgrade(Arc::new(Mutex::new(Some(rx))))
    }

    /// Waits for the 101 to be written; fails when the connection ended
    /// without it.
    pub async fn wait(self) -> io::Result<Upgraded> {
        let rx = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let gone = || io::Error::other("the connection ended before the upgrade");
        rx.ok_or_else(gone)?.await.map_err(|_| gone())
    }
}
