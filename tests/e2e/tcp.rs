//! `[[tcp]]`: a layer-4 proxy carrying a line protocol both ways, with
//! half-close, over the same upstream pools and health logic as HTTP.

use std::net::SocketAddr;

use proxyd_e2e::{
    patience, ports, q, scrape, server_status, ProxyConfig, TcpEcho, TestProxy, Upstream,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

fn config(listen: SocketAddr, pool: Upstream) -> ProxyConfig {
    ProxyConfig::new().upstream(pool).extra(&format!(
        "[[tcp]]\nname = \"db\"\nlisten = {}\nupstream = \"echo\"",
        q(&listen.to_string())
    ))
}

async fn line(r: &mut BufReader<OwnedReadHalf>) -> String {
    let mut s = String::new();
    tokio::time::timeout(patience(), r.read_line(&mut s))
        .await
        .expect("a line within patience")
        .expect("read a line");
    s
}

async fn connect(
    px: &TestProxy,
    listen: SocketAddr,
) -> (BufReader<OwnedReadHalf>, tokio::net::tcp::OwnedWriteHalf) {
    let stream = TcpStream::connect(listen)
        .await
        .unwrap_or_else(|e| panic!("connect to [[tcp]] {listen}: {e}\n{}", px.log_tail(20)));
    let (r, w) = stream.into_split();
    (BufReader::new(r), w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_proxy_carries_a_line_protocol_both_ways_with_half_close() {
    let echo = TcpEcho::spawn("e1").await;
    let listen = ports::free_addr();
    let px = config(listen, Upstream::new("echo", [echo.addr()]))
        .start()
        .await;

    let (mut r, mut w) = connect(&px, listen).await;
    assert_eq!(line(&mut r).await, "hello from e1\n");
    w.write_all(b"one\n").await.unwrap();
    assert_eq!(line(&mut r).await, "echo: one\n");
    w.write_all(b"two\n").await.unwrap();
    assert_eq!(line(&mut r).await, "echo: two\n");

    let status = px.status().await;
    let db = status["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "db")
        .cloned()
        .unwrap();
    assert_eq!(
        (db["kind"].as_str(), db["active_connections"].as_u64()),
        (Some("tcp"), Some(1))
    );
    let s = server_status(&px, "echo", echo.addr()).await;
    assert_eq!(
        (
            s["active_connections"].as_u64(),
            s["requests_total"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let m = scrape(&px).await;
    assert_eq!(
        m.value("proxyd_active_connections", &[("listener", "db")]),
        Some(1.0)
    );

    // Our half-close reaches the server, which still answers on its half.
    w.shutdown().await.unwrap();
    assert_eq!(line(&mut r).await, "bye after 2 lines\n");
    let mut rest = Vec::new();
    tokio::time::timeout(patience(), r.read_to_end(&mut rest))
        .await
        .expect("EOF within patience")
        .unwrap();
    assert!(rest.is_empty(), "{rest:?}");

    let px = &px;
    let counted = proxyd_e2e::eventually_async(patience(), || async move {
        let m = scrape(px).await;
        m.value("proxyd_active_connections", &[("listener", "db")]) == Some(0.0)
            && m.value("proxyd_bytes_received_total", &[("listener", "db")]) == Some(8.0)
    })
    .await;
    let m = scrape(px).await;
    assert!(
        counted,
        "connection not closed and counted: {:?}",
        m.samples
    );
    let sent = "hello from e1\necho: one\necho: two\nbye after 2 lines\n".len() as f64;
    assert_eq!(
        m.value("proxyd_bytes_sent_total", &[("listener", "db")]),
        Some(sent)
    );
    assert_eq!(
        m.value("proxyd_tcp_connections_total", &[("listener", "db")]),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_proxy_retries_past_a_dead_server() {
    let echo = TcpEcho::spawn("e1").await;
    let dead = ports::dead_addr();
    let listen = ports::free_addr();
    let pool = Upstream::new("echo", [dead, echo.addr()]).set("retries", "1");
    let px = config(listen, pool).start().await;
    for _ in 0..4 {
        let (mut r, _w) = connect(&px, listen).await;
        assert_eq!(line(&mut r).await, "hello from e1\n");
    }
    assert_eq!(echo.connections(), 4);
    let s = server_status(&px, "echo", dead).await;
    assert!(s["failures_total"].as_u64().unwrap() >= 1, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_tcp_connections_are_drained_on_shutdown() {
    let echo = TcpEcho::spawn("e1").await;
    let listen = ports::free_addr();
    let mut px = config(listen, Upstream::new("echo", [echo.addr()]))
        .runtime("drain_timeout", &q("30s"))
        .start()
        .await;
    let (mut r, mut w) = connect(&px, listen).await;
    assert_eq!(line(&mut r).await, "hello from e1\n");

    px.sigterm();
    let draining = proxyd_e2e::eventually_async(patience(), || async {
        px.try_admin("status")
            .await
            .is_ok_and(|s| s["draining"] == true)
    })
    .await;
    assert!(draining, "{}", px.log_tail(20));
    // The open connection still carries traffic both ways while draining.
    w.write_all(b"still here\n").await.unwrap();
    assert_eq!(line(&mut r).await, "echo: still here\n");
    // Closing it ends the drain long before its 30 s budget.
    w.shutdown().await.unwrap();
    assert_eq!(line(&mut r).await, "bye after 1 lines\n");
    drop((r, w));
    assert!(px.wait_exit(patience()).await.success());
}
