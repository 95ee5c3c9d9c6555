//! HTTP/1.1 as proxyd speaks it to upstream servers: the request head
//! written out, the response head parsed (httparse), how the response body
//! is framed (RFC 9112 §6.3), and the chunked decoder.
//!
//! Everything here works on byte buffers and knows nothing of sockets, so
//! it is tested directly; `conn` drives it over a connection.

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};

/// At most this many header fields in a response head or trailer section
/// (hyper's default too).
const MAX_HEADERS: usize = 100;
/// A response head longer than this is refused.
pub const MAX_HEAD: usize = 64 * 1024;
/// A chunk-size line (with extensions) longer than this is refused.
const MAX_CHUNK_LINE: usize = 4096;
/// A trailer section longer than this is refused.
const MAX_TRAILERS: usize = 16 * 1024;

/// What makes an upstream's response unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid response: {0}")]
pub struct Invalid(pub &'static str);

/// Writes the head of a request to `out` (cleared first): request line in
/// origin form, the header fields as they are, then `fields`, and `extra`
/// (framing the caller adds), then the empty line.
pub fn encode_head(
    out: &mut Vec<u8>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    fields: &ExtraFields,
    extra: &[u8],
) {
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers.iter().chain(fields.iter()) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(extra);
    out.extend_from_slice(b"\r\n");
}

/// Header fields written into a request head after its map's fields
/// (`proxy::headers::plan_forwarding`: the four forwarding fields and
/// `X-Request-Id`), at most five; kept on the stack.
#[derive(Debug, Default, Clone)]
pub struct ExtraFields {
    fields: [Option<(&'static HeaderName, HeaderValue)>; 5],
}

impl ExtraFields {
    /// Adds `name: value` (ignored past five fields, which no caller adds).
    pub fn push(&mut self, name: &'static HeaderName, value: HeaderValue) {
        if let Some(slot) = self.fields.iter_mut().find(|f| f.is_none()) {
            *slot = Some((name, value));
        }
    }

    /// The fields, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.fields.iter().flatten().map(|(n, v)| (&**n, v))
    }

    /// Moves the fields into `headers` (replacing values of those names).
    pub fn insert_into(self, headers: &mut HeaderMap) {
        for (name, value) in self.fields.into_iter().flatten() {
            headers.insert(name.clone(), value);
        }
    }
}

/// A parsed response head. Its header fields are in the [`Fields`] that
/// [`parse_head`] filled.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The reason phrase when it is not the status code's usual one.
    pub reason: Option<Bytes>,
    hop: Hop,
}

/// What the connection-level fields of a response said.
#[derive(Debug, Default)]
struct Hop {
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive`.
    keep_alive: bool,
    /// `Transfer-Encoding` was present; whether its last coding is chunked.
    transfer_encoding: Option<bool>,
    /// `Content-Length` (every field and list member agreed).
    content_length: Option<u64>,
}

/// A response head's header fields as the upstream sent them: a copy of
/// the head's bytes and where each field is in it. A connection keeps one
/// and refills it for every response, so parsing a head allocates nothing
/// once it has grown.
///
/// The end-to-end fields reach the client one of two ways. proxyd's
/// HTTP/1.1 server writes them out from here as they are ([`Fields::write`])
/// when they are [plain](Fields::plain) and nothing edits them. Otherwise
/// [`Fields::insert_into`] builds the header map (hyper's servers, route
/// rules, upgrades). The connection-level fields (`Connection` and what it
/// names, `Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`, and a
/// `Content-Length` beside `Transfer-Encoding`) are never passed on;
/// `Upgrade` and `Trailer` are, for the proxy to decide.
#[derive(Debug, Default)]
pub struct Fields {
    head: Vec<u8>,
    spans: Vec<Span>,
    /// The `Content-Length` when it is one field with one value.
    content_length: Option<u64>,
    /// A `Date` field is present.
    date: bool,
    /// See [`Fields::plain`].
    plain: bool,
}

/// Where a field is in [`Fields::head`].
#[derive(Debug, Clone, Copy)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
    kind: Kind,
    /// The field's line is `name: value\r\n` exactly, so it can be
    /// copied as it is, together with its neighbours.
    canonical: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Passed on.
    Pass,
    /// `Connection`: not passed on, and may name fields that are not.
    Connection,
    /// Another field of this connection only.
    Drop,
}

/// The fields a response head's parse looks out for; one comparison of the
/// name's length for most fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Connection,
    TransferEncoding,
    ContentLength,
    /// `TE`, `Keep-Alive`, `Proxy-Connection`.
    Hop,
    Date,
    /// `X-Request-Id` (the proxy replaces it), `Upgrade` and `Trailer`
    /// (the proxy decides on them): the fields are not plain.
    Edited,
    Other,
}

fn classify(name: &[u8]) -> Class {
    let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        2 if is(b"te") => Class::Hop,
        4 if is(b"date") => Class::Date,
        7 if is(b"upgrade") || is(b"trailer") => Class::Edited,
        10 if is(b"connection") => Class::Connection,
        10 if is(b"keep-alive") => Class::Hop,
        12 if is(b"x-request-id") => Class::Edited,
        14 if is(b"content-length") => Class::ContentLength,
        16 if is(b"proxy-connection") => Class::Hop,
        17 if is(b"transfer-encoding") => Class::TransferEncoding,
        _ => Class::Other,
    }
}

impl Fields {
    fn at(&self, (start, end): (u32, u32)) -> &[u8] {
        &self.head[start as usize..end as usize]
    }

    /// Whether the fields can be written out as they are: no field the
    /// proxy replaces or decides on (`X-Request-Id`, `Upgrade`, `Trailer`),
    /// none named by `Connection`, at most one `Content-Length` with one
    /// value, no `Content-Length` beside `Transfer-Encoding`.
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// The `Content-Length` of plain fields.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether there is a `Date` field.
    pub fn has_date(&self) -> bool {
        self.date
    }

    /// Writes the end-to-end fields to `out` as `name: value` lines, names
    /// as the upstream spelled them, in its order. Neighbouring lines that
    /// are already written that way are copied in one piece.
    pub fn write(&self, out: &mut Vec<u8>) {
        // The lines not yet copied: `head[run.0..run.1]`.
        let mut run = (0, 0);
        for s in &self.spans {
            if s.kind == Kind::Pass && s.canonical {
                let (start, end) = (s.name.0 as usize, s.value.1 as usize + 2);
                if run.1 != start {
                    out.extend_from_slice(&self.head[run.0..run.1]);
                    run.0 = start;
                }
                run.1 = end;
                continue;
            }
            out.extend_from_slice(&self.head[run.0..run.1]);
            run = (0, 0);
            if s.kind == Kind::Pass {
                out.extend_from_slice(self.at(s.name));
                out.extend_from_slice(b": ");
                out.extend_from_slice(self.at(s.value));
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(&self.head[run.0..run.1]);
    }

    /// Appends the end-to-end fields to `headers` (values share one copy
    /// of the head), then removes what `Connection` named.
    pub fn insert_into(&self, headers: &mut HeaderMap) -> Result<(), Invalid> {
        let raw = Bytes::copy_from_slice(&self.head);
        let slice = |(start, end): (u32, u32)| raw.slice(start as usize..end as usize);
        headers.reserve(self.spans.len());
        for s in self.spans.iter().filter(|s| s.kind == Kind::Pass) {
            let name = HeaderName::from_bytes(self.at(s.name))
                .map_err(|_| Invalid("invalid header name"))?;
            let value = HeaderValue::from_maybe_shared(slice(s.value))
                .map_err(|_| Invalid("invalid header value"))?;
            headers.append(name, value);
        }
        let connection = self.spans.iter().filter(|s| s.kind == Kind::Connection);
        for s in connection {
            for t in members(self.at(s.value)) {
                if !named_by_connection(t) {
                    continue;
                }
                if let Ok(n) = HeaderName::from_bytes(t) {
                    headers.remove(n);
                }
            }
        }
        Ok(())
    }

    /// Lets go of buffers a large head grew (an idle pooled connection).
    pub(super) fn shrink_idle(&mut self) {
        if self.head.capacity() > 4096 || self.spans.capacity() > 64 {
            *self = Fields::default();
        }
    }

    fn clear(&mut self) {
        self.head.clear();
        self.spans.clear();
        self.content_length = None;
        self.date = false;
        self.plain = true;
    }
}

/// Whether a `Connection` token names a field to remove (not one of the
/// usual options; `upgrade` stays for the proxy, a 101 passes it on).
fn named_by_connection(token: &[u8]) -> bool {
    !(token.eq_ignore_ascii_case(b"close")
        || token.eq_ignore_ascii_case(b"keep-alive")
        || token.eq_ignore_ascii_case(b"upgrade"))
}

/// The comma-separated members of a field value, trimmed, empty ones skipped.
pub(crate) fn members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Parses a complete response head at the start of `buf` into a [`Head`]
/// and `fields`, and removes it from `buf`. `Ok(None)` means more bytes are
/// needed (`fields` then holds nothing useful).
pub fn parse_head(buf: &mut BytesMut, fields: &mut Fields) -> Result<Option<Head>, Invalid> {
    // Uninitialized: httparse fills what it parses, and initializing a
    // hundred fields per response would cost more than parsing them.
    let mut parsed_fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut res,
        buf,
        &mut parsed_fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => {
            return Err(Invalid("response head too large"))
        }
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(Invalid("response head too large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Invalid("too many header fields")),
        Err(_) => return Err(Invalid("malformed response head")),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(Invalid("malformed status code"))?;
    let version = match res.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    let reason = res
        .reason
        .filter(|r| !r.is_empty() && status.canonical_reason() != Some(*r))
        .map(|r| Bytes::copy_from_slice(r.as_bytes()));
    fields.clear();
    fields.head.extend_from_slice(&buf[..len]);
    // Positions in the head; it is at most `MAX_HEAD` long, so they fit.
    let base = buf.as_ptr() as usize;
    let span = |s: &[u8]| {
        let at = s.as_ptr() as usize - base;
        (at as u32, (at + s.len()) as u32)
    };
    let mut hop = Hop::default();
    let mut lengths = 0;
    for f in res.headers.iter() {
        let kind = match classify(f.name.as_bytes()) {
            Class::Connection => {
                for t in members(f.value) {
                    if t.eq_ignore_ascii_case(b"close") {
                        hop.close = true;
                    } else if t.eq_ignore_ascii_case(b"keep-alive") {
                        hop.keep_alive = true;
                    } else if named_by_connection(t) {
                        fields.plain = false;
                    }
                }
                Kind::Connection
            }
            Class::TransferEncoding => {
                if let Some(last) = members(f.value).last() {
                    hop.transfer_encoding = Some(last.eq_ignore_ascii_case(b"chunked"));
                }
                Kind::Drop
            }
            Class::Hop => Kind::Drop,
            Class::ContentLength => {
                for part in f.value.split(|&b| b == b',') {
                    let n = parse_decimal(part.trim_ascii())
                        .ok_or(Invalid("invalid content-length"))?;
                    if hop.content_length.is_some_and(|c| c != n) {
                        return Err(Invalid("conflicting content-length"));
                    }
                    hop.content_length = Some(n);
                    lengths += 1;
                }
                Kind::Pass
            }
            Class::Date => {
                fields.date = true;
                Kind::Pass
            }
            Class::Edited => {
                fields.plain = false;
                Kind::Pass
            }
            Class::Other => Kind::Pass,
        };
        let (name, value) = (span(f.name.as_bytes()), span(f.value));
        let canonical = buf.get(name.1 as usize..value.0 as usize) == Some(b": ")
            && buf.get(value.1 as usize..value.1 as usize + 2) == Some(b"\r\n");
        fields.spans.push(Span {
            name,
            value,
            kind,
            canonical,
        });
    }
    if hop.transfer_encoding.is_some() && hop.content_length.is_some() {
        // `Transfer-Encoding` wins; the length is not passed on (and the
        // connection is not reused, see [`framing`]).
        for i in 0..fields.spans.len() {
            let s = fields.spans[i];
            if s.kind == Kind::Pass && classify(fields.at(s.name)) == Class::ContentLength {
                fields.spans[i].kind = Kind::Drop;
            }
        }
        fields.plain = false;
    }
    if lengths > 1 {
        fields.plain = false;
    }
    fields.content_length = hop.content_length.filter(|_| fields.plain);
    buf.advance(len);
    Ok(Some(Head {
        status,
        version,
        reason,
        hop,
    }))
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
    /// `101 Switching Protocols`: the connection now carries another protocol.
    Upgrade,
}

/// The framing of a response (to a `HEAD` request when `to_head`; RFC 9112
/// §6.3), and whether the connection can carry another exchange afterwards.
/// A `Content-Length` beside `Transfer-Encoding` is ignored (the latter
/// wins; [`parse_head`] does not pass it on) and the connection is not
/// reused.
pub fn framing(to_head: bool, head: &Head) -> (Framing, bool) {
    let hop = &head.hop;
    let mut reusable = !hop.close && (head.version == Version::HTTP_11 || hop.keep_alive);
    let status = head.status;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return (Framing::Upgrade, false);
    }
    if to_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return (Framing::Empty, reusable);
    }
    if let Some(chunked) = hop.transfer_encoding {
        if hop.content_length.is_some() {
            reusable = false;
        }
        return match chunked {
            true => (Framing::Chunked, reusable),
            // Any other final coding: the body runs to the close.
            false => (Framing::Close, false),
        };
    }
    match hop.content_length {
        Some(n) => (Framing::Length(n), reusable),
        None => (Framing::Close, false),
    }
}

/// A `Content-Length` value: decimal digits only, at most 19.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Whether a request's `headers` ask the server to close the connection
/// after its response (`Connection: close`, as health checks send).
pub fn asks_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| members(v.as_bytes()))
        .any(|t| t.eq_ignore_ascii_case(b"close"))
}

/// What the chunked decoder found next.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The trailer section (only when it has fields).
    Trailers(HeaderMap),
    /// The body is complete.
    End,
    /// More bytes are needed.
    NeedMore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields, then the empty line.
    Trailers,
    /// Done.
    Done,
}

/// A decoder of the chunked transfer coding (RFC 9112 §7.1), strict about
/// its CRLFs and bounded in every line it buffers.
#[derive(Debug)]
pub struct Chunked {
    state: ChunkState,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            state: ChunkState::Size,
        }
    }
}

impl Chunked {
    /// Takes what it can from the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, Invalid> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(Decoded::End),
                ChunkState::Size => {
                    let Some(eol) = memchr::memmem::find(buf, b"\r\n") else {
                        if buf.len() > MAX_CHUNK_LINE {
                            return Err(Invalid("chunk size line too long"));
                        }
                        return Ok(Decoded::NeedMore);
                    };
                    if eol > MAX_CHUNK_LINE {
                        return Err(Invalid("chunk size line too long"));
                    }
                    let size = chunk_size(&buf[..eol])?;
                    buf.advance(eol + 2);
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                    return Ok(Decoded::Data(buf.split_to(n).freeze()));
                }
                ChunkState::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(Invalid("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    if buf.starts_with(b"\r\n") {
                        buf.advance(2);
                        self.state = ChunkState::Done;
                        return Ok(Decoded::End);
                    }
                    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
                        if buf.len() > MAX_TRAILERS {
                            return Err(Invalid("trailer section too large"));
                        }
                        return Ok(Decoded::NeedMore);
                    };
                    if end > MAX_TRAILERS {
                        return Err(Invalid("trailer section too large"));
                    }
                    let trailers = parse_trailers(&buf[..end + 4])?;
                    buf.advance(end + 4);
                    self.state = ChunkState::Done;
                    return Ok(Decoded::Trailers(trailers));
                }
            }
        }
    }
}

/// The size of a chunk-size line (`1*HEXDIG [ BWS ; chunk-ext ]`).
fn chunk_size(line: &[u8]) -> Result<u64, Invalid> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(Invalid("invalid chunk size"));
    }
    let rest = &line[digits..];
    let bws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let rest = &rest[bws..];
    if !(rest.is_empty() || rest[0] == b';') || rest.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(Invalid("invalid chunk size"));
    }
    let size = line[..digits].iter().fold(0u64, |n, &b| {
        // Valid hex digits only (checked above).
        let d = (b as char).to_digit(16).unwrap_or(0);
        (n << 4) | u64::from(d)
    });
    Ok(size)
}

fn parse_trailers(section: &[u8]) -> Result<HeaderMap, Invalid> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(section, &mut fields) {
        Ok(httparse::Status::Complete((_, fields))) => {
            let mut map = HeaderMap::with_capacity(fields.len());
            for f in fields {
                let name = HeaderName::from_bytes(f.name.as_bytes())
                    .map_err(|_| Invalid("invalid trailer name"))?;
                let value = HeaderValue::from_bytes(f.value)
                    .map_err(|_| Invalid("invalid trailer value"))?;
                map.append(name, value);
            }
            Ok(map)
        }
        _ => Err(Invalid("malformed trailer section")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Head, Fields) {
        let mut buf = BytesMut::from(text);
        let mut fields = Fields::default();
        let h = parse_head(&mut buf, &mut fields).unwrap().unwrap();
        assert!(buf.is_empty(), "the head is consumed, nothing more");
        (h, fields)
    }

    fn head(text: &str) -> Head {
        parsed(text).0
    }

    fn map(fields: &Fields) -> HeaderMap {
        let mut headers = HeaderMap::new();
        fields.insert_into(&mut headers).unwrap();
        headers
    }

    fn parse(buf: &mut BytesMut) -> Result<Option<Head>, Invalid> {
        parse_head(buf, &mut Fields::default())
    }

    #[test]
    fn the_request_head_is_origin_form_with_fields_as_given() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("app.test"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let mut out = Vec::new();
        let uri: Uri = "/p?q=1".parse().unwrap();
        let mut fields = ExtraFields::default();
        fields.push(&X_TEST, HeaderValue::from_static("3"));
        encode_head(
            &mut out,
            &Method::POST,
            &uri,
            &headers,
            &fields,
            b"transfer-encoding: chunked\r\n",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: app.test\r\nx-a: 1\r\nx-a: 2\r\n\
             x-test: 3\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn only_a_close_token_asks_to_close() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONNECTION, HeaderValue::from_static(v));
            asks_close(&h)
        };
        assert!(with("close") && with("upgrade, Close"));
        assert!(!with("keep-alive") && !asks_close(&HeaderMap::new()));
    }

    static X_TEST: HeaderName = HeaderName::from_static("x-test");

    #[test]
    fn a_head_is_parsed_once_complete_and_keeps_what_follows() {
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
        let mut fields = Fields::default();
        assert!(parse_head(&mut buf, &mut fields).unwrap().is_none());
        buf.extend_from_slice(b"X-Y: a b\r\n\r\nhi");
        let h = parse_head(&mut buf, &mut fields).unwrap().unwrap();
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.version, Version::HTTP_11);
        assert_eq!(map(&fields)["x-y"], "a b");
        assert_eq!(h.reason, None);
        assert_eq!(&buf[..], b"hi");
    }

    #[test]
    fn an_unusual_reason_phrase_is_kept() {
        assert_eq!(
            head("HTTP/1.1 200 Fine\r\n\r\n").reason.as_deref(),
            Some(&b"Fine"[..])
        );
    }

    #[test]
    fn garbage_and_oversized_heads_are_refused() {
        let mut buf = BytesMut::from("HTTP/1.1 2x0 OK\r\n\r\n");
        assert!(parse(&mut buf).is_err());
        let mut buf = BytesMut::from("SSH-2.0-OpenSSH\r\n\r\n");
        assert!(parse(&mut buf).is_err());
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nX: ");
        buf.extend_from_slice(&vec![b'a'; MAX_HEAD]);
        assert_eq!(
            parse(&mut buf).unwrap_err(),
            Invalid("response head too large")
        );
        // Also when it arrives complete in one read.
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nX: ");
        buf.extend_from_slice(&vec![b'a'; MAX_HEAD]);
        buf.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse(&mut buf).unwrap_err(),
            Invalid("response head too large")
        );
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let f = |to_head: bool, text: &str| framing(to_head, &head(text));
        let ok = |t: &str| f(false, t);
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"),
            (Framing::Length(5), true)
        );
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\ncontent-length: 5\r\n\r\n"),
            (Framing::Length(5), true)
        );
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n"),
            (Framing::Chunked, true)
        );
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n"),
            (Framing::Close, false)
        );
        assert_eq!(ok("HTTP/1.1 200 OK\r\n\r\n"), (Framing::Close, false));
        assert_eq!(
            ok("HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n"),
            (Framing::Empty, true)
        );
        assert_eq!(
            ok("HTTP/1.1 304 Not Modified\r\n\r\n"),
            (Framing::Empty, true)
        );
        assert_eq!(
            ok("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
            (Framing::Upgrade, false)
        );
        assert_eq!(
            f(true, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"),
            (Framing::Empty, true)
        );
        assert_eq!(
            ok("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n"),
            (Framing::Length(5), false)
        );
        assert_eq!(
            ok("HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\n"),
            (Framing::Length(5), false)
        );
        assert_eq!(
            ok("HTTP/1.0 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\n"),
            (Framing::Length(5), true)
        );
        // Smuggling shapes: TE wins and the connection is not reused; two
        // different lengths, or a non-number, are refused.
        let (h, fields) =
            parsed("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n");
        assert_eq!(framing(false, &h), (Framing::Chunked, false));
        assert!(!map(&fields).contains_key(header::CONTENT_LENGTH));
        assert!(!fields.plain(), "the length is left out");
        for bad in [
            "content-length: 5\r\ncontent-length: 6",
            "content-length: 5, 6",
            "content-length: +5",
            "content-length: 0x5",
            "content-length: ",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\n{bad}\r\n\r\n");
            let mut buf = BytesMut::from(text.as_str());
            assert!(parse(&mut buf).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_level_fields_stay_out_of_the_passed_on_head() {
        let (h, fields) = parsed(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret, upgrade\r\nKeep-Alive: timeout=5\r\n\
             X-Secret: 1\r\nTE: trailers\r\nProxy-Connection: close\r\n\
             Transfer-Encoding: chunked\r\nUpgrade: h2c\r\nTrailer: x-sum\r\nX-Kept: 2\r\n\r\n",
        );
        let headers = map(&fields);
        let mut names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["trailer", "upgrade", "x-kept"]);
        assert!(h.hop.keep_alive && !h.hop.close);
        assert_eq!(h.hop.transfer_encoding, Some(true));
    }

    #[test]
    fn plain_fields_are_written_as_they_arrived() {
        let (_, fields) = parsed(
            "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: Keep-Alive\r\nX-A:1\r\n\
             Keep-Alive: timeout=5\r\nContent-Length: 2\r\nx-a: 2 \r\n\r\n",
        );
        assert!(fields.plain() && !fields.has_date());
        assert_eq!(fields.content_length(), Some(2));
        let mut out = Vec::new();
        fields.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Server: up\r\nX-A: 1\r\nContent-Length: 2\r\nx-a: 2\r\n"
        );
        let headers = map(&fields);
        assert_eq!(headers.get_all("x-a").iter().count(), 2);
        assert_eq!(headers.len(), 4);
    }

    #[test]
    fn fields_the_proxy_edits_or_that_are_unusual_are_not_plain() {
        for field in [
            "X-Request-Id: up",
            "Upgrade: h2c",
            "Trailer: x-sum",
            "Connection: x-secret\r\nX-Secret: 1",
            "Content-Length: 2, 2",
            "Content-Length: 2\r\nContent-Length: 2",
            "Content-Length: 2\r\nTransfer-Encoding: chunked",
        ] {
            let (_, fields) = parsed(&format!("HTTP/1.1 200 OK\r\n{field}\r\n\r\n"));
            assert!(!fields.plain(), "{field}");
            assert_eq!(fields.content_length(), None, "{field}");
        }
        let (_, fields) =
            parsed("HTTP/1.1 200 OK\r\nDATE: x\r\nConnection: close, upgrade\r\n\r\n");
        assert!(fields.plain() && fields.has_date());
    }

    #[test]
    fn fields_are_refilled_for_each_head() {
        let mut fields = Fields::default();
        let mut buf = BytesMut::from(
            "HTTP/1.1 200 OK\r\nDate: x\r\nTrailer: y\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 204 No Content\r\nX-B: 1\r\n\r\n",
        );
        parse_head(&mut buf, &mut fields).unwrap().unwrap();
        assert!(!fields.plain() && fields.has_date());
        let h = parse_head(&mut buf, &mut fields).unwrap().unwrap();
        assert_eq!(h.status, StatusCode::NO_CONTENT);
        assert!(fields.plain() && !fields.has_date() && fields.content_length().is_none());
        let mut out = Vec::new();
        fields.write(&mut out);
        assert_eq!(&out[..], b"X-B: 1\r\n");
    }

    fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, Option<HeaderMap>), Invalid> {
        let mut dec = Chunked::default();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut trailers = None;
        let mut fed = 0;
        loop {
            match dec.decode(&mut buf)? {
                Decoded::Data(d) => body.extend_from_slice(&d),
                Decoded::Trailers(t) => trailers = Some(t),
                Decoded::End => return Ok((body, trailers)),
                Decoded::NeedMore => {
                    if fed == input.len() {
                        return Err(Invalid("test input ended"));
                    }
                    let n = step.min(input.len() - fed);
                    buf.extend_from_slice(&input[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_read_sizes() {
        let input = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-sum: 42\r\n\r\n";
        for step in [1, 2, 3, 7, input.len()] {
            let (body, trailers) = decode_all(input, step).unwrap();
            assert_eq!(body, b"hello, world", "step {step}");
            assert_eq!(trailers.unwrap()["x-sum"], "42");
        }
        let (body, trailers) = decode_all(b"A\r\n0123456789\r\n0\r\n\r\n", 4).unwrap();
        assert_eq!((body.as_slice(), trailers), (&b"0123456789"[..], None));
    }

    #[test]
    fn broken_chunking_is_refused() {
        for bad in [
            &b"5\r\nhelloXX0\r\n\r\n"[..],
            b"g\r\n",
            b"\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"5\nhello\r\n0\r\n\r\n",
        ] {
            assert!(
                decode_all(bad, 1).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = vec![b'1'; MAX_CHUNK_LINE + 10];
        assert_eq!(
            decode_all(&long, 100).unwrap_err(),
            Invalid("chunk size line too long")
        );
        let mut ext = b"1;".to_vec();
        ext.extend(vec![b'a'; MAX_CHUNK_LINE + 10]);
        assert_eq!(
            decode_all(&ext, 100).unwrap_err(),
            Invalid("chunk size line too long")
        );
    }
}
