//! The admin-socket client side: one line out, one JSON line back (SPEC §4).
//!
//! Kept raw on purpose: tests assert on the bytes the daemon sends, not on
//! what the protocol crate would make of them.

use std::path::Path;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::wait::patience;

/// Connects to `socket`, writes `bytes` as they are, and returns the reply
/// line (with its `\n`). Fails if the reply is not `\n`-terminated.
pub async fn exchange(socket: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let mut stream = tokio::time::timeout(patience(), UnixStream::connect(socket))
        .await
        .map_err(|_| anyhow::anyhow!("connect to {} timed out", socket.display()))??;
    stream.write_all(bytes).await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    tokio::time::timeout(patience(), reader.read_line(&mut line))
        .await
        .map_err(|_| anyhow::anyhow!("no reply within {:?}", patience()))??;
    anyhow::ensure!(
        line.ends_with('\n'),
        "reply not terminated by \\n: {line:?}"
    );
    Ok(line)
}

/// Sends one command line (a `\n` is added if missing) and parses the reply.
pub async fn command(socket: &Path, line: &str) -> anyhow::Result<Value> {
    let mut bytes = line.as_bytes().to_vec();
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    let reply = exchange(socket, &bytes).await?;
    serde_json::from_str(reply.trim_end())
        .map_err(|e| anyhow::anyhow!("reply is not JSON ({e}): {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::UnixListener;

    #[tokio::test]
    async fn sends_one_line_and_reads_one_reply() {
        let dir = crate::proxy::short_tempdir();
        let socket = dir.path().join("a.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            let n = conn.read(&mut buf).await.unwrap();
            let reply = format!(
                "{{\"status\":\"ok\",\"protocol\":1,\"got\":{:?}}}\n",
                String::from_utf8_lossy(&buf[..n])
            );
            conn.write_all(reply.as_bytes()).await.unwrap();
        });
        let reply = command(&socket, "ready").await.unwrap();
        assert_eq!(reply["got"], "ready\n");
        server.await.unwrap();
    }
}
