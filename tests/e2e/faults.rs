//! Fault injection (issue #9), the short cases CI runs: an upstream killed
//! under load, one that never answers, one that resets mid-body, a
//! slowloris crowd, a client that never reads, and SIGTERM under load.
//! Each asserts what the client saw *and* what proxyd holds afterwards
//! (fds, RSS from `/proc/<pid>/`). Longer variants: `faults_soak.rs`
//! (`PROXYD_SOAK=1`).

use std::time::Duration;

use proxyd_e2e::hostile::{FloodUpstream, ResettingUpstream, SilentUpstream};
use proxyd_e2e::load::{join, Load};
use proxyd_e2e::procstat::{raise_fd_limit, usage};
use proxyd_e2e::{
    eventually, get, patience, q, Backend, ProxyConfig, Route, Site, TestProxy, TestUpstream,
    Upstream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn site(upstream: &str) -> Site {
    Site::new("app", ["app.test"])
        .route(Route::upstream("/", upstream))
        .route(Route::respond("/ping", 200, "pong", "text/plain"))
}

/// Waits until proxyd's fd count is back to at most `limit`; panics with
/// the numbers otherwise.
async fn fds_settle(px: &TestProxy, limit: usize, what: &str) {
    let pid = px.pid();
    let settled = eventually(patience(), || usage(pid).fds <= limit).await;
    assert!(
        settled,
        "{what}: proxyd holds {} fds, expected at most {limit}\n{}",
        usage(pid),
        px.log_tail(20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_killed_under_load_fails_no_idempotent_request() {
    let a = Backend::spawn("a").await;
    let mut b = Backend::spawn("b").await;
    let px = ProxyConfig::new()
        .upstream(
            Upstream::new("api", [a.addr(), b.addr()])
                .set("retries", "1")
                .set("passive", "{ max_failures = 1, cooldown = \"60s\" }"),
        )
        .site(site("api"))
        .start()
        .await;
    let load = Load::new();
    let clients: Vec<_> = (0..8)
        .map(|_| load.client(px.http_addr(), "app.test", "/", 400, patience() * 3))
        .collect();
    let warm = eventually(patience(), || load.done() >= 200).await;
    assert!(warm, "the load never got going");
    b.kill().await;
    let after_kill = load.done();
    let tally = join(clients).await;
    assert_eq!(
        tally.failed,
        0,
        "{:#?}\n{}",
        tally.failures,
        px.log_tail(20)
    );
    assert!(tally.ok > after_kill, "no request ran after the kill");
    eprintln!(
        "killed b after {after_kill} of {} requests; a answered {}, b {}; 0 failed",
        tally.ok,
        a.hits(),
        b.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_gives_504s_and_nothing_piles_up() {
    const REQUESTS: usize = 60;
    let silent = SilentUpstream::spawn().await;
    let px = ProxyConfig::new()
        .defaults("request_timeout", &q("300ms"))
        .upstream(Upstream::new("hung", [silent.addr()]).set("retries", "0"))
        .site(site("hung"))
        .start()
        .await;
    // Warm up (allocator, first connection) before the baseline.
    assert_eq!(px.get("app.test", "/x").await.status(), 504);
    let before = usage(px.pid());
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let addr = px.http_addr();
            tokio::spawn(async move { get(addr, "app.test", "/x").await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status(), 504, "{}", r.text());
    }
    // Every upstream connection proxyd opened for a timed-out request is
    // closed again: the silent server sees them go, proxyd's fds return.
    let closed = eventually(patience(), || silent.open() == 0).await;
    assert!(
        closed,
        "{} of {} upstream connections still open",
        silent.open(),
        silent.accepted()
    );
    fds_settle(&px, before.fds + 2, "after 504s").await;
    let after = usage(px.pid());
    eprintln!("silent upstream, {REQUESTS} requests: before {before}; after {after}");
    assert!(
        after.rss_kib < before.rss_kib + 16 * 1024,
        "RSS grew from {before} to {after}"
    );
    assert_eq!(px.get("app.test", "/ping").await.text(), "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_reset_mid_body_is_a_clean_error_and_nothing_hangs() {
    use http_body_util::BodyExt;
    let reset = ResettingUpstream::spawn(64 * 1024).await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("rst", [reset.addr()]).set("retries", "0"))
        .site(site("rst"))
        .start()
        .await;
    let before = usage(px.pid());
    for i in 0..10 {
        let req = proxyd_e2e::client::request(http::Method::GET, "app.test", "/big")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let resp = proxyd_e2e::client::send(px.http_addr(), req)
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e:#}"));
        // The head went out before the reset: 200 with the promised length.
        assert_eq!(resp.status(), 200);
        let body = tokio::time::timeout(patience(), resp.into_body().collect()).await;
        match body {
            Err(_) => panic!("request {i}: the body hangs after the upstream reset"),
            Ok(Ok(b)) => panic!(
                "request {i}: a cut body passed as complete ({} of {} bytes)",
                b.to_bytes().len(),
                ResettingUpstream::PROMISED
            ),
            Ok(Err(_)) => {} // the client sees the body cut off, as it was
        }
    }
    assert!(reset.resets() >= 10);
    fds_settle(&px, before.fds + 2, "after resets").await;
    assert_eq!(px.get("app.test", "/ping").await.text(), "pong");
}

/// How many slowloris connections this machine's fd limit allows (both the
/// test process and proxyd hold one per connection, and they share the
/// limit we raise here).
fn slowloris_count(want: usize) -> usize {
    let limit = raise_fd_limit(want as u64 * 2 + 1024) as usize;
    let fit = limit.saturating_sub(512);
    if fit < want {
        eprintln!("NOTICE: RLIMIT_NOFILE is {limit}: slowloris scaled down from {want} to {fit} connections");
    }
    want.min(fit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_crowd_does_not_starve_normal_clients_and_is_cut_off() {
    let n = slowloris_count(1000);
    let up = TestUpstream::http1().route("/", "ok").spawn().await;
    let px = ProxyConfig::new()
        .defaults("header_read_timeout", &q("5s"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(site("api"))
        .start()
        .await;
    let before = usage(px.pid());
    let mut crowd = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(px.http_addr())
            .await
            .unwrap_or_else(|e| panic!("slow connection {i}: {e}"));
        // Half a head, never finished.
        s.write_all(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ")
            .await
            .unwrap();
        crowd.push(s);
    }
    let crowd_ready = std::time::Instant::now();
    // Normal clients still get answers while the crowd waits...
    for _ in 0..20 {
        assert_eq!(px.get("app.test", "/").await.text(), "ok");
    }
    let pid = px.pid();
    let during = usage(pid);
    if crowd_ready.elapsed() >= Duration::from_secs(4) {
        eprintln!(
            "NOTICE: slow machine: the crowd may have been cut off before the normal requests ran"
        );
    }
    // After header_read_timeout each slow client is answered 408 or closed.
    let mut cut = 0;
    for mut s in crowd {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(patience(), s.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf);
        if read.is_ok() && (buf.is_empty() || text.starts_with("HTTP/1.1 408")) {
            cut += 1;
        }
    }
    assert_eq!(cut, n, "not every slow client was cut off");
    fds_settle(&px, before.fds + 2, "after the slowloris crowd").await;
    eprintln!(
        "slowloris {n}: before {before}; during {during}; after {}",
        usage(pid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_holds_bounded_memory() {
    const LIMIT: u64 = 512 * 1024 * 1024;
    let flood = FloodUpstream::spawn(LIMIT).await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("flood", [flood.addr()]))
        .site(site("flood"))
        .start()
        .await;
    let before = usage(px.pid());
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(b"GET /flood HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .await
        .unwrap();
    // Wait until the flood stalls: proxyd stopped reading from the upstream
    // because nobody reads from it. Two equal readings 200 ms apart.
    let end = std::time::Instant::now() + patience();
    let (mut last, mut stalled) = (u64::MAX, false);
    while !stalled && std::time::Instant::now() < end {
        let now = flood.written();
        stalled = now == last && now > 0;
        last = now;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let written = flood.written();
    let after = usage(px.pid());
    eprintln!("never-reading client: upstream wrote {} KiB before stalling; proxyd before {before}, stalled {after}", written / 1024);
    assert!(
        stalled,
        "the upstream never stalled ({written} bytes written)"
    );
    assert!(
        written < LIMIT,
        "the whole body went through ({written} bytes)"
    );
    assert!(
        after.rss_kib < before.rss_kib + 32 * 1024,
        "proxyd buffered: RSS from {before} to {after}"
    );
    drop(s);
    assert_eq!(px.get("app.test", "/ping").await.text(), "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_half_answers_nothing() {
    let up = TestUpstream::http1()
        .delay("/", Duration::from_millis(20), "ok")
        .spawn()
        .await;
    let mut px = ProxyConfig::new()
        .runtime("drain_timeout", &q("30s"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(site("api"))
        .start()
        .await;
    let load = Load::new();
    let clients: Vec<_> = (0..16)
        .map(|_| load.client(px.http_addr(), "app.test", "/", 200, patience() * 3))
        .collect();
    let warm = eventually(patience(), || load.done() >= 64).await;
    assert!(warm, "the load never got going");
    px.sigterm();
    let exit = px.wait_exit(patience()).await;
    assert_eq!(exit.code(), Some(0), "{}", px.log_tail(20));
    load.stop();
    let tally = join(clients).await;
    // Every request the upstream saw was answered in full to its client;
    // the rest were refused before anything was sent (closed or refused
    // connection), never answered with an error or a cut body.
    assert_eq!(
        tally.ok as usize,
        up.request_count(),
        "answered {} but the upstream saw {}; failures: {:#?}",
        tally.ok,
        up.request_count(),
        tally.failures
    );
    for f in &tally.failures {
        assert!(
            !f.starts_with("status") && !f.starts_with("no complete") && !f.contains("body"),
            "a request was half-answered or answered with an error: {f}"
        );
    }
    eprintln!(
        "SIGTERM under load: {} answered, {} refused cleanly, e.g. {:?}",
        tally.ok,
        tally.failed,
        tally.failures.first()
    );
}
