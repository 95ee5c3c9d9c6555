//! Bodies stream through proxyd both ways. 10 MiB pattern bodies are
//! generated and checked chunk by chunk, so neither the test nor the upstream
//! holds them whole; the sites raise `max_body_size` well above 10 MiB so the
//! limit is not what is being tested.

use http::Method;
use proxyd_e2e::client::{self, check_pattern, request};
use proxyd_e2e::{q, PatternBody, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

const TEN_MIB: u64 = 10 * 1024 * 1024;

async fn proxy_to(up: &TestUpstream) -> TestProxy {
    ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .set("max_body_size", &q("64MiB"))
                .route(Route::upstream("/", "api")),
        )
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_request_body_of_10_mib_reaches_upstream_intact() {
    let up = TestUpstream::http1().sink("/upload").spawn().await;
    let px = proxy_to(&up).await;

    let req = request(Method::POST, "app.test", "/upload")
        .body(PatternBody::chunked(TEN_MIB))
        .unwrap();
    let resp = client::fetch(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200, "body: {}", resp.text());
    assert_eq!(resp.text(), format!("len={TEN_MIB} ok=true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sized_request_body_of_10_mib_reaches_upstream_intact() {
    let up = TestUpstream::http1().sink("/upload").spawn().await;
    let px = proxy_to(&up).await;

    let req = request(Method::PUT, "app.test", "/upload")
        .body(PatternBody::sized(TEN_MIB))
        .unwrap();
    let resp = client::fetch(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200, "body: {}", resp.text());
    assert_eq!(resp.text(), format!("len={TEN_MIB} ok=true"));
    assert_eq!(
        up.last_request().header("content-length"),
        Some(TEN_MIB.to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_body_of_10_mib_reaches_client_intact() {
    let up = TestUpstream::http1()
        .stream("/download", TEN_MIB)
        .spawn()
        .await;
    let px = proxy_to(&up).await;

    let req = request(Method::GET, "app.test", "/download")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = client::send(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let check = check_pattern(resp.into_body()).await.unwrap();
    assert!(check.is_exactly(TEN_MIB), "{check:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_body_echoed_by_upstream_streams_both_ways() {
    let up = TestUpstream::http1().echo("/echo").spawn().await;
    let px = proxy_to(&up).await;

    let req = request(Method::POST, "app.test", "/echo")
        .body(PatternBody::chunked(TEN_MIB))
        .unwrap();
    let resp = client::send(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let check = check_pattern(resp.into_body()).await.unwrap();
    assert!(check.is_exactly(TEN_MIB), "{check:?}");
}
