//! Limits and timeouts (SPEC §6, §8), each with its status code, and the
//! byte counters.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Empty;
use proxyd_e2e::client::{fetch, get, request};
use proxyd_e2e::raw::{read_response, send_raw};
use proxyd_e2e::{eventually, patience, q, PatternBody, ProxyConfig, Route, Site, TestProxy};
use proxyd_e2e::{TestUpstream, Upstream};

async fn proxy(up: &TestUpstream, site: impl FnOnce(Site) -> Site) -> TestProxy {
    ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(site(Site::new("app", ["app.test"])).route(Route::upstream("/", "api")))
        .start()
        .await
}

async fn metric(px: &TestProxy, name: &str) -> f64 {
    let text = get(px.health_addr(), "localhost", "/metrics").await.text();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_over_the_limit_is_413_without_upstream_contact() {
    let up = TestUpstream::http1().sink("/up").spawn().await;
    let px = proxy(&up, |s| s.set("max_body_size", &q("1KiB"))).await;
    let req = request(Method::POST, "app.test", "/up")
        .body(PatternBody::sized(4096))
        .unwrap();
    let resp = fetch(px.http_addr(), req).await;
    // The proxy may answer before reading the body and close.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413, "{}", resp.text());
    }
    assert_eq!(up.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_growing_past_the_limit_is_413() {
    let up = TestUpstream::http1().sink("/up").spawn().await;
    let px = proxy(&up, |s| s.set("max_body_size", &q("64KiB"))).await;
    let req = request(Method::POST, "app.test", "/up")
        .body(PatternBody::chunked(1024 * 1024))
        .unwrap();
    match fetch(px.http_addr(), req).await {
        Ok(resp) => assert_eq!(resp.status(), 413, "{}", resp.text()),
        // hyper may close while we still send; then the log must say 413.
        Err(_) => assert!(
            eventually(patience(), || px.logs().contains("status=413")).await,
            "{}",
            px.log_tail(20)
        ),
    }
    // A body under the limit still passes.
    let req = request(Method::POST, "app.test", "/up")
        .body(PatternBody::chunked(1000))
        .unwrap();
    let resp = fetch(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.text(), "len=1000 ok=true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_over_max_header_size_are_431() {
    let up = TestUpstream::http1().route("/", "ok").spawn().await;
    let px = ProxyConfig::new()
        .defaults("max_header_size", &q("16KiB"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    for size in [12 * 1024, 40 * 1024] {
        let big = "a".repeat(size);
        let raw =
            format!("GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: {big}\r\nX-Big2: {big}\r\n\r\n");
        let resp = send_raw(px.http_addr(), raw.as_bytes()).await;
        assert_eq!(resp.status, Some(431), "size {size}: {}", resp.text);
    }
    assert_eq!(up.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_cut_off() {
    let up = TestUpstream::http1().route("/", "ok").spawn().await;
    let px = ProxyConfig::new()
        .defaults("header_read_timeout", &q("300ms"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let mut s = tokio::net::TcpStream::connect(px.http_addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut s, b"GET / HTTP/1.1\r\nHost: app")
        .await
        .unwrap();
    // Slowloris: the head never completes. proxyd answers 408 or closes.
    let resp = read_response(&mut s).await;
    assert!(
        resp.closed || resp.status == Some(408),
        "still open after {:?}: {resp:?}",
        patience()
    );
    assert_eq!(up.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_is_504_after_request_timeout() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_secs(3), "late")
        .spawn()
        .await;
    let px = proxy(&up, |s| s.set("request_timeout", &q("200ms"))).await;
    assert_eq!(px.get("app.test", "/slow").await.status(), 504);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let up = TestUpstream::http1().route("/", "ok").spawn().await;
    let px = proxy(&up, |s| {
        s.set("rate_limit", "{ per_second = 1, burst = 2 }")
    })
    .await;
    let statuses: Vec<u16> = [
        px.get("app.test", "/").await,
        px.get("app.test", "/").await,
        px.get("app.test", "/").await,
    ]
    .iter()
    .map(|r| r.status())
    .collect();
    assert_eq!(statuses[..2], [200, 200]);
    let limited = px.get("app.test", "/").await;
    assert_eq!(limited.status(), 429);
    let secs: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs), "Retry-After {secs}");
    assert!(metric(&px, "proxyd_rate_limited_total").await >= 1.0);
    assert!(up.request_count() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_answers_503_with_retry_after() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_secs(2), "late")
        .route("/", "ok")
        .spawn()
        .await;
    let px = proxy(&up, |s| s.set("max_in_flight", "1")).await;
    let addr = px.http_addr();
    let slow = tokio::spawn(async move { get(addr, "app.test", "/slow").await });
    assert!(eventually(patience(), || up.request_count() == 1).await);
    let refused = px.get("app.test", "/").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(slow.await.unwrap().status(), 200);
    // The slot is free again.
    assert_eq!(px.get("app.test", "/").await.status(), 200);
    assert!(metric(&px, "proxyd_shed_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_shedding_refuses_a_share_when_latency_is_above_target() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_millis(30), "late")
        .spawn()
        .await;
    let px = proxy(&up, |s| s.set("shed_latency_target", &q("1ms"))).await;
    let mut shed = 0;
    // Bounded: 60 requests of ~30 ms; at 30× the target ~95 % are shed.
    for _ in 0..60 {
        let r = px.get("app.test", "/slow").await;
        assert!(matches!(r.status(), 200 | 503), "{}", r.status());
        if r.status() == 503 {
            assert!(r.header("retry-after").is_some());
            shed += 1;
        }
    }
    assert!(shed > 0, "nothing was shed");
    assert!(metric(&px, "proxyd_shed_total").await >= f64::from(shed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_in_and_out_are_counted_and_logged() {
    let up = TestUpstream::http1().echo("/echo").spawn().await;
    let px = proxy(&up, |s| s).await;
    let req = request(Method::POST, "app.test", "/echo")
        .body(PatternBody::chunked(100_000))
        .unwrap();
    let resp = fetch(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.body.len(), 100_000);
    assert!(
        eventually(patience(), || px
            .logs()
            .contains("bytes_in=100000 bytes_out=100000"))
        .await,
        "{}",
        px.log_tail(10)
    );
    assert!(metric(&px, "proxyd_bytes_received_total").await >= 100_000.0);
    assert!(metric(&px, "proxyd_bytes_sent_total").await >= 100_000.0);
    // Query strings stay out of the log.
    let req = request(Method::GET, "app.test", "/echo?token=s3cr3t")
        .body(Empty::<Bytes>::new())
        .unwrap();
    fetch(px.http_addr(), req).await.unwrap();
    assert!(eventually(patience(), || px.logs().matches("path=/echo").count() >= 2).await);
    assert!(!px.logs().contains("s3cr3t"));
}
