//! Large bodies without large buffers: a deterministic byte pattern that is
//! generated chunk by chunk ([`PatternBody`]) and checked chunk by chunk
//! ([`PatternCheck`]). Byte `i` of a pattern body is `i % 251`; 251 is prime,
//! so a dropped, duplicated or reordered chunk shows as a mismatch.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

const CHUNK: u64 = 64 * 1024;

/// The pattern byte at `offset`.
pub fn pattern_byte(offset: u64) -> u8 {
    u8::try_from(offset % 251).expect("invariant: < 251")
}

/// A body of `len` pattern bytes, produced in 64 KiB chunks on demand.
#[derive(Debug, Clone)]
pub struct PatternBody {
    len: u64,
    pos: u64,
    announce_len: bool,
}

impl PatternBody {
    /// `len` bytes; the size is announced, so hyper sends `Content-Length`.
    pub fn sized(len: u64) -> Self {
        Self {
            len,
            pos: 0,
            announce_len: true,
        }
    }

    /// `len` bytes with no size hint, so hyper sends it chunked.
    pub fn chunked(len: u64) -> Self {
        Self {
            len,
            pos: 0,
            announce_len: false,
        }
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.pos >= self.len {
            return Poll::Ready(None);
        }
        let end = (self.pos + CHUNK).min(self.len);
        let chunk: Vec<u8> = (self.pos..end).map(pattern_byte).collect();
        self.pos = end;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.len
    }

    fn size_hint(&self) -> SizeHint {
        if self.announce_len {
            SizeHint::with_exact(self.len - self.pos)
        } else {
            SizeHint::default()
        }
    }
}

/// Checks a stream of chunks against the pattern without keeping them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PatternCheck {
    /// Bytes seen so far.
    pub len: u64,
    /// Offset of the first byte that did not match, if any.
    pub first_mismatch: Option<u64>,
}

impl PatternCheck {
    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        if self.first_mismatch.is_none() {
            if let Some(i) = chunk
                .iter()
                .enumerate()
                .position(|(i, b)| *b != pattern_byte(self.len + i as u64))
            {
                self.first_mismatch = Some(self.len + i as u64);
            }
        }
        self.len += chunk.len() as u64;
    }

    /// True when exactly `len` bytes matched the pattern.
    pub fn is_exactly(&self, len: u64) -> bool {
        self.len == len && self.first_mismatch.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn pattern_body_round_trips_through_the_check() {
        let mut body = PatternBody::chunked(200_000);
        let mut check = PatternCheck::default();
        while let Some(frame) = body.frame().await {
            check.update(frame.unwrap().data_ref().unwrap());
        }
        assert!(check.is_exactly(200_000), "{check:?}");
        let mut bad = PatternCheck::default();
        bad.update(&[0, 1, 2, 9]);
        assert_eq!(bad.first_mismatch, Some(3));
    }
}
