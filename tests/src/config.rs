//! The config file a test describes, rendered as TOML text.
//!
//! [`ProxyConfig`] is a builder over sites, routes, upstreams and `[defaults]`
//! (or raw TOML text). It renders a *template* in which `{http}`, `{health}`,
//! `{socket}` and `{dir}` stand for the listener address, the health address,
//! the admin socket path and the temp directory; [`Placeholders::fill`]
//! substitutes them once `TestProxy` has picked ports. Values given through
//! the `set(key, value)` methods are raw TOML (`"\"300ms\""`, `"true"`);
//! [`q`] quotes a string for you.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Quotes `s` as a TOML basic string.
pub fn q(s: &str) -> String {
    // JSON string escapes are a subset of TOML basic-string escapes.
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not found in config:\n{text}"))
}

/// What the template placeholders stand for.
#[derive(Debug, Clone)]
pub struct Placeholders {
    /// `{http}`: the main listener's plain-HTTP address.
    pub http: SocketAddr,
    /// `{health}`: the health/metrics address.
    pub health: SocketAddr,
    /// `{socket}`: the admin socket path.
    pub socket: PathBuf,
    /// `{dir}`: the proxy's temp directory.
    pub dir: PathBuf,
}

impl Placeholders {
    /// Replaces every placeholder in `template`.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{http}", &self.http.to_string())
            .replace("{health}", &self.health.to_string())
            .replace("{socket}", &path_str(&self.socket))
            .replace("{dir}", &path_str(&self.dir))
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_owned()
}

/// Raw `key = value` lines, in insertion order.
#[derive(Debug, Clone, Default)]
struct Keys(Vec<(String, String)>);

impl Keys {
    fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
    }

    fn render(&self, out: &mut String) {
        for (k, v) in &self.0 {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
}

// === impl ProxyConfig ===

/// A whole config file, built up by a test.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    raw: Option<String>,
    runtime: Keys,
    defaults: Keys,
    upstreams: Vec<Upstream>,
    sites: Vec<Site>,
    extra: String,
    env: Vec<(String, String)>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyConfig {
    /// An empty config: admin socket, health port, one listener `main` on
    /// `{http}`, text logs and a short drain so tests stop fast.
    pub fn new() -> Self {
        let mut runtime = Keys::default();
        runtime.set("log_format", &q("text"));
        runtime.set("drain_timeout", &q("1s"));
        Self {
            raw: None,
            runtime,
            defaults: Keys::default(),
            upstreams: Vec::new(),
            sites: Vec::new(),
            extra: String::new(),
            env: Vec::new(),
        }
    }

    /// A config given as raw TOML text (with placeholders); the builder
    /// methods then have no effect.
    pub fn raw(template: &str) -> Self {
        Self {
            raw: Some(template.to_owned()),
            ..Self::new()
        }
    }

    /// Sets `[runtime] key = value` (raw TOML value).
    pub fn runtime(mut self, key: &str, value: &str) -> Self {
        self.runtime.set(key, value);
        self
    }

    /// Sets `[defaults] key = value` (raw TOML value).
    pub fn defaults(mut self, key: &str, value: &str) -> Self {
        self.defaults.set(key, value);
        self
    }

    /// Adds an `[[upstream]]`.
    pub fn upstream(mut self, upstream: Upstream) -> Self {
        self.upstreams.retain(|u| u.name != upstream.name);
        self.upstreams.push(upstream);
        self
    }

    /// Adds a `[[site]]`.
    pub fn site(mut self, site: Site) -> Self {
        self.sites.retain(|s| s.name != site.name);
        self.sites.push(site);
        self
    }

    /// Removes the site called `name`.
    pub fn without_site(mut self, name: &str) -> Self {
        self.sites.retain(|s| s.name != name);
        self
    }

    /// Appends raw TOML text at the end of the file.
    pub fn extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    /// Sets an environment variable for the `proxyd` child, e.g.
    /// `NOTIFY_SOCKET` or `WATCHDOG_USEC` (which the harness otherwise
    /// removes, so a test never talks to the real systemd).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The environment variables set with [`env`](Self::env).
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    /// How many `[[site]]` entries the builder holds.
    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    /// The TOML template, placeholders unfilled.
    pub fn template(&self) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = String::new();
        out.push_str("[admin]\nsocket = \"{socket}\"\n\n");
        out.push_str("[health]\nlisten = \"{health}\"\n\n");
        out.push_str("[runtime]\n");
        self.runtime.render(&mut out);
        if !self.defaults.0.is_empty() {
            out.push_str("\n[defaults]\n");
            self.defaults.render(&mut out);
        }
        out.push_str("\n[[listener]]\nname = \"main\"\nhttp = \"{http}\"\n");
        for u in &self.upstreams {
            u.render(&mut out);
        }
        for s in &self.sites {
            s.render(&mut out);
        }
        if !self.extra.is_empty() {
            out.push('\n');
            out.push_str(&self.extra);
        }
        out
    }
}

