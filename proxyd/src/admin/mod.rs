//! The admin socket: a Unix stream socket speaking `proxyd-protocol`.
//!
//! One request per connection: read one line (at most `MAX_LINE` bytes,
//! within `IO_TIMEOUT`), answer one JSON line, close. Access is limited by
//! the socket's file mode and, in depth, by the peer's credentials
//! (`SO_PEERCRED`): root, proxyd's own user, and `allowed_users` /
//! `allowed_groups` only.

mod handlers;
mod peer;

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proxyd_protocol::{request, Reply, IO_TIMEOUT, MAX_LINE};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::config::Admin;
use crate::state::Shared;
pub use peer::Allowed;

/// Why the admin socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Creating the socket's directory failed.
    #[error("creating the admin socket directory {path}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Something that is not a socket sits at the path.
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// bind(2) or chmod(2) failed.
    #[error("binding the admin socket {path}")]
    Bind {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// A bound admin socket.
#[derive(Debug)]
pub struct AdminSocket {
    listener: UnixListener,
    path: PathBuf,
}

/// Binds the admin socket described by `cfg`. Returns `Ok(None)` when it is
/// disabled, or when another live process already answers on the path (we
/// then run without one and say so, rather than steal it).
pub async fn bind(cfg: &Admin) -> Result<Option<AdminSocket>, AdminError> {
    let Some(path) = cfg.socket.clone() else {
        return Ok(None);
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| AdminError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(&path).await.is_ok() {
                tracing::warn!(
                    socket = %path.display(),
                    "another process answers on the admin socket; running without one"
                );
                return Ok(None);
            }
            tracing::info!(socket = %path.display(), "removing stale admin socket");
            std::fs::remove_file(&path).map_err(|source| AdminError::Bind {
                path: path.clone(),
                source,
            })?;
        }
        Ok(_) => return Err(AdminError::NotASocket { path }),
        Err(_) => {}
    }
    let bind_err = |source| AdminError::Bind {
        path: path.clone(),
        source,
    };
    let listener = bind_private(&path).map_err(bind_err)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(cfg.socket_mode))
        .map_err(bind_err)?;
    Ok(Some(AdminSocket { listener, path }))
}

/// Binds with a umask that leaves the socket owner-only (0600 at most), so
/// there is no moment between bind(2) and chmod(2) when someone else could
/// connect. The umask is process-wide; startup binds the admin socket before
/// any other task creates files, and it is restored at once.
fn bind_private(path: &Path) -> io::Result<UnixListener> {
    use nix::sys::stat::{umask, Mode};
    let previous = umask(Mode::from_bits_truncate(0o177));
    let result = UnixListener::bind(path);
    umask(previous);
    result
}

impl AdminSocket {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves requests until the process exits. The socket keeps answering
    /// while draining, so `status` shows the drain. The returned handle
    /// removes the socket file at exit.
    pub fn spawn(self, shared: Arc<Shared>, allowed: Allowed) -> SocketFile {
        let file = SocketFile {
            inode: std::fs::metadata(&self.path).ok().map(|m| m.ino()),
            path: self.path.clone(),
        };
        let allowed = Arc::new(allowed);
        tokio::spawn(async move {
            loop {
                match self.listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(shared.clone(), allowed.clone(), stream));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "admin accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        });
        file
    }
}

/// The admin socket's path, to remove at a clean exit.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    inode: Option<u64>,
}

impl SocketFile {
    /// Removes the socket file if it is still ours: a daemon started since
    /// (after a stale-socket takeover) may own the path by now.
    pub fn remove(self) {
        let ours = std::fs::metadata(&self.path)
            .ok()
            .is_some_and(|m| Some(m.ino()) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn serve(shared: Arc<Shared>, allowed: Arc<Allowed>, mut stream: UnixStream) {
    let reply = match stream.peer_cred() {
        Ok(cred) if allowed.permits(cred.uid(), cred.gid()) => {
            match read_request(&mut stream).await {
                Ok(line) => match request::parse_line(&line) {
                    Ok(cmd) => handlers::handle(&shared, cmd).await,
                    Err(e) => Reply::error(e.to_string(), None).to_line(),
                },
                Err(message) => Reply::error(message, None).to_line(),
            }
        }
        Ok(cred) => {
            tracing::warn!(
                uid = cred.uid(),
                gid = cred.gid(),
                "admin client refused: permission denied"
            );
            Reply::error("permission denied", None).to_line()
        }
        Err(e) => {
            tracing::warn!(error = %e, "admin client refused: no peer credentials");
            Reply::error("permission denied", None).to_line()
        }
    };
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Reads one request line, bounded in size and time.
async fn read_request(stream: &mut UnixStream) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(stream).take(MAX_LINE as u64 + 1);
    match tokio::time::timeout(IO_TIMEOUT, reader.read_until(b'\n', &mut line)).await {
        Err(_) => Err(format!(
            "request not completed within {}s",
            IO_TIMEOUT.as_secs()
        )),
        Ok(Err(_)) => Err("invalid input".into()),
        Ok(Ok(_)) if line.len() > MAX_LINE => {
            Err(format!("request line longer than {MAX_LINE} bytes"))
        }
        Ok(Ok(_)) => Ok(line),
    }
}
