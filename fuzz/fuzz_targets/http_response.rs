//! Fuzz target: what an upstream's answer goes through in proxyd's HTTP/1.1
//! client (`upstream::wire`). The bytes are fed in uneven slices (the first
//! byte picks the size) as they would arrive from a socket: response heads
//! parsed (informational ones skipped, as the client does), the framing
//! decided, a chunked body decoded with its trailers. The same bytes fed
//! all at once must give the same outcome.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use proxyd::upstream::wire::{framing, parse_head, Chunked, Decoded, Framing, MAX_HEAD};

fuzz_target!(|data: &[u8]| {
    let step = usize::from(data.first().copied().unwrap_or(7) % 64) + 1;
    let sliced = run(data, step);
    let whole = run(data, data.len().max(1));
    assert_eq!(sliced, whole, "slices of {step} bytes");
});

#[derive(Debug, PartialEq)]
enum Outcome {
    /// The input ended first.
    Partial,
    BadHead,
    /// A head whose body is not chunked.
    Head(u16, Framing, bool),
    /// A chunked body: its bytes and trailer count.
    Chunked(u16, bool, Vec<u8>, usize),
    BadBody,
}

fn run(data: &[u8], step: usize) -> Outcome {
    let mut buf = BytesMut::new();
    let mut fed = 0;
    // Moves the next slice in; false when the input is spent.
    let mut feed = |buf: &mut BytesMut| {
        if fed == data.len() {
            return false;
        }
        let n = step.min(data.len() - fed);
        buf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        true
    };
    let mut head = loop {
        match parse_head(&mut buf) {
            Err(_) => return Outcome::BadHead,
            Ok(Some(h)) if h.status.is_informational() && h.status != 101 => {}
            Ok(Some(h)) => break h,
            Ok(None) => {
                assert!(buf.len() <= MAX_HEAD + 64, "an incomplete head is bounded");
                if !feed(&mut buf) {
                    return Outcome::Partial;
                }
            }
        }
    };
    let status = head.status.as_u16();
    let (how, reusable) = framing(false, &mut head);
    if how != Framing::Chunked {
        return Outcome::Head(status, how, reusable);
    }
    let mut dec = Chunked::default();
    let mut body = Vec::new();
    let mut trailers = 0;
    loop {
        match dec.decode(&mut buf) {
            Err(_) => return Outcome::BadBody,
            Ok(Decoded::Data(d)) => {
                assert!(!d.is_empty(), "no empty data frames");
                body.extend_from_slice(&d);
            }
            Ok(Decoded::Trailers(t)) => trailers = t.len(),
            Ok(Decoded::End) => return Outcome::Chunked(status, reusable, body, trailers),
            Ok(Decoded::NeedMore) => {
                if !feed(&mut buf) {
                    return Outcome::Partial;
                }
            }
        }
    }
}
