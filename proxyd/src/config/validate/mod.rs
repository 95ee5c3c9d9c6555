//! Validation: [`FileConfig`] → [`Config`], collecting every error and
//! warning (never only the first), and the file-level checks of `load`.
//!
//! This file owns the entry points and the static sections (`[admin]`,
//! `[health]`, `[runtime]`, `[acme]`); the others live beside it:
//! `listeners` (listeners, tcp, addresses), `limits` (`[defaults]` and site
//! overrides), `sites` (hosts, tls, routes), `headers` (header rules),
//! `upstreams`, and `tls_files` (certificate and key files).

mod headers;
mod limits;
mod listeners;
mod routes;
mod sites;
mod tls_files;
mod upstreams;
mod values;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::decode::decode;
use super::file::{Entry, FileAcme, FileAdmin, FileConfig, FileHealth, FileRuntime};
use super::report::Report;
use super::{
    Acme, AcmeChallenge, Admin, Config, ConfigError, Diagnostic, Health, Loaded, LogFormat,
};
use super::{Runtime, Severity};
use values::{nonzero_duration, one_of, path_in, socket_addr};

/// Let's Encrypt production.
pub(crate) const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let name = path.display().to_string();
    let whole_file = |message: String| ConfigError {
        errors: vec![Diagnostic {
            file: name.clone(),
            line: 0,
            column: 0,
            message,
            severity: Severity::Error,
        }],
        warnings: vec![],
        tls_only: false,
    };
    if path.is_dir() {
        return Err(whole_file("is a directory, not a config file".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        whole_file(match e.kind() {
            ErrorKind::NotFound => "config file not found".into(),
            ErrorKind::PermissionDenied => "cannot read config file: permission denied".into(),
            _ => format!("cannot read config file: {e}"),
        })
    })?;
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let source = match std::str::from_utf8(&bytes) {
        Ok(s) => s,
        Err(e) => {
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let (line, column) = Report::new(&name, &valid).position(valid.len());
            return Err(ConfigError {
                errors: vec![Diagnostic {
                    file: name,
                    line,
                    column,
                    message: "config file is not valid UTF-8".into(),
                    severity: Severity::Error,
                }],
                warnings: vec![],
                tls_only: false,
            });
        }
    };
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let (config, warnings) = run(source, &name, &base)?;
    Ok(Loaded {
        config,
        warnings,
        sha256,
        path: path.to_path_buf(),
    })
}

pub(crate) fn parse_str(
    source: &str,
    file: &str,
) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    run(source, file, Path::new(""))
}

/// Decodes and validates; relative paths in the file resolve against `base`.
fn run(source: &str, file: &str, base: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    let mut r = Report::new(file, source);
    let config = decode(&mut r, source).map(|fc| validate(&mut r, &fc, base));
    let tls_errors = r.tls_errors;
    let (errors, warnings) = r.finish();
    match config {
        Some(config) if errors.is_empty() => Ok((config, warnings)),
        _ => Err(ConfigError {
            tls_only: tls_errors > 0 && tls_errors == errors.len(),
            errors,
            warnings,
        }),
    }
}

fn validate(r: &mut Report<'_>, fc: &FileConfig, base: &Path) -> Config {
    let admin = admin(r, &fc.admin, base);
    let health = health(r, &fc.health);
    let runtime = runtime(r, &fc.runtime);
    let acme = fc.acme.as_ref().map(|a| acme(r, a, base));
    let listeners = listeners::listeners(r, &fc.listeners);
    let upstreams = upstreams::upstreams(r, &fc.upstreams);
    let tcp = listeners::tcp(r, &fc.tcp, &listeners, &upstreams);
    listeners::unique_addresses(r, fc, &health);
    let defaults = limits::defaults(r, &fc.defaults);
    let sites = sites::sites(
        r,
        fc,
        &sites::Known {
            listeners: &listeners,
            upstreams: &upstreams,
            defaults: &defaults,
            acme: acme.is_some(),
            base,
        },
    );
    upstreams::warn_unused(r, &fc.upstreams, &sites, &tcp);
    if !fc.has_sockets {
        r.file_error("no [[listener]] or [[tcp]] is configured: nothing would be served");
    }
    Config {
        admin,
        health,
        runtime,
        acme,
        defaults,
        listeners,
        sites,
        upstreams,
        tcp,
    }
}

