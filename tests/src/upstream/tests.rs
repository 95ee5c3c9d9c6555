//! The harness checks itself: client ↔ upstream with no proxy between.

use super::*;
use crate::client::{check_pattern, fetch, get, request, send};

const LEN: u64 = 3 * 1024 * 1024 + 17;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_record_and_answer() {
    let up = TestUpstream::http1()
        .route("/a", "alpha")
        .route_status("/teapot", 418, "tea")
        .spawn()
        .await;
    let resp = get(up.addr(), "x.test", "/a?q=1").await;
    assert_eq!((resp.status(), resp.text().as_str()), (200, "alpha"));
    assert_eq!(get(up.addr(), "x.test", "/teapot").await.status(), 418);
    assert_eq!(get(up.addr(), "x.test", "/nope").await.status(), 404);
    assert_eq!(up.request_count(), 3);
    let first = &up.requests()[0];
    assert_eq!(first.path_and_query(), "/a?q=1");
    assert_eq!(first.host(), Some("x.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_through_sink_stream_and_echo() {
    let up = TestUpstream::http1()
        .sink("/sink")
        .stream("/stream", LEN)
        .echo("/echo")
        .spawn()
        .await;
    let req = request(Method::POST, "x.test", "/sink")
        .body(PatternBody::chunked(LEN))
        .unwrap();
    let resp = fetch(up.addr(), req).await.unwrap();
    assert_eq!(resp.text(), format!("len={LEN} ok=true"));

    let req = request(Method::GET, "x.test", "/stream")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let resp = send(up.addr(), req).await.unwrap();
    assert_eq!(
        resp.headers()["content-length"].to_str().unwrap(),
        LEN.to_string()
    );
    assert!(check_pattern(resp.into_body())
        .await
        .unwrap()
        .is_exactly(LEN));

    let req = request(Method::POST, "x.test", "/echo")
        .body(PatternBody::sized(LEN))
        .unwrap();
    let resp = send(up.addr(), req).await.unwrap();
    assert!(check_pattern(resp.into_body())
        .await
        .unwrap()
        .is_exactly(LEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_waits_before_answering() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_millis(200), "late")
        .spawn()
        .await;
    let started = std::time::Instant::now();
    assert_eq!(get(up.addr(), "x.test", "/slow").await.text(), "late");
    assert!(started.elapsed() >= Duration::from_millis(200));
}
