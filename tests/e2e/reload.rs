//! Reloads: SIGHUP, `proxyctl reload` and the admin `reload` command pick up
//! a new config; a broken config is rejected with its `file:line:col`, the
//! old config keeps serving and the generation does not move.

use std::path::Path;

use proxyd_e2e::{line_of, q, wait_for_generation, ProxyConfig, Route, Site, TestProxy};

fn base() -> ProxyConfig {
    ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "old",
        "text/plain",
    )))
}

fn with_new_route() -> ProxyConfig {
    base().site(
        Site::new("app", ["app.test"])
            .route(Route::respond("/", 200, "old", "text/plain"))
            .route(Route::respond("/new", 200, "new", "text/plain")),
    )
}

/// A config whose only error is a route naming an upstream that does not
/// exist; returns it with the 1-based line of that reference.
fn write_broken(px: &mut TestProxy) -> usize {
    let broken = base().site(
        Site::new("app", ["app.test"])
            .route(Route::respond("/", 200, "old", "text/plain"))
            .route(Route::upstream("/new", "missing")),
    );
    let text = px.write(broken);
    line_of(&text, &format!("upstream = {}", q("missing")))
}

/// Asserts that `text` contains `<path>:<line>:<col>:`.
fn assert_location(text: &str, path: &Path, line: usize) {
    let prefix = format!("{}:{line}:", path.display());
    let found = text.match_indices(&prefix).any(|(i, _)| {
        let rest = &text[i + prefix.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(':')
    });
    assert!(found, "expected `{prefix}<col>:` in:\n{text}");
}

async fn assert_still_old(px: &TestProxy) {
    assert_eq!(px.get("app.test", "/").await.text(), "old");
    let new = px.get("app.test", "/new").await;
    assert_eq!(new.text(), "old", "the rejected route must not serve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reload_picks_up_a_new_route() {
    let mut px = base().start().await;
    assert_eq!(px.generation().await, 1);
    assert_eq!(px.get("app.test", "/new").await.text(), "old");

    px.write(with_new_route());
    px.sighup();
    wait_for_generation(&px, 2).await;

    assert_eq!(px.get("app.test", "/new").await.text(), "new");
    assert_eq!(px.get("app.test", "/").await.text(), "old");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxyctl_reload_picks_up_a_new_route_and_bumps_generation() {
    let mut px = base().start().await;
    let before = px.generation().await;

    px.write(with_new_route());
    px.ctl().args(["reload"]).assert().code(0);

    // proxyctl returns after the swap: no waiting needed.
    assert_eq!(px.generation().await, before + 1);
    assert_eq!(px.get("app.test", "/new").await.text(), "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reload_reports_generation_and_changes() {
    let mut px = base().start().await;
    px.write(
        with_new_route().site(Site::new("blog", ["blog.test"]).route(Route::respond(
            "/",
            200,
            "blog",
            "text/plain",
        ))),
    );

    let reply = px.admin("reload").await;
    assert_eq!(reply["status"], "ok", "{reply}");
    assert_eq!(reply["protocol"], 1, "{reply}");
    assert_eq!(reply["generation"], 2, "{reply}");
    assert!(reply["changes"].is_object(), "{reply}");
    let added = reply["changes"]["sites"]["added"].as_array();
    assert!(
        added.is_some_and(|a| a.contains(&serde_json::json!("blog"))),
        "blog not among changes.sites.added: {reply}"
    );
    assert!(reply["warnings"].is_array(), "{reply}");
    assert_eq!(px.get("blog.test", "/").await.text(), "blog");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxyctl_reload_rejects_a_missing_upstream_and_keeps_serving() {
    let mut px = base().start().await;
    let before = px.generation().await;
    let line = write_broken(&mut px);

    let out = px.ctl().args(["reload"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_location(&stderr, px.config_path(), line);
    assert!(stderr.contains("missing"), "stderr: {stderr}");

    assert_eq!(px.generation().await, before);
    assert_still_old(&px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reload_rejects_a_missing_upstream_with_running_generation() {
    let mut px = base().start().await;
    let before = px.generation().await;
    let line = write_broken(&mut px);

    let reply = px.admin("reload").await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["protocol"], 1, "{reply}");
    assert_eq!(reply["generation"], before, "{reply}");
    let message = reply["message"].as_str().expect("message is a string");
    assert!(
        message.starts_with(&format!("{}:{line}:", px.config_path().display())),
        "message should start with file:line:col: {message}"
    );
    assert_location(message, px.config_path(), line);

    assert_eq!(px.generation().await, before);
    assert_still_old(&px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_broken_config_keeps_serving_the_old_one() {
    let mut px = base().start().await;
    write_broken(&mut px);
    px.sighup();

    // The failed attempt shows in status; the generation stays.
    let ph = &px;
    let recorded = proxyd_e2e::eventually_async(proxyd_e2e::patience(), || async move {
        ph.status().await["config"]["last_reload"]["result"] == "error"
    })
    .await;
    let status = px.status().await;
    assert!(recorded, "last_reload never became error: {status}");
    assert_eq!(status["config"]["generation"], 1, "{status}");
    assert_still_old(&px).await;

    // And a fixed file reloads fine afterwards.
    px.write(with_new_route());
    px.sighup();
    wait_for_generation(&px, 2).await;
    assert_eq!(px.get("app.test", "/new").await.text(), "new");
}
