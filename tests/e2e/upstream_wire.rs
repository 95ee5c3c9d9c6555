//! proxyd's own HTTP/1.1 client against upstreams that answer with exact,
//! scripted bytes: idle keep-alive connections the server closed, every
//! way a response can be delimited, informational responses, and answers
//! that are not HTTP or frame themselves twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Empty;
use proxyd_e2e::client::{self, request};
use proxyd_e2e::raw::send_raw;
use proxyd_e2e::{ProxyConfig, Route, Site, TestProxy, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted server sends for one path.
#[derive(Clone)]
struct Reply {
    bytes: &'static str,
    /// Close the connection this long after the reply (`ZERO`: at once).
    close_after: Option<Duration>,
}

fn reply(bytes: &'static str) -> Reply {
    Reply {
        bytes,
        close_after: None,
    }
}

/// An upstream that answers each request head with its path's bytes.
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl Scripted {
    async fn spawn(script: &[(&str, Reply)]) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script: Arc<HashMap<String, Reply>> = Arc::new(
            script
                .iter()
                .map(|(p, r)| ((*p).to_owned(), r.clone()))
                .collect(),
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(s, script.clone()));
            }
        });
        Scripted {
            addr,
            connections,
            _task: task,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut s: TcpStream, script: Arc<HashMap<String, Reply>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let Some(r) = script.get(&path) else { return };
        if s.write_all(r.bytes.as_bytes()).await.is_err() {
            return;
        }
        if let Some(after) = r.close_after {
            tokio::time::sleep(after).await;
            return;
        }
    }
}

