//! The ACME storage directory: account key, issued certificates, and the
//! lock that keeps two daemons on one host from ordering at the same time.
//!
//! ```text
//! <storage>/              0700
//!   account.key           0600  PKCS#8 PEM, created once
//!   lock                  0600  flock(2)ed while an order runs
//!   certs/<site>.pem      0644  chain, leaf first
//!   certs/<site>.key      0600  the certificate's key
//! ```
//!
//! Files are written to a temporary name and renamed into place, so a
//! reader (another daemon, a restart) never sees half a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;

use super::AcmeError;

/// The storage directory.
#[derive(Debug)]
pub(super) struct Storage {
    dir: PathBuf,
}

/// Held while an order runs; dropping it releases the lock.
pub(super) struct OrderLock(#[allow(dead_code)] Flock<File>);

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> AcmeError + 'a {
    move |source| AcmeError::Storage {
        path: path.to_path_buf(),
        what,
        source,
    }
}

impl Storage {
    /// Creates the directory (0700) if needed and checks it is writable.
    pub fn open(dir: &Path) -> Result<Storage, AcmeError> {
        fs::create_dir_all(dir.join("certs")).map_err(io(dir, "creating the directory"))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io(dir, "setting mode 0700"))?;
        let probe = dir.join(".write-test");
        write_atomic(&probe, b"", 0o600)?;
        let _ = fs::remove_file(&probe);
        Ok(Storage {
            dir: dir.to_path_buf(),
        })
    }

    /// The account key, created (and saved 0600) on first use.
    pub fn account_key(&self) -> Result<PrivatePkcs8KeyDer<'static>, AcmeError> {
        let path = self.dir.join("account.key");
        match fs::read(&path) {
            Ok(pem) => PrivatePkcs8KeyDer::from_pem_slice(&pem).map_err(|e| AcmeError::Invalid {
                path: path.clone(),
                why: format!("not a PKCS#8 PEM private key: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key =
                    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| {
                        AcmeError::Invalid {
                            path: path.clone(),
                            why: format!("generating a key: {e}"),
                        }
                    })?;
                write_atomic(&path, key.serialize_pem().as_bytes(), 0o600)?;
                tracing::info!(path = %path.display(), "created the ACME account key");
                Ok(PrivatePkcs8KeyDer::from(key.serialize_der()))
            }
            Err(e) => Err(io(&path, "reading the account key")(e)),
        }
    }

    /// The stored chain and key of `site`, if both exist.
    pub fn load_cert(&self, site: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        let (chain, key) = self.cert_paths(site);
        Some((fs::read(chain).ok()?, fs::read(key).ok()?))
    }

    /// Stores a new chain and key for `site`.
    pub fn save_cert(&self, site: &str, chain: &str, key: &str) -> Result<(), AcmeError> {
        let (chain_path, key_path) = self.cert_paths(site);
        write_atomic(&key_path, key.as_bytes(), 0o600)?;
        write_atomic(&chain_path, chain.as_bytes(), 0o644)
    }

    /// Takes the order lock without waiting; `None` if another process
    /// holds it.
    pub fn try_lock(&self) -> Result<Option<OrderLock>, AcmeError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path, "opening the lock file"))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(OrderLock(lock))),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(io(&path, "locking")(std::io::Error::from(e))),
        }
    }

    fn cert_paths(&self, site: &str) -> (PathBuf, PathBuf) {
        let stem = file_stem(site);
        let dir = self.dir.join("certs");
        (
            dir.join(format!("{stem}.pem")),
            dir.join(format!("{stem}.key")),
        )
    }
}

/// A site name as a file name: kept when it is plain, hex otherwise.
fn file_stem(site: &str) -> String {
    let plain = !site.is_empty()
        && !site.starts_with('.')
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        site.to_string()
    } else {
        let hex: String = site.bytes().map(|b| format!("{b:02x}")).collect();
        format!("x-{hex}")
    }
}

/// Writes `bytes` to `path` with `mode`, via a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AcmeError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp, "creating"))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp, "writing"))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        .map_err(io(&tmp, "setting its mode"))?;
    fs::rename(&tmp, path).map_err(io(path, "renaming into place"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_names_become_safe_file_names() {
        assert_eq!(file_stem("app"), "app");
        assert_eq!(file_stem("a.b-c_d"), "a.b-c_d");
        assert_eq!(file_stem("../x"), "x-2e2e2f78");
        assert_eq!(file_stem("a b"), "x-612062");
    }

    #[test]
    fn storage_is_private_and_the_account_key_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("acme");
        let s = Storage::open(&root).unwrap();
        let mode = fs::metadata(&root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let k1 = s.account_key().unwrap();
        let key_mode = fs::metadata(root.join("account.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(key_mode, 0o600);
        let k2 = Storage::open(&root).unwrap().account_key().unwrap();
        assert_eq!(k1.secret_pkcs8_der(), k2.secret_pkcs8_der());
        let lock = s.try_lock().unwrap();
        assert!(lock.is_some());
        assert!(Storage::open(&root).unwrap().try_lock().unwrap().is_none());
        drop(lock);
        assert!(s.try_lock().unwrap().is_some());
    }
}
