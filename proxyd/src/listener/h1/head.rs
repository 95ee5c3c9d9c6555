//! The wire format of proxyd's HTTP/1.1 server: request heads parsed
//! (httparse), their body framing decided (RFC 9112 §6), response heads
//! written. Byte buffers only, no sockets, so it is tested directly.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, Version};

use crate::upstream::wire::{members, parse_decimal, Fields};

/// At most this many header fields in a request head (hyper's default).
const MAX_HEADERS: usize = 100;

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// `Content-Length` bytes (more than zero).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head, and what it says about the connection.
#[derive(Debug)]
pub struct RequestHead {
    /// Method, target, version and header fields (values share one copy of
    /// the head's bytes); the body is added by the caller.
    pub request: Request<()>,
    pub body: BodyFraming,
    /// The connection may carry another request after this one (HTTP/1.1
    /// without `Connection: close`, HTTP/1.0 with `keep-alive`), and the
    /// framing was unambiguous.
    pub keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1).
    pub expect_continue: bool,
    /// An `Upgrade` request (HTTP/1.1, `Upgrade` and `Connection: upgrade`).
    pub upgrade: bool,
    /// `TE: trailers`: the client takes trailer fields in a chunked answer.
    pub trailers: bool,
}

/// A request head refused before it reaches the proxy: the status to
/// answer with (the connection is closed after it), and why, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub StatusCode, pub &'static str);

fn bad(why: &'static str) -> Refused {
    Refused(StatusCode::BAD_REQUEST, why)
}

/// Parses a complete request head at the start of `buf` and removes it.
/// `Ok(None)`: more bytes are needed. A head (or the bytes of one not yet
/// complete) longer than `max_head` is refused with 431.
pub fn parse(buf: &mut BytesMut, max_head: usize) -> Result<Option<RequestHead>, Refused> {
    let too_large = Refused(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "head too large",
    );
    // Uninitialized: httparse fills what it parses (see `upstream::wire`).
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut req,
        buf,
        &mut fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) if len > max_head => return Err(too_large),
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > max_head => return Err(too_large),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refused(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            ))
        }
        Err(httparse::Error::Version) => {
            return Err(Refused(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "unsupported HTTP version",
            ))
        }
        Err(_) => return Err(bad("malformed request head")),
    };
    let method = req
        .method
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or(bad("invalid method"))?;
    let version = match req.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    // One copy of the head; the target and every value are slices of it.
    let base = buf.as_ptr() as usize;
    let raw = Bytes::copy_from_slice(&buf[..len]);
    let slice_of = |s: &[u8]| {
        let at = s.as_ptr() as usize - base;
        raw.slice(at..at + s.len())
    };
    let target = req.path.ok_or(bad("missing request target"))?;
    let uri = Uri::from_maybe_shared(slice_of(target.as_bytes()))
        .map_err(|_| bad("invalid request target"))?;

    let mut headers = HeaderMap::with_capacity(req.headers.len());
    let mut close = false;
    let mut keep_alive_token = false;
    let mut upgrade_token = false;
    let mut upgrade_field = false;
    let mut expect_continue = false;
    let mut trailers = false;
    let mut length: Option<u64> = None;
    let mut lengths = 0usize;
    // `Transfer-Encoding` present; whether its last coding is chunked.
    let mut chunked: Option<bool> = None;
    for f in req.headers.iter() {
        let name =
            HeaderName::from_bytes(f.name.as_bytes()).map_err(|_| bad("invalid field name"))?;
        if name == header::CONNECTION {
            for t in members(f.value) {
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                } else if t.eq_ignore_ascii_case(b"upgrade") {
                    upgrade_token = true;
                }
            }
        } else if name == header::CONTENT_LENGTH {
            lengths += 1;
            for part in f.value.split(|&b| b == b',') {
                let n = parse_decimal(part.trim_ascii()).ok_or(bad("invalid content-length"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(bad("conflicting content-length"));
                }
                length = Some(n);
            }
        } else if name == header::TRANSFER_ENCODING {
            if version == Version::HTTP_10 {
                return Err(bad("transfer-encoding in an HTTP/1.0 request"));
            }
            if let Some(last) = members(f.value).last() {
                chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            }
        } else if name == header::EXPECT {
            expect_continue = f.value.eq_ignore_ascii_case(b"100-continue");
        } else if name == header::UPGRADE {
            upgrade_field = true;
        } else if name == header::TE {
            trailers |= members(f.value).any(|t| t.eq_ignore_ascii_case(b"trailers"));
        }
        let value = HeaderValue::from_maybe_shared(slice_of(f.value))
            .map_err(|_| bad("invalid field value"))?;
        headers.append(name, value);
    }
    buf.advance(len);

    let mut keep_alive = match version {
        Version::HTTP_11 => !close,
        _ => keep_alive_token && !close,
    };
    let body = match (chunked, length) {
        (Some(false), _) => return Err(bad("transfer-encoding does not end in chunked")),
        // Both, or repeated `Content-Length`s: the proxy refuses the
        // request (`proxy::validate`, which sees every field); the body's
        // end is uncertain, so the connection ends with the answer.
        (Some(true), _) => {
            keep_alive &= length.is_none();
            BodyFraming::Chunked
        }
        (None, Some(0) | None) => BodyFraming::Empty,
        (None, Some(n)) => BodyFraming::Length(n),
    };
    if lengths > 1 {
        keep_alive = false;
    }
    let upgrade = version == Version::HTTP_11 && upgrade_token && upgrade_field;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(RequestHead {
        request,
        body,
        keep_alive,
        expect_continue: expect_continue && version == Version::HTTP_11,
        upgrade,
        trailers,
    }))
}

