//! Fuzz target: what an upstream's answer goes through in proxyd's HTTP/1.1
//! client (`upstream::wire`). The bytes are fed in uneven slices (the first
//! byte picks the size) as they would arrive from a socket: response heads
//! parsed (informational ones skipped, as the client does), the framing
//! decided, a chunked body decoded with its trailers. The same bytes fed
//! all at once must give the same outcome. Fields that are plain must be
//! the same written as they arrived (`Fields::write`, proxyd's HTTP/1.1
//! server) as through the header map (`Fields::insert_into`, hyper's).
#![no_main]

use bytes::BytesMut;
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use proxyd::upstream::wire::{framing, parse_head, Chunked, Decoded, Fields, Framing, MAX_HEAD};

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
    /// A head whose body is not chunked, and its fields (lower-case
    /// names, sorted by name) or `None` if the header map refused them.
    Head(u16, Framing, bool, Option<Vec<(String, Vec<u8>)>>),
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
    let mut fields = Fields::default();
    let head = loop {
        match parse_head(&mut buf, &mut fields) {
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
    let (how, reusable) = framing(false, &head);
    let mapped = mapped(&fields);
    if fields.plain() {
        assert_eq!(Some(written(&fields)), mapped, "plain fields, two ways");
    }
    if how != Framing::Chunked {
        return Outcome::Head(status, how, reusable, mapped);
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

/// The fields through the header map, sorted by name (stable: a name's
/// values keep their order).
fn mapped(fields: &Fields) -> Option<Vec<(String, Vec<u8>)>> {
    let mut map = HeaderMap::new();
    fields.insert_into(&mut map).ok()?;
    let mut all: Vec<_> = map
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    Some(all)
}

/// The fields as proxyd's HTTP/1.1 server writes them, read back.
fn written(fields: &Fields) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fields.write(&mut out);
    let mut all = Vec::new();
    let mut rest = &out[..];
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = &rest[..end];
        rest = &rest[end + 2..];
        let colon = line.iter().position(|&b| b == b':').expect("name: value");
        assert_eq!(line.get(colon + 1), Some(&b' '));
        let name = String::from_utf8(line[..colon].to_ascii_lowercase()).expect("a token");
        all.push((name, line[colon + 2..].to_vec()));
    }
    assert!(rest.is_empty(), "every line ends");
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}
