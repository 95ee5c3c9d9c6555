//! Fuzz target: what a client's request head goes through before routing.
//! The bytes are fed, in uneven slices, through the wire-level framing watch
//! (`proxy::framing::Sniffed`); the head is parsed with httparse (hyper's
//! parser) into an `http::Request` for `proxy::validate::check`; its Host
//! goes through `snapshot::routing::normalize_host` and its path through
//! `validate::check_path`, as routing and `strip_prefix` would see them.
#![no_main]

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
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

/// Parses a request head and runs the checks routing relies on.
fn head(data: &[u8]) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = req.parse(data) else {
        return;
    };
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return;
    };
    let mut builder = http::Request::builder().method(method).uri(path);
    for h in req.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
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
