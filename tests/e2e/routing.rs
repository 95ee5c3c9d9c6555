//! Requests reach the right route: the three route kinds, Host matching,
//! longest path prefix, `strip_prefix`, and the error statuses of proxying.

use std::time::Duration;

use proxyd_e2e::{ports, q, ProxyConfig, Route, Site, TestUpstream, Upstream};

// === route kinds ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respond_route_answers_with_status_body_and_content_type() {
    let px = ProxyConfig::new()
        .site(Site::new("app", ["app.test"]).route(Route::respond(
            "/ping",
            202,
            "pong",
            "text/x-pong",
        )))
        .start()
        .await;

    let resp = px.get("app.test", "/ping").await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.text(), "pong");
    assert_eq!(resp.header("content-type"), Some("text/x-pong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_route_answers_with_status_and_location() {
    let px = ProxyConfig::new()
        .site(Site::new("app", ["app.test"]).route(Route::redirect(
            "/old/",
            "https://new.example.test/",
            301,
        )))
        .start()
        .await;

    let resp = px.get("app.test", "/old/page").await;
    assert_eq!(resp.status(), 301);
    assert_eq!(resp.header("location"), Some("https://new.example.test/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_route_forwards_path_and_preserved_host() {
    let up = TestUpstream::http1()
        .route("/api/items", "items")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]).set("preserve_host", "true"))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;

    let resp = px.get("app.test", "/api/items?page=2").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "items");
    assert_eq!(up.request_count(), 1);
    let seen = up.last_request();
    assert_eq!(seen.method, http::Method::GET);
    assert_eq!(seen.path_and_query(), "/api/items?page=2");
    assert_eq!(seen.host(), Some("app.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_without_preserve_host_gets_server_address_as_host() {
    let up = TestUpstream::http1().route("/x", "x").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]).set("preserve_host", "false"))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;

    assert_eq!(px.get("app.test", "/x").await.status(), 200);
    assert_eq!(
        up.last_request().host(),
        Some(up.addr().to_string().as_str())
    );
}

// === Host matching ===

fn host_sites() -> ProxyConfig {
    ProxyConfig::new()
        .site(Site::new("exact", ["a.example.test"]).route(Route::respond(
            "/",
            200,
            "exact",
            "text/plain",
        )))
        .site(Site::new("wild", ["*.example.test"]).route(Route::respond(
            "/",
            200,
            "wildcard",
            "text/plain",
        )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_host_beats_wildcard_beats_default_site() {
    let px = host_sites()
        .site(Site::new("fallback", ["*"]).route(Route::respond("/", 200, "default", "text/plain")))
        .start()
        .await;

    assert_eq!(px.get("a.example.test", "/").await.text(), "exact");
    assert_eq!(px.get("b.example.test", "/").await.text(), "wildcard");
    assert_eq!(px.get("deep.b.example.test", "/").await.text(), "wildcard");
    assert_eq!(px.get("other.test", "/").await.text(), "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_with_port_matches_its_site() {
    let px = host_sites().start().await;
    let host = format!("a.example.test:{}", px.http_addr().port());
    assert_eq!(px.get(&host, "/").await.text(), "exact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_without_default_site_is_404() {
    let px = host_sites().start().await;
    assert_eq!(px.get("nobody.test", "/").await.status(), 404);
}

// === paths ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_path_prefix_wins() {
    let px = ProxyConfig::new()
        .site(
            Site::new("app", ["app.test"])
                // Declared shortest-last on purpose: order must not matter.
                .route(Route::respond("/api/", 200, "api", "text/plain"))
                .route(Route::respond("/api/v2/", 200, "v2", "text/plain"))
                .route(Route::respond("/", 200, "root", "text/plain")),
        )
        .start()
        .await;

    assert_eq!(px.get("app.test", "/api/v2/users").await.text(), "v2");
    assert_eq!(px.get("app.test", "/api/v1/users").await.text(), "api");
    assert_eq!(px.get("app.test", "/api/").await.text(), "api");
    assert_eq!(px.get("app.test", "/api").await.text(), "root");
    assert_eq!(px.get("app.test", "/other").await.text(), "root");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strip_prefix_route_forwards_the_rest_of_the_path() {
    let up = TestUpstream::http1().route("/users", "users").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .route(Route::upstream("/api/", "api").set("strip_prefix", "true"))
                .route(Route::respond("/", 200, "root", "text/plain")),
        )
        .start()
        .await;

    let resp = px.get("app.test", "/api/users?id=7").await;
    assert_eq!(resp.status(), 200, "body: {}", resp.text());
    assert_eq!(resp.text(), "users");
    assert_eq!(up.last_request().path_and_query(), "/users?id=7");
}

// === proxy errors ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_where_nothing_listens_is_502() {
    let px = ProxyConfig::new()
        .upstream(Upstream::new("gone", [ports::dead_addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "gone")))
        .start()
        .await;

    assert_eq!(px.get("app.test", "/x").await.status(), 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_slower_than_request_timeout_is_504() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_secs(5), "too late")
        .route("/fast", "fast")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .set("request_timeout", &q("300ms"))
                .route(Route::upstream("/", "api")),
        )
        .start()
        .await;

    let started = std::time::Instant::now();
    assert_eq!(px.get("app.test", "/slow").await.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "504 came only after {:?}",
        started.elapsed()
    );
    // The timeout is per request, not a broken upstream.
    assert_eq!(px.get("app.test", "/fast").await.status(), 200);
}
