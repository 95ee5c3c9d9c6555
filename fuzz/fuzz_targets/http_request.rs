//! Fuzz target: what a client's request head goes through before routing.
//! The bytes are fed, in uneven slices, through the wire-level framing watch
//! (`proxy::framing::Sniffed`, for TLS and HTTP/2 connections); the head is
//! parsed by proxyd's HTTP/1.1 server (`listener::h1::head::parse`), whole
//! and in slices (both must agree), into the `http::Request` that
//! `proxy::validate::check` sees; its Host
//! goes through `snapshot::routing::normalize_host` and its path through
//! `validate::check_path`, as routing and `strip_prefix` would see them.
#![no_main]

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use proxyd::listener::h1::head as parse;
use proxyd::proxy::framing::Sniffed;
use proxyd::proxy::validate;
use proxyd::snapshot::routing::normalize_host;
use tokio::io::{AsyncRead, ReadBuf};

fuzz_target!(|data: &[u8]| {
    sniff(data);
    head(data);
});

/// Reads `data` through `Sniffed` in slices of 1..=64 bytes (the first
/// byte picks the slice size), then asks for as many verdicts as heads.
fn sniff(data: &[u8]) {
    let step = usize::from(data.first().copied().unwrap_or(7) % 64) + 1;
    let (mut sniffed, verdicts) = Sniffed::new(data);
    let mut cx = Context::from_waker(Waker::noop());
    let mut buf = vec![0u8; step];
    loop {
        let mut rb = ReadBuf::new(&mut buf);
        match Pin::new(&mut sniffed).poll_read(&mut cx, &mut rb) {
            Poll::Ready(Ok(())) if rb.filled().is_empty() => break,
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) | Poll::Pending => break,
        }
    }
    for _ in 0..data.len().min(64) {
        let _ = verdicts.next_is_ambiguous();
    }
}

/// Parses a request head as the server does and runs the checks routing
/// relies on.
fn head(data: &[u8]) {
    const MAX: usize = 64 * 1024;
    let whole = parse::parse(&mut BytesMut::from(data), MAX);
    // Fed in slices, parsing after each as the server does on every read:
    // the same outcome as the whole input at once.
    let step = usize::from(data.last().copied().unwrap_or(5) % 32) + 1;
    let mut buf = BytesMut::new();
    let mut sliced = Ok(None);
    for piece in data.chunks(step) {
        buf.extend_from_slice(piece);
        sliced = parse::parse(&mut buf, MAX);
        if !matches!(sliced, Ok(None)) {
            break;
        }
    }
    match (&whole, &sliced) {
        (Ok(Some(a)), Ok(Some(b))) => {
            assert_eq!(a.request.method(), b.request.method());
            assert_eq!(a.request.uri(), b.request.uri());
            assert_eq!(a.request.headers(), b.request.headers());
            assert_eq!((a.body, a.keep_alive), (b.body, b.keep_alive));
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("whole {a:?} vs sliced {b:?}"),
    }
    let Ok(Some(head)) = whole else {
        return;
    };
    let request = head.request;
    if head.body == parse::BodyFraming::Chunked {
        // Framing by Transfer-Encoding: any Content-Length beside it is
        // refused by validation, never used.
        let lengths = request
            .headers()
            .get_all(http::header::CONTENT_LENGTH)
            .iter()
            .count();
        assert!(lengths == 0 || !head.keep_alive);
    }
    let verdict = validate::check(&request, 64 * 1024);
    if let Some(host) = request.headers().get(http::header::HOST) {
        if let Ok(host) = host.to_str() {
            if let Some(n) = normalize_host(host) {
                // The table key: never empty, already lowercase.
                assert!(!n.is_empty());
                assert!(!n.bytes().any(|b| b.is_ascii_uppercase()));
            }
        }
    }
    let path = request.uri().path();
    if verdict.is_ok() && path != "*" {
        // A path that passed validation has no dot segment left to exploit.
        assert!(validate::check_path(path).is_ok());
        assert!(!path.split('/').any(|s| s == ".." || s == "."));
    }
}
