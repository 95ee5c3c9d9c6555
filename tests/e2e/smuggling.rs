//! Hostile input (SPEC §6, smuggling-safe): each ambiguous or malformed
//! request is sent over a raw TCP socket and must get 400 (or, for the
//! head-parsing cases hyper refuses itself, a 400 and a closed
//! connection), while the upstream asserts it never saw a request.

use proxyd_e2e::raw::send_raw;
use proxyd_e2e::{ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

async fn world() -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1()
        .route("/", "root")
        .route("/admin", "secret")
        .route("/x", "x")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .route(Route::upstream("/api/", "api").set("strip_prefix", "true"))
                .route(Route::upstream("/", "api")),
        )
        .start()
        .await;
    (up, px)
}

/// Sends `request` and asserts a 400 that never reached the upstream.
async fn refused(request: &str) {
    let (up, px) = world().await;
    let resp = send_raw(px.http_addr(), request.as_bytes()).await;
    assert_eq!(
        resp.status,
        Some(400),
        "request:\n{request}\nresponse:\n{}\n{}",
        resp.text,
        px.log_tail(20)
    );
    assert_eq!(
        up.request_count(),
        0,
        "the upstream saw {:?}",
        up.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_raw_request_is_forwarded() {
    // The control case: the helpers do reach the upstream.
    let (up, px) = world().await;
    let resp = send_raw(px.http_addr(), b"GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
    assert_eq!(resp.status, Some(200), "{}", resp.text);
    assert_eq!(up.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_400() {
    refused("POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_encoding_before_content_length_is_400() {
    refused("POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_equal_content_length_is_400() {
    refused(
        "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_differing_content_length_is_400() {
    refused(
        "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_encoding_not_ending_in_chunked_is_400() {
    refused("POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_encoding_on_http_1_0_is_400() {
    refused("POST /x HTTP/1.0\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_fold_is_400() {
    refused("GET /x HTTP/1.1\r\nHost: app.test\r\nX-Folded: a\r\n b\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_chunk_size_is_400() {
    refused("POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_cr_in_a_header_is_400() {
    refused("GET /x HTTP/1.1\r\nHost: app.test\r\nX-A: a\rb\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_with_a_different_host_is_400() {
    refused("GET http://other.test/x HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_form_outside_connect_is_400() {
    refused("GET app.test:80 HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_host_headers_are_400() {
    refused("GET /x HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_in_a_stripped_path_is_400() {
    refused("GET /api/../admin HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_dot_dot_is_400() {
    refused("GET /api/%2e%2E/admin HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_slash_is_400() {
    refused("GET /api%2Fadmin HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggled_second_request_in_a_body_never_reaches_the_upstream() {
    // The classic CL.TE attack: a front end honouring Content-Length would
    // forward the tail as a second request.
    refused("POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
}