// === impl Upstream ===

/// An `[[upstream]]` pool.
#[derive(Debug, Clone)]
pub struct Upstream {
    name: String,
    servers: Vec<SocketAddr>,
    keys: Keys,
}

impl Upstream {
    /// A pool called `name` over `servers`.
    pub fn new(name: &str, servers: impl IntoIterator<Item = SocketAddr>) -> Self {
        Self {
            name: name.to_owned(),
            servers: servers.into_iter().collect(),
            keys: Keys::default(),
        }
    }

    /// Sets `key = value` (raw TOML value), e.g. `("preserve_host", "false")`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.keys.set(key, value);
        self
    }

    fn render(&self, out: &mut String) {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|a| format!("{{ address = {} }}", q(&a.to_string())))
            .collect();
        let _ = writeln!(out, "\n[[upstream]]\nname = {}", q(&self.name));
        let _ = writeln!(out, "servers = [{}]", servers.join(", "));
        self.keys.render(out);
    }
}

// === impl Site ===

/// A `[[site]]` with its routes.
#[derive(Debug, Clone)]
pub struct Site {
    name: String,
    hosts: Vec<String>,
    keys: Keys,
    routes: Vec<Route>,
}

impl Site {
    /// A site called `name` answering for `hosts`.
    pub fn new<'a>(name: &str, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            name: name.to_owned(),
            hosts: hosts.into_iter().map(str::to_owned).collect(),
            keys: Keys::default(),
            routes: Vec::new(),
        }
    }

    /// Sets a site key (raw TOML value), e.g. `("request_timeout", "\"300ms\"")`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.keys.set(key, value);
        self
    }

    /// Adds a `[[site.route]]`.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    fn render(&self, out: &mut String) {
        let hosts: Vec<String> = self.hosts.iter().map(|h| q(h)).collect();
        let _ = writeln!(out, "\n[[site]]\nname = {}", q(&self.name));
        let _ = writeln!(out, "hosts = [{}]", hosts.join(", "));
        self.keys.render(out);
        for r in &self.routes {
            out.push_str("\n  [[site.route]]\n");
            let _ = writeln!(out, "  path = {}", q(&r.path));
            for (k, v) in &r.keys.0 {
                let _ = writeln!(out, "  {k} = {v}");
            }
        }
    }
}

// === impl Route ===

/// A `[[site.route]]`.
#[derive(Debug, Clone)]
pub struct Route {
    path: String,
    keys: Keys,
}

impl Route {
    /// Proxies `path` (a prefix) to the upstream called `upstream`.
    pub fn upstream(path: &str, upstream: &str) -> Self {
        Self::with(path, "upstream", &q(upstream))
    }

    /// Answers `path` with a fixed response.
    pub fn respond(path: &str, status: u16, body: &str, content_type: &str) -> Self {
        let value = format!(
            "{{ status = {status}, body = {}, content_type = {} }}",
            q(body),
            q(content_type)
        );
        Self::with(path, "respond", &value)
    }

    /// Redirects `path` to `to` with `status`.
    pub fn redirect(path: &str, to: &str, status: u16) -> Self {
        let value = format!("{{ to = {}, status = {status} }}", q(to));
        Self::with(path, "redirect", &value)
    }

    /// Sets a route key (raw TOML value), e.g. `("strip_prefix", "true")`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.keys.set(key, value);
        self
    }

    fn with(path: &str, key: &str, value: &str) -> Self {
        let mut keys = Keys::default();
        keys.set(key, value);
        Self {
            path: path.to_owned(),
            keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_parseable_template() {
        let cfg = ProxyConfig::new()
            .defaults("request_timeout", &q("300ms"))
            .upstream(Upstream::new("api", ["127.0.0.1:1".parse().unwrap()]))
            .site(
                Site::new("app", ["app.test"])
                    .route(Route::upstream("/api/", "api").set("strip_prefix", "true"))
                    .route(Route::respond("/ping", 200, "pong \"q\"", "text/plain"))
                    .route(Route::redirect("/old/", "https://new.test/", 301)),
            );
        let ph = Placeholders {
            http: "127.0.0.1:2".parse().unwrap(),
            health: "127.0.0.1:3".parse().unwrap(),
            socket: "/tmp/x/admin.sock".into(),
            dir: "/tmp/x".into(),
        };
        let text = ph.fill(&cfg.template());
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            table["site"][0]["route"][0]["strip_prefix"].as_bool(),
            Some(true)
        );
        assert_eq!(table["defaults"]["request_timeout"].as_str(), Some("300ms"));
        assert!(text.contains("http = \"127.0.0.1:2\""), "{text}");
        assert!(text.contains("socket = \"/tmp/x/admin.sock\""), "{text}");
        assert!(text.contains("body = \"pong \\\"q\\\"\""), "{text}");
        assert_eq!(
            line_of(&text, "strip_prefix"),
            line_of(&text, "\"/api/\"") + 2
        );
    }
}