async fn proxy_to(addr: SocketAddr) -> TestProxy {
    ProxyConfig::new()
        .runtime("worker_threads", "1")
        .upstream(Upstream::new("api", [addr]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await
}

async fn post(px: &TestProxy, path: &str) -> proxyd_e2e::TestResponse {
    let req = request(Method::POST, "app.test", path)
        .body(Empty::<Bytes>::new())
        .unwrap();
    client::fetch(px.http_addr(), req).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_server_closed_costs_no_request() {
    // Keep-alive in words, but every connection is closed 100 ms after its
    // one response. A POST is never retried once sent, so it only succeeds
    // if the closed connection is noticed before the request goes out.
    let up = Scripted::spawn(&[(
        "/",
        Reply {
            bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            close_after: Some(Duration::from_millis(100)),
        },
    )])
    .await;
    let px = proxy_to(up.addr).await;
    for round in 0..3 {
        let r = post(&px, "/").await;
        assert_eq!(
            (r.status(), r.text().as_str()),
            (200, "ok"),
            "round {round}"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(up.connections(), 3, "one fresh connection per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_framing_is_passed_on_and_bad_ones_are_502() {
    let up = Scripted::spawn(&[
        ("/sized", reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsized")),
        (
            "/chunked",
            reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nchu\r\n4\r\nnked\r\n0\r\n\r\n"),
        ),
        (
            "/hints",
            reply("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter"),
        ),
        (
            "/to-close",
            Reply {
                bytes: "HTTP/1.1 200 OK\r\n\r\nuntil the server closes",
                close_after: Some(Duration::ZERO),
            },
        ),
        (
            "/te-and-length",
            reply("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nte\r\n0\r\n\r\n"),
        ),
        (
            "/says-close",
            reply("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose"),
        ),
        (
            "/http10",
            reply("HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n1.0!"),
        ),
        (
            "/reason",
            reply("HTTP/1.1 299 Custom Thing\r\nContent-Length: 2\r\n\r\nok"),
        ),
        ("/garbage", reply("SSH-2.0-OpenSSH_9.2\r\n\r\n")),
        (
            "/two-lengths",
            reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
        ),
    ])
    .await;
    let px = proxy_to(up.addr).await;

    for (path, body) in [
        ("/sized", "sized"),
        ("/chunked", "chunked"),
        ("/hints", "after"),
    ] {
        for round in 0..2 {
            let r = px.get("app.test", path).await;
            assert_eq!(
                (r.status(), r.text().as_str()),
                (200, body),
                "{path} round {round}"
            );
        }
    }
    assert_eq!(
        up.connections(),
        1,
        "length, chunked and 1xx keep the connection"
    );

    let r = px.get("app.test", "/to-close").await;
    assert_eq!(
        (r.status(), r.text().as_str()),
        (200, "until the server closes")
    );
    let r = px.get("app.test", "/te-and-length").await;
    assert_eq!((r.status(), r.text().as_str()), (200, "te"), "chunked wins");
    assert!(r.headers.get("content-length").is_none());
    let before = up.connections();
    let r = px.get("app.test", "/sized").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        up.connections(),
        before + 1,
        "a response framed both ways is not followed on its connection"
    );

    // Connection: close (the server keeps the socket open anyway) and an
    // HTTP/1.0 answer without keep-alive: neither connection is reused.
    for (path, body) in [("/says-close", "close"), ("/http10", "1.0!")] {
        let before = up.connections();
        let r = px.get("app.test", path).await;
        assert_eq!((r.status(), r.text().as_str()), (200, body), "{path}");
        let r = px.get("app.test", "/sized").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            up.connections(),
            before + 1,
            "{path}: not followed on its connection"
        );
    }

    // An unusual reason phrase reaches the client as the server wrote it.
    let raw = send_raw(
        px.http_addr(),
        b"GET /reason HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        raw.text.starts_with("HTTP/1.1 299 Custom Thing\r\n"),
        "{}",
        raw.text
    );

    for path in ["/garbage", "/two-lengths"] {
        let r = px.get("app.test", path).await;
        assert_eq!(r.status(), 502, "{path}");
    }
    let r = px.get("app.test", "/sized").await;
    assert_eq!((r.status(), r.text().as_str()), (200, "sized"));
}

/// The header lines of a raw response head (after the status line).
fn field_lines(text: &str) -> Vec<&str> {
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.split("\r\n").skip(1).collect()
}

fn count(lines: &[&str], name: &str) -> usize {
    lines
        .iter()
        .filter(|l| {
            l.split(':')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstreams_fields_reach_the_client_as_sent_but_for_this_hops() {
    let up = Scripted::spawn(&[
        (
            "/fields",
            reply(
                "HTTP/1.1 200 OK\r\nServer: scripted\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\n\
                 Set-Cookie: a=1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
                 set-cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
            ),
        ),
        (
            "/own-id",
            reply("HTTP/1.1 200 OK\r\nX-Request-Id: from-upstream\r\nContent-Length: 2\r\n\r\nok"),
        ),
        (
            "/named",
            reply("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nContent-Length: 2\r\n\r\nok"),
        ),
    ])
    .await;
    let px = proxy_to(up.addr).await;
    let ask = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: app.test\r\nX-Request-Id: req-1\r\nConnection: close\r\n\r\n"
        )
    };

    let raw = send_raw(px.http_addr(), ask("/fields").as_bytes()).await;
    assert_eq!(raw.status, Some(200), "{}", raw.text);
    let lines = field_lines(&raw.text);
    let at = |line: &str| lines.iter().position(|l| *l == line);
    assert!(at("Server: scripted").is_some(), "{lines:?}");
    assert!(
        at("Set-Cookie: a=1") < at("set-cookie: b=2") && at("Set-Cookie: a=1").is_some(),
        "both cookies, in order: {lines:?}"
    );
    assert!(
        at("Date: Sun, 22 Nov 2026 10:00:00 GMT").is_some(),
        "{lines:?}"
    );
    for (name, n) in [
        ("date", 1),
        ("content-length", 1),
        ("x-request-id", 1),
        ("keep-alive", 0),
    ] {
        assert_eq!(count(&lines, name), n, "{name}: {lines:?}");
    }
    assert_eq!(raw.header("x-request-id"), Some("req-1"));

    // A request id of the upstream's own is replaced, and what its
    // `Connection` names stays on its hop.
    for path in ["/own-id", "/named"] {
        let raw = send_raw(px.http_addr(), ask(path).as_bytes()).await;
        assert_eq!(raw.status, Some(200), "{path}: {}", raw.text);
        let lines = field_lines(&raw.text);
        for (name, n) in [("x-request-id", 1), ("x-secret", 0), ("date", 1)] {
            assert_eq!(count(&lines, name), n, "{path}, {name}: {lines:?}");
        }
        assert_eq!(raw.header("x-request-id"), Some("req-1"), "{path}");
    }
}