fn admin(r: &mut Report<'_>, e: &Entry<FileAdmin>, base: &Path) -> Admin {
    let a = &e.value;
    let socket = match &a.socket {
        None => Some(PathBuf::from("/run/proxyd/admin.sock")),
        Some(s) if s.get_ref().is_empty() => None,
        Some(s) => Some(path_in(base, s.get_ref())),
    };
    let socket_mode = match &a.socket_mode {
        None => 0o600,
        Some(m) => {
            let s = m.get_ref();
            let ok = (3..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b));
            match u32::from_str_radix(s, 8) {
                Ok(mode) if ok && mode <= 0o777 => mode,
                _ => {
                    r.error(
                        m.span(),
                        format!("invalid socket_mode \"{s}\" in [admin]: expected an octal file mode such as \"0600\" or \"0660\""),
                    );
                    0o600
                }
            }
        }
    };
    let names = |r: &mut Report<'_>, list: &Option<Vec<super::file::SStr>>, key: &str| {
        let mut out = Vec::new();
        for n in list.iter().flatten() {
            if n.get_ref().trim().is_empty() {
                r.error(
                    n.span(),
                    format!("{key} in [admin] must not contain an empty name"),
                );
            } else {
                out.push(n.get_ref().clone());
            }
        }
        out
    };
    Admin {
        socket,
        socket_mode,
        allowed_users: names(r, &a.allowed_users, "allowed_users"),
        allowed_groups: names(r, &a.allowed_groups, "allowed_groups"),
    }
}

fn health(r: &mut Report<'_>, e: &Entry<FileHealth>) -> Health {
    let listen = match &e.value.listen {
        None => "127.0.0.1:9900".parse().ok(),
        Some(s) if s.get_ref().is_empty() => None,
        Some(s) => socket_addr(r, s, "listen of [health]"),
    };
    Health { listen }
}

fn runtime(r: &mut Report<'_>, e: &Entry<FileRuntime>) -> Runtime {
    let v = &e.value;
    let log_level = match &v.log_level {
        None => "info".to_string(),
        Some(l) => {
            if let Err(err) = tracing_subscriber::EnvFilter::try_new(l.get_ref()) {
                r.error(
                    l.span(),
                    format!("invalid log_level \"{}\" in [runtime]: {err} (expected a filter such as \"info\" or \"proxyd=debug,warn\")", l.get_ref()),
                );
            }
            l.get_ref().clone()
        }
    };
    let worker_threads = values::int_in(
        r,
        v.worker_threads.as_ref(),
        0,
        (0, 1024),
        "worker_threads of [runtime]",
    );
    Runtime {
        drain_timeout: nonzero_duration(
            r,
            v.drain_timeout.as_ref(),
            Duration::from_secs(10),
            "drain_timeout of [runtime]",
        ),
        worker_threads: usize::try_from(worker_threads).unwrap_or(0),
        watch_config: v.watch_config.unwrap_or(false),
        log_format: one_of(
            r,
            v.log_format.as_ref(),
            LogFormat::Json,
            &[("json", LogFormat::Json), ("text", LogFormat::Text)],
            "log_format",
        ),
        log_level,
        access_log: v.access_log.unwrap_or(true),
    }
}

fn acme(r: &mut Report<'_>, e: &Entry<FileAcme>, base: &Path) -> Acme {
    let v = &e.value;
    let directory = match &v.directory {
        None => LETS_ENCRYPT.to_string(),
        Some(d) => {
            let s = d.get_ref();
            if !(s.starts_with("https://") || s.starts_with("http://"))
                || s.len() < "http://x".len()
            {
                r.error(
                    d.span(),
                    format!("invalid directory \"{s}\" in [acme]: expected an https:// URL"),
                );
            }
            s.clone()
        }
    };
    let mut contact = Vec::new();
    for c in v.contact.iter().flatten() {
        let s = c.get_ref();
        if s.strip_prefix("mailto:").is_some_and(|a| a.contains('@')) {
            contact.push(s.clone());
        } else {
            r.error(
                c.span(),
                format!("invalid contact \"{s}\" in [acme]: expected a URL such as \"mailto:ops@example.com\""),
            );
        }
    }
    let storage = match &v.storage {
        None => PathBuf::from("/var/lib/proxyd/acme"),
        Some(s) if s.get_ref().is_empty() => {
            r.error(s.span(), "storage in [acme] must not be empty");
            PathBuf::new()
        }
        Some(s) => path_in(base, s.get_ref()),
    };
    let ca_certificate = match &v.ca_certificate {
        Some(c) if !c.get_ref().is_empty() => {
            let path = path_in(base, c.get_ref());
            tls_files::check_ca(r, c.span(), &path);
            Some(path)
        }
        _ => None,
    };
    Acme {
        directory,
        contact,
        storage,
        challenge: one_of(
            r,
            v.challenge.as_ref(),
            AcmeChallenge::Http01,
            &[
                ("http-01", AcmeChallenge::Http01),
                ("tls-alpn-01", AcmeChallenge::TlsAlpn01),
            ],
            "challenge",
        ),
        ca_certificate,
        renew_before: nonzero_duration(
            r,
            v.renew_before.as_ref(),
            Duration::from_secs(30 * 86_400),
            "renew_before of [acme]",
        ),
    }
}
