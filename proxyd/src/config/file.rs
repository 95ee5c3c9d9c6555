//! The serde schema of the config file: what the operator wrote, before any
//! validation. Every field is an `Option` (absence is meaningful: it selects
//! a default) and values that validation may point at are `Spanned`.
//!
//! These structs are not deserialized from the whole document in one go (serde
//! would stop at the first mistake): `decode` feeds them one section, one
//! array entry, and even one key at a time. `[[site.route]]` entries are
//! decoded separately, so `FileSite` has no `route` field.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::units::{DurationValue, SizeValue};

/// A string value with its position.
pub(crate) type SStr = Spanned<String>;
/// An integer value with its position (checked for range by validation).
pub(crate) type SInt = Spanned<i64>;
/// A duration value with its position.
pub(crate) type SDur = Spanned<DurationValue>;
/// A size value with its position.
pub(crate) type SSize = Spanned<SizeValue>;

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileAdmin {
    pub socket: Option<SStr>,
    pub socket_mode: Option<SStr>,
    pub allowed_users: Option<Vec<SStr>>,
    pub allowed_groups: Option<Vec<SStr>>,
}

/// `[health]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileHealth {
    pub listen: Option<SStr>,
}

/// `[runtime]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRuntime {
    pub drain_timeout: Option<SDur>,
    pub worker_threads: Option<SInt>,
    pub watch_config: Option<bool>,
    pub log_format: Option<SStr>,
    pub log_level: Option<SStr>,
    pub access_log: Option<bool>,
}

/// `[acme]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileAcme {
    pub directory: Option<SStr>,
    pub contact: Option<Vec<SStr>>,
    pub storage: Option<SStr>,
    pub challenge: Option<SStr>,
    pub ca_certificate: Option<SStr>,
    pub renew_before: Option<SDur>,
}

/// `[[listener]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileListener {
    pub name: Option<SStr>,
    pub http: Option<SStr>,
    pub https: Option<SStr>,
    pub redirect_to_https: Option<Spanned<bool>>,
    pub health_path: Option<SStr>,
    pub max_connections: Option<SInt>,
}

/// `rate_limit = { per_second, burst }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRateLimit {
    pub per_second: Option<SInt>,
    pub burst: Option<SInt>,
}

/// The limit keys shared by `[defaults]` and `[[site]]` (a site overrides).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLimits {
    pub max_body_size: Option<SSize>,
    pub connect_timeout: Option<SDur>,
    pub request_timeout: Option<SDur>,
    pub idle_timeout: Option<SDur>,
    pub header_read_timeout: Option<SDur>,
    pub max_header_size: Option<SSize>,
    pub rate_limit: Option<Spanned<FileRateLimit>>,
    pub trusted_proxies: Option<Vec<SStr>>,
    pub max_in_flight: Option<SInt>,
    pub shed_latency_target: Option<SDur>,
}

/// `[[site]]` without its routes. The limit keys are repeated from
/// [`FileLimits`] because `#[serde(flatten)]` cannot be combined with
/// `deny_unknown_fields`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSite {
    pub name: Option<SStr>,
    pub hosts: Option<Spanned<Vec<SStr>>>,
    pub listeners: Option<Vec<SStr>>,
    /// `"acme"` or `{ cert, key }`: interpreted by validation.
    pub tls: Option<Spanned<toml::Value>>,
    pub max_body_size: Option<SSize>,
    pub connect_timeout: Option<SDur>,
    pub request_timeout: Option<SDur>,
    pub idle_timeout: Option<SDur>,
    pub header_read_timeout: Option<SDur>,
    pub max_header_size: Option<SSize>,
    pub rate_limit: Option<Spanned<FileRateLimit>>,
    pub trusted_proxies: Option<Vec<SStr>>,
    pub max_in_flight: Option<SInt>,
    pub shed_latency_target: Option<SDur>,
}

