//! WebSocket through proxyd (SPEC §6): 101, then frames both ways, counted
//! as an active connection, and closed after `idle_timeout` of silence.

use futures_util::{SinkExt, StreamExt};
use proxyd_e2e::ws::WsEcho;
use proxyd_e2e::Upstream;
use proxyd_e2e::{eventually, eventually_async, patience, q, ProxyConfig, Route, Site, TestProxy};
use tokio_tungstenite::tungstenite::Message;

async fn proxy(echo: &WsEcho, idle: &str) -> TestProxy {
    ProxyConfig::new()
        .upstream(Upstream::new("ws", [echo.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .set("idle_timeout", &q(idle))
                .route(Route::upstream("/", "ws")),
        )
        .start()
        .await
}

async fn active_connections(px: &TestProxy) -> u64 {
    px.status().await["listeners"][0]["active_connections"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_frames_flow_both_ways_through_the_proxy() {
    let echo = WsEcho::spawn().await;
    let px = proxy(&echo, "60s").await;
    let url = format!("ws://{}/chat", px.http_addr());
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("host", "app.test".parse().unwrap());
    let (mut ws, resp) = tokio::time::timeout(patience(), tokio_tungstenite::connect_async(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 101);
    for i in 0..5 {
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        let back = tokio::time::timeout(patience(), ws.next()).await.unwrap();
        assert_eq!(back.unwrap().unwrap(), Message::text(format!("hello {i}")));
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let back = tokio::time::timeout(patience(), ws.next()).await.unwrap();
    assert_eq!(
        back.unwrap().unwrap(),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    assert_eq!(echo.accepted(), 1);
    // The upgraded connection still counts as active.
    assert!(active_connections(&px).await >= 1);
    ws.close(None).await.unwrap();
    assert!(eventually(patience(), || echo.ended() == 1).await);
    drop(ws);
    assert!(eventually_async(patience(), || async { active_connections(&px).await == 0 }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_websocket_is_closed_after_idle_timeout() {
    let echo = WsEcho::spawn().await;
    let px = proxy(&echo, "300ms").await;
    let url = format!("ws://{}/chat", px.http_addr());
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("host", "app.test".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text("ping")).await.unwrap();
    assert!(ws.next().await.unwrap().is_ok());
    // Say nothing: the proxy closes both sides.
    let ended = tokio::time::timeout(patience(), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "still open after {:?}", patience());
    assert!(eventually(patience(), || echo.ended() == 1).await);
}
