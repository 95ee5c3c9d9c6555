//! `[runtime] watch_config = true`: reload when the config file changes.
//!
//! Polls the file's metadata every [`POLL`] (no inotify dependency, and it
//! works the same for editors that rewrite in place and deploy tools that
//! rename a new file over the old one). When the metadata moves, the file is
//! hashed; a content that differs from both the running generation and the
//! last one tried is reloaded once it has stayed the same for one more poll
//! (the debounce: a file being written is not read half-way). The reload
//! goes through [`reload::reload`], exactly like SIGHUP. A content that
//! failed to reload is not retried until the file changes again.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::reload;
use crate::state::Shared;

/// How often the file's metadata is checked.
pub const POLL: Duration = Duration::from_millis(500);

/// What we compare between polls before reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        ino: meta.ino(),
    })
}

fn hash(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let digest = Sha256::digest(&bytes);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Decides, poll after poll, when a changed file should be reloaded.
#[derive(Debug)]
struct Debounce {
    /// The content last reloaded (or running at start).
    tried: String,
    /// A new content seen once, waiting to be seen again unchanged.
    candidate: Option<String>,
}

impl Debounce {
    /// Feeds one poll's hash; returns true when it is time to reload.
    fn observe(&mut self, current: &str, running: &str) -> bool {
        if current == self.tried || current == running {
            // Unchanged, or already live (e.g. reloaded by SIGHUP).
            self.candidate = None;
            return false;
        }
        if self.candidate.as_deref() == Some(current) {
            self.tried = current.to_owned();
            self.candidate = None;
            return true;
        }
        self.candidate = Some(current.to_owned());
        false
    }
}

/// Starts watching `shared.config_path` until shutdown begins.
pub fn spawn(shared: Arc<Shared>) {
    let path = shared.config_path.clone();
    tracing::info!(file = %path.display(), every = ?POLL, "watching the config file");
    let mut shutdown = shared.shutdown.subscribe();
    tokio::spawn(async move {
        let mut debounce = Debounce {
            tried: shared.snapshot.load().sha256.clone(),
            candidate: None,
        };
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // Shutdown began (or its sender is gone): stop watching.
                _ = shutdown.wait_for(|v| *v) => return,
            }
            let now = stamp(&path);
            if now == last && debounce.candidate.is_none() {
                continue;
            }
            last = now;
            let p = path.clone();
            let Ok(Some(current)) = tokio::task::spawn_blocking(move || hash(&p)).await else {
                // Missing for a moment (a rename in progress): next poll.
                continue;
            };
            let running = shared.snapshot.load().sha256.clone();
            if debounce.observe(&current, &running) {
                tracing::info!(file = %path.display(), "config file changed: reloading");
                // Errors are logged and recorded by reload itself.
                let _ = reload::reload(&shared).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reloads_once_it_is_stable_and_only_once() {
        let mut d = Debounce {
            tried: "a".into(),
            candidate: None,
        };
        assert!(!d.observe("a", "a"), "unchanged");
        assert!(!d.observe("b", "a"), "first sight of b waits");
        assert!(!d.observe("c", "a"), "still being written");
        assert!(d.observe("c", "a"), "c stayed: reload");
        assert!(!d.observe("c", "a"), "c was tried (failed): no retry loop");
        assert!(!d.observe("d", "d"), "already live via SIGHUP");
        assert!(!d.observe("a", "a"));
    }
}