impl FileSite {
    /// The site's own limit overrides.
    pub fn limits(&self) -> FileLimits {
        FileLimits {
            max_body_size: self.max_body_size.clone(),
            connect_timeout: self.connect_timeout.clone(),
            request_timeout: self.request_timeout.clone(),
            idle_timeout: self.idle_timeout.clone(),
            header_read_timeout: self.header_read_timeout.clone(),
            max_header_size: self.max_header_size.clone(),
            rate_limit: self.rate_limit.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            max_in_flight: self.max_in_flight.clone(),
            shed_latency_target: self.shed_latency_target.clone(),
        }
    }
}

/// `request_headers` / `response_headers`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileHeaderRules {
    pub set: Option<BTreeMap<SStr, SStr>>,
    pub remove: Option<Vec<SStr>>,
}

/// `redirect = { to, status }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRedirect {
    pub to: Option<SStr>,
    pub status: Option<SInt>,
}

/// `respond = { status, body, content_type }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRespond {
    pub status: Option<SInt>,
    pub body: Option<String>,
    pub content_type: Option<SStr>,
}

/// `[[site.route]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileRoute {
    pub path: Option<SStr>,
    pub upstream: Option<SStr>,
    pub redirect: Option<Spanned<FileRedirect>>,
    pub respond: Option<Spanned<FileRespond>>,
    pub strip_prefix: Option<bool>,
    pub request_headers: Option<FileHeaderRules>,
    pub response_headers: Option<FileHeaderRules>,
}

/// One entry of `servers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileServer {
    pub address: Option<SStr>,
    pub weight: Option<SInt>,
}

/// `[upstream.health_check]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileHealthCheck {
    pub path: Option<SStr>,
    pub interval: Option<SDur>,
    pub timeout: Option<SDur>,
    pub healthy_threshold: Option<SInt>,
    pub unhealthy_threshold: Option<SInt>,
}

/// `[upstream.passive]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilePassive {
    pub max_failures: Option<SInt>,
    pub cooldown: Option<SDur>,
}

/// `[[upstream]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileUpstream {
    pub name: Option<SStr>,
    pub algorithm: Option<SStr>,
    pub servers: Option<Spanned<Vec<Spanned<FileServer>>>>,
    pub scheme: Option<SStr>,
    pub preserve_host: Option<bool>,
    pub retries: Option<SInt>,
    pub health_check: Option<Spanned<FileHealthCheck>>,
    pub passive: Option<Spanned<FilePassive>>,
}

/// `[[tcp]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileTcp {
    pub name: Option<SStr>,
    pub listen: Option<SStr>,
    pub upstream: Option<SStr>,
}

/// One decoded table (a section or an array entry) and where it is.
#[derive(Debug, Default)]
pub(crate) struct Entry<T> {
    /// What could be decoded; keys that had errors are left `None`.
    pub value: T,
    /// Byte span of the table (used for "missing key" findings).
    pub span: std::ops::Range<usize>,
    /// Keys present in the file but rejected (already reported): validation
    /// does not report them again as missing.
    pub bad_keys: Vec<String>,
}

impl<T> Entry<T> {
    /// True when `key` was present but rejected.
    pub fn is_bad(&self, key: &str) -> bool {
        self.bad_keys.iter().any(|k| k == key)
    }
}

/// A `[[site]]` with its `[[site.route]]` entries.
#[derive(Debug, Default)]
pub(crate) struct SiteEntry {
    pub site: Entry<FileSite>,
    pub routes: Vec<Entry<FileRoute>>,
}

/// The whole file, assembled section by section by `decode`.
#[derive(Debug, Default)]
pub(crate) struct FileConfig {
    pub admin: Entry<FileAdmin>,
    pub health: Entry<FileHealth>,
    pub runtime: Entry<FileRuntime>,
    pub acme: Option<Entry<FileAcme>>,
    pub listeners: Vec<Entry<FileListener>>,
    pub defaults: Entry<FileLimits>,
    pub sites: Vec<SiteEntry>,
    pub upstreams: Vec<Entry<FileUpstream>>,
    pub tcp: Vec<Entry<FileTcp>>,
    /// The file has a `listener` or `tcp` key (even a malformed one).
    pub has_sockets: bool,
}
