//! Hitless reload (SPEC §3): keep-alive clients hammer the proxy while the
//! config is reloaded over and over (one after another, then in a storm of
//! concurrent admin reloads and SIGHUPs moving the upstream between server
//! sets); not one request may fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use proxyd_e2e::client::request;
use proxyd_e2e::{
    eventually, patience, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream,
};
use tokio::net::TcpStream;

const CLIENTS: usize = 32;
const RELOADS: u64 = 20;
/// Per client: a bound on the loop, whatever the clock says.
const MAX_REQUESTS: u64 = 5_000;

fn config(up: &TestUpstream, round: u64) -> ProxyConfig {
    // Each round changes something real: a respond route's body.
    ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .route(Route::upstream("/", "api"))
                .route(Route::respond(
                    "/round",
                    200,
                    &round.to_string(),
                    "text/plain",
                )),
        )
}

/// One keep-alive connection sending `GET /` until `stop`; returns
/// (ok, failed, first failure).
async fn client(
    px_addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
) -> (u64, u64, Option<String>) {
    let deadline = Instant::now() + patience() * 3;
    let (mut ok, mut failed, mut first) = (0, 0, None);
    let mut sender = None;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && ok + failed < MAX_REQUESTS {
        if sender.is_none() {
            let tcp = match TcpStream::connect(px_addr).await {
                Ok(t) => t,
                Err(e) => {
                    failed += 1;
                    first.get_or_insert(format!("connect: {e}"));
                    continue;
                }
            };
            let Ok((s, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
            else {
                failed += 1;
                continue;
            };
            tokio::spawn(conn);
            sender = Some(s);
        }
        let s = sender.as_mut().expect("just set");
        let req = request(http::Method::GET, "app.test", "/")
            .body(Empty::<Bytes>::new())
            .expect("valid request");
        let result = async {
            let resp = s.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        match tokio::time::timeout(patience(), result).await {
            Ok(Ok((status, body))) if status == 200 && &body[..] == b"ok" => {
                ok += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                failed += 1;
                first.get_or_insert(format!("{other:?}"));
                sender = None;
            }
        }
    }
    (ok, failed, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_under_keep_alive_load_fail_no_request() {
    let up = TestUpstream::http1().route("/", "ok").spawn().await;
    let mut px: TestProxy = config(&up, 0).start().await;

    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(px.http_addr(), stop.clone(), total.clone())))
        .collect();
    // Reload only once every client is under way.
    let warm = eventually(patience(), || {
        total.load(Ordering::Relaxed) >= 4 * CLIENTS as u64
    })
    .await;
    assert!(warm, "the load never got going");

    for round in 1..=RELOADS {
        px.write(config(&up, round));
        let reply = px.admin("reload").await;
        assert_eq!(reply["status"], "ok", "reload {round}: {reply}");
        assert_eq!(reply["generation"], round + 1, "{reply}");
        assert_eq!(px.get("app.test", "/round").await.text(), round.to_string());
    }
    stop.store(true, Ordering::Relaxed);

    let mut failures = Vec::new();
    for c in clients {
        let (_, failed, first) = c.await.unwrap();
        if failed > 0 {
            failures.push(format!("{failed} failed, first: {first:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}\n{}", px.log_tail(40));
    let total = total.load(Ordering::Relaxed);
    eprintln!(
        "{total} requests over {CLIENTS} keep-alive connections, {RELOADS} reloads, 0 failed"
    );
    assert_eq!(px.generation().await, RELOADS + 1);
}

/// A storm: admin reloads and SIGHUPs fired all at once, each config moving
/// the upstream to another server set, while keep-alive clients run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_concurrent_reloads_moving_servers_fails_no_request() {
    use proxyd_e2e::load::{join, Load};
    const STORM: u64 = 12;
    let a = TestUpstream::http1().route("/", "ok").spawn().await;
    let b = TestUpstream::http1().route("/", "ok").spawn().await;
    let sets = [vec![a.addr()], vec![b.addr()], vec![a.addr(), b.addr()]];
    let config = |round: u64| {
        ProxyConfig::new()
            .upstream(Upstream::new("api", sets[(round % 3) as usize].clone()))
            .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
    };
    let mut px: TestProxy = config(0).start().await;
    let load = Load::new();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            load.client(
                px.http_addr(),
                "app.test",
                "/",
                MAX_REQUESTS,
                patience() * 3,
            )
        })
        .collect();
    assert!(
        eventually(patience(), || load.done() >= 64).await,
        "the load never got going"
    );

    for round in 1..=STORM {
        px.write(config(round));
        let storm: Vec<_> = (0..4)
            .map(|_| {
                let socket = px.socket_path().to_owned();
                tokio::spawn(async move { proxyd_e2e::admin::command(&socket, "reload").await })
            })
            .collect();
        px.sighup();
        for r in storm {
            let reply = r.await.unwrap().expect("admin reload");
            assert_eq!(reply["status"], "ok", "round {round}: {reply}");
        }
    }
    // Every admin reload is its own generation; SIGHUPs may coalesce.
    let generation = px.generation().await;
    assert!(generation > 4 * STORM, "generation {generation}");
    let served = load.done();
    assert!(
        eventually(patience(), || load.done() >= served + 64).await,
        "no request ran after the storm"
    );
    load.stop();
    let tally = join(clients).await;
    assert_eq!(
        tally.failed,
        0,
        "{:#?}\n{}",
        tally.failures,
        px.log_tail(20)
    );
    assert!(a.request_count() > 0 && b.request_count() > 0);
    eprintln!(
        "{} requests, 16 clients, {} generations in the storm, 0 failed",
        tally.ok, generation
    );
}