/// How a response's body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Nothing after the head (HEAD, 1xx, 204, 304).
    None,
    /// This many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the connection closes (HTTP/1.0 and a body of unknown length).
    Close,
}

/// What [`encode_head`] needs besides the response.
pub(super) struct HeadContext {
    /// The request's version (an HTTP/1.0 client gets an HTTP/1.0 answer).
    pub version: Version,
    /// The request was HEAD.
    pub head: bool,
    /// The connection stays open after this response.
    pub keep_alive: bool,
    /// The body's exact length, when known.
    pub length: Option<u64>,
}

/// Header fields of a response that are not in its map: an upstream's
/// fields as they arrived ([`Fields::plain`] ones only) and the request id
/// (`proxy::access::ClientBody::echo_id`), written before the map's.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Beside<'a> {
    pub raw: Option<&'a Fields>,
    pub request_id: Option<&'a HeaderValue>,
}

/// Writes a response head to `out` (appended) and returns how its body is
/// framed: the fields `beside` the map first, then the map's.
/// `Content-Length` comes from the fields when present, else from the
/// body's known length; `Transfer-Encoding: chunked` otherwise (HTTP/1.1),
/// or the body runs to the close (HTTP/1.0). A `Date` is added when
/// missing; `Connection: close` (HTTP/1.1) or `keep-alive` (HTTP/1.0) says
/// what happens to the connection.
pub(super) fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    reason: Option<&[u8]>,
    headers: &HeaderMap,
    beside: Beside<'_>,
    cx: &HeadContext,
) -> Framing {
    if cx.version == Version::HTTP_11 && status == StatusCode::OK && reason.is_none() {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(if cx.version == Version::HTTP_11 {
            b"HTTP/1.1 "
        } else {
            b"HTTP/1.0 "
        });
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(
            reason.unwrap_or(status.canonical_reason().unwrap_or("<none>").as_bytes()),
        );
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = cx.head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let mut length_field: Option<u64> = None;
    let mut date = false;
    if let Some(raw) = beside.raw {
        // Plain fields (`Fields::plain`): nothing to leave out.
        raw.write(out);
        length_field = raw.content_length();
        date = raw.has_date();
    }
    if let Some(id) = beside.request_id {
        out.extend_from_slice(b"x-request-id: ");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH {
            length_field = parse_decimal(value.as_bytes());
        } else if name == header::DATE {
            date = true;
        } else if name == header::TRANSFER_ENCODING
            || (name == header::CONNECTION && status != StatusCode::SWITCHING_PROTOCOLS)
        {
            // The framing and the connection are this hop's to say (a 101
            // keeps its `Connection: upgrade`).
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let framing = if bodiless {
        Framing::None
    } else if let Some(n) = length_field.or(cx.length) {
        if length_field.is_none() {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Framing::Length(n)
    } else if cx.version == Version::HTTP_11 {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Framing::Chunked
    } else {
        Framing::Close
    };
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let keep_alive = cx.keep_alive && framing != Framing::Close;
        match (cx.version, keep_alive) {
            (Version::HTTP_11, false) => out.extend_from_slice(b"connection: close\r\n"),
            (Version::HTTP_10, true) => out.extend_from_slice(b"connection: keep-alive\r\n"),
            _ => {}
        }
    }
    if !date {
        out.extend_from_slice(b"date: ");
        with_date(|d| out.extend_from_slice(d));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    framing
}

/// The trailer fields a chunked response may send: those its `Trailer`
/// field announced (as hyper's server does), when the client said it takes
/// trailers.
pub(super) fn announced_trailers(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::TRAILER)
        .iter()
        .flat_map(|v| members(v.as_bytes()))
        .filter_map(|t| HeaderName::from_bytes(t).ok())
        .collect()
}

/// Writes the last chunk and the allowed `trailers` to `out`.
pub(super) fn encode_last_chunk(
    out: &mut Vec<u8>,
    trailers: Option<&HeaderMap>,
    allowed: &[HeaderName],
) {
    out.extend_from_slice(b"0\r\n");
    if let Some(trailers) = trailers {
        for (name, value) in trailers {
            if allowed.contains(name) {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a chunk-size line for `len` bytes to `out`.
pub(super) fn encode_chunk_size(out: &mut Vec<u8>, len: usize) {
    use std::io::Write as _;
    let _ = write!(out, "{len:x}\r\n");
}

/// The `Date` value of this second, formatted once per second per thread.
fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == 29 {
                d.1.copy_from_slice(text.as_bytes());
                d.0 = secs;
            }
        }
        f(&d.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Result<Option<RequestHead>, Refused> {
        parse(&mut BytesMut::from(text), 64 * 1024)
    }

    fn head(text: &str) -> RequestHead {
        parse_all(text).expect("valid").expect("complete")
    }

    #[test]
    fn a_head_is_parsed_once_complete_and_keeps_what_follows() {
        let mut buf = BytesMut::from("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n");
        assert!(parse(&mut buf, 1024).expect("valid").is_none());
        buf.extend_from_slice(b"X-A: 1\r\nX-A: 2\r\n\r\nGET /next");
        let h = parse(&mut buf, 1024).expect("valid").expect("complete");
        assert_eq!(&buf[..], b"GET /next");
        assert_eq!(h.request.method(), Method::GET);
        assert_eq!(h.request.uri().path(), "/a");
        assert_eq!(h.request.uri().query(), Some("b=1"));
        assert_eq!(h.request.version(), Version::HTTP_11);
        let values: Vec<_> = h.request.headers().get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(h.body, BodyFraming::Empty);
        assert!(h.keep_alive && !h.upgrade && !h.expect_continue);
    }

    #[test]
    fn framing_and_keep_alive_follow_rfc_9112() {
        let h = head("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (BodyFraming::Length(5), true));
        let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.body, BodyFraming::Chunked);
        let h = head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.body, BodyFraming::Empty);
        let h = head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("GET / HTTP/1.0\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(h.keep_alive);
        // Ambiguous framing: left for the proxy to refuse, never reused.
        let h = head("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (BodyFraming::Chunked, false));
        let h = head("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (BodyFraming::Length(3), false));
        assert_eq!(
            h.request.headers().get_all("content-length").iter().count(),
            2
        );
        let h = head(
            "GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
        );
        assert!(h.upgrade);
        let h = head(
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\nTE: trailers\r\n\r\n",
        );
        assert!(h.expect_continue && h.trailers);
    }

    #[test]
    fn what_cannot_be_framed_safely_is_refused() {
        for text in [
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "GET /\x01 HTTP/1.1\r\n\r\n",
            "G(ET / HTTP/1.1\r\n\r\n",
        ] {
            let refused = parse_all(text).expect_err(text);
            assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{text:?}: {refused:?}");
        }
        let refused = parse_all("GET / HTTP/2.0\r\n\r\n").expect_err("version");
        assert_eq!(refused.0, StatusCode::HTTP_VERSION_NOT_SUPPORTED);
    }

    #[test]
    fn oversized_heads_are_431_complete_or_not() {
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(300));
        let refused = parse(&mut BytesMut::from(&long[..]), 200).expect_err("too large");
        assert_eq!(refused.0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let partial = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(300));
        let refused = parse(&mut BytesMut::from(&partial[..]), 200).expect_err("too large");
        assert_eq!(refused.0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let refused = parse_all(&text).expect_err("too many");
        assert_eq!(refused.0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    fn encode(status: StatusCode, headers: &HeaderMap, cx: &HeadContext) -> (String, Framing) {
        let mut out = Vec::new();
        let framing = encode_head(&mut out, status, None, headers, Beside::default(), cx);
        (String::from_utf8(out).expect("ascii"), framing)
    }

    fn cx(version: Version, keep_alive: bool, length: Option<u64>) -> HeadContext {
        HeadContext {
            version,
            head: false,
            keep_alive,
            length,
        }
    }

    #[test]
    fn response_heads_say_how_the_body_is_framed() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        let (text, framing) = encode(
            StatusCode::OK,
            &headers,
            &cx(Version::HTTP_11, true, Some(5)),
        );
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\ndate: "),
            "{text}"
        );
        assert!(text.ends_with(" GMT\r\n\r\n"), "{text}");
        assert_eq!(framing, Framing::Length(5));

        let (text, framing) = encode(
            StatusCode::NOT_FOUND,
            &headers,
            &cx(Version::HTTP_11, false, None),
        );
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(
            text.contains("transfer-encoding: chunked\r\nconnection: close\r\n"),
            "{text}"
        );
        assert_eq!(framing, Framing::Chunked);

        let (text, framing) = encode(StatusCode::OK, &headers, &cx(Version::HTTP_10, true, None));
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(!text.contains("keep-alive"), "{text}");
        assert_eq!(framing, Framing::Close);

        let (text, _) = encode(
            StatusCode::OK,
            &headers,
            &cx(Version::HTTP_10, true, Some(0)),
        );
        assert!(
            text.contains("content-length: 0\r\nconnection: keep-alive\r\n"),
            "{text}"
        );

        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("7"));
        headers.insert(header::DATE, HeaderValue::from_static("then"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("x"));
        let (text, framing) = encode(StatusCode::OK, &headers, &cx(Version::HTTP_11, true, None));
        assert_eq!(text.matches("content-length").count(), 1, "{text}");
        assert_eq!(text.matches("date: ").count(), 1, "{text}");
        assert!(text.contains("date: then\r\n"), "{text}");
        assert!(!text.contains("connection"), "{text}");
        assert_eq!(framing, Framing::Length(7));

        let head = HeadContext {
            head: true,
            ..cx(Version::HTTP_11, true, Some(0))
        };
        assert_eq!(encode(StatusCode::OK, &headers, &head).1, Framing::None);
        let none = HeaderMap::new();
        let (text, framing) = encode(
            StatusCode::NO_CONTENT,
            &none,
            &cx(Version::HTTP_11, true, Some(0)),
        );
        assert!(!text.contains("content-length"), "{text}");
        assert_eq!(framing, Framing::None);
    }

    #[test]
    fn an_upstreams_fields_are_written_as_they_arrived_then_the_maps() {
        let mut fields = Fields::default();
        let mut upstream = BytesMut::from(
            "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: keep-alive\r\n\
             Date: Sun, 22 Nov 2026 10:00:00 GMT\r\nSet-Cookie: a=1\r\n\
             Content-Length: 6\r\nset-cookie: b=2\r\n\r\n",
        );
        crate::upstream::wire::parse_head(&mut upstream, &mut fields)
            .expect("valid")
            .expect("complete");
        assert!(fields.plain());
        let mut headers = HeaderMap::new();
        headers.insert("x-from-map", HeaderValue::from_static("m"));
        let id = HeaderValue::from_static("abc");
        let beside = Beside {
            raw: Some(&fields),
            request_id: Some(&id),
        };
        let mut out = Vec::new();
        let framing = encode_head(
            &mut out,
            StatusCode::OK,
            None,
            &headers,
            beside,
            &cx(Version::HTTP_11, true, Some(6)),
        );
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "HTTP/1.1 200 OK\r\nServer: up\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\n\
             Set-Cookie: a=1\r\nContent-Length: 6\r\nset-cookie: b=2\r\n\
             x-request-id: abc\r\nx-from-map: m\r\n\r\n",
            "no second length or date, the connection field is this hop's"
        );
        assert_eq!(framing, Framing::Length(6));
    }

    #[test]
    fn a_reason_phrase_given_is_written() {
        let mut out = Vec::new();
        encode_head(
            &mut out,
            StatusCode::OK,
            Some(b"Fine"),
            &HeaderMap::new(),
            Beside::default(),
            &cx(Version::HTTP_11, true, Some(0)),
        );
        assert!(out.starts_with(b"HTTP/1.1 200 Fine\r\n"));
    }

    #[test]
    fn only_announced_trailers_are_written() {
        let mut headers = HeaderMap::new();
        headers.insert(header::TRAILER, HeaderValue::from_static("x-sum, X-Other"));
        let allowed = announced_trailers(&headers);
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", HeaderValue::from_static("1"));
        trailers.insert("x-secret", HeaderValue::from_static("2"));
        let mut out = Vec::new();
        encode_last_chunk(&mut out, Some(&trailers), &allowed);
        assert_eq!(&out[..], b"0\r\nx-sum: 1\r\n\r\n");
    }
}
