//! Routing tables: Host → site, path → route.
//!
//! Host matching is exact, then the longest wildcard, then the `*` default
//! site. Lookups cost a hash probe per label of the host, not a scan of the
//! sites, so routing stays flat as the number of sites grows. Paths match by
//! plain string prefix, longest first, as nginx `location /prefix` does.
//!
//! The tables hash with FNV-1a rather than the standard library's SipHash
//! (a quarter of the instructions for a short host). SipHash's keyed
//! hashing defends a table whose *keys* an attacker chooses; these keys
//! come from the config, and a client only picks what is looked up, one
//! probe sequence whatever it sends.

use std::borrow::Cow;

use fnv::FnvHashMap;

use crate::config::HostPattern;

/// Host → index of a site, for one listener.
#[derive(Debug, Default, Clone)]
pub struct HostTable {
    exact: FnvHashMap<String, usize>,
    /// Keyed by suffix including the leading dot: `.example.org`.
    wildcard: FnvHashMap<String, usize>,
    default: Option<usize>,
}

impl HostTable {
    /// An empty table with room for `patterns`, so that filling it with
    /// thousands of sites does not rehash as it grows.
    pub fn with_capacity<'a>(patterns: impl IntoIterator<Item = &'a HostPattern>) -> Self {
        let (mut exact, mut wildcard) = (0, 0);
        for p in patterns {
            match p {
                HostPattern::Exact(_) => exact += 1,
                HostPattern::Wildcard(_) => wildcard += 1,
                HostPattern::Any => {}
            }
        }
        HostTable {
            exact: FnvHashMap::with_capacity_and_hasher(exact, Default::default()),
            wildcard: FnvHashMap::with_capacity_and_hasher(wildcard, Default::default()),
            default: None,
        }
    }

    /// Adds a site's host patterns. Validation guarantees no host is claimed
    /// twice on one listener; should it happen anyway, the first site wins.
    pub fn insert(&mut self, pattern: &HostPattern, site: usize) {
        match pattern {
            HostPattern::Exact(h) => {
                self.exact.entry(h.clone()).or_insert(site);
            }
            HostPattern::Wildcard(suffix) => {
                self.wildcard.entry(suffix.clone()).or_insert(site);
            }
            HostPattern::Any => {
                self.default.get_or_insert(site);
            }
        }
    }

    /// Finds the site for a normalized host (lowercase, no port, no trailing
    /// dot). `None` means no site matches and there is no default.
    pub fn find(&self, host: &str) -> Option<usize> {
        if let Some(&i) = self.exact.get(host) {
            return Some(i);
        }
        if !self.wildcard.is_empty() {
            // ".b.example.org", then ".example.org", then ".org": the first
            // hit is the longest wildcard. `*.example.org` does not match the
            // bare `example.org`, as in nginx and Caddy.
            let mut rest = host;
            while let Some(dot) = rest.find('.') {
                let suffix = &rest[dot..];
                if let Some(&i) = self.wildcard.get(suffix) {
                    return Some(i);
                }
                rest = &rest[dot + 1..];
            }
        }
        self.default
    }

    /// The site that answers requests without a usable Host, if any.
    pub fn default_site(&self) -> Option<usize> {
        self.default
    }
}

/// Turns a Host header or `:authority` into the form the table is keyed by:
/// port removed, lowercase, trailing dot removed. Returns `None` for values
/// that are not a plausible host (empty, bad characters). Borrows when the
/// host is already in that form (the usual case), so routing allocates
/// nothing.
pub fn normalize_host(raw: &str) -> Option<Cow<'_, str>> {
    // ASCII whitespace only: a Host value is visible ASCII (`to_str`), and
    // HTTP's optional whitespace is SP and HTAB.
    let raw = raw.trim_ascii();
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // [v6]:port
        let end = rest.find(']')?;
        &raw[..end + 2]
    } else {
        match raw.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            Some(_) => return None,
            None => raw,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    // One pass: the characters a host may have, and whether any is
    // uppercase.
    let mut upper = false;
    for b in host.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'[' | b']' | b':' => {}
            b'A'..=b'Z' => upper = true,
            _ => return None,
        }
    }
    if host.is_empty() {
        None
    } else if upper {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// Path prefix → route index, longest prefix first.
#[derive(Debug, Default, Clone)]
pub struct RouteTable {
    /// (prefix, route index), sorted by prefix length, longest first.
    prefixes: Vec<(String, usize)>,
}

impl RouteTable {
    /// Builds the table from the routes' prefixes, in route order.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut prefixes: Vec<(String, usize)> = paths
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p.to_string(), i))
            .collect();
        // Stable sort: equal lengths keep file order.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        RouteTable { prefixes }
    }

    /// The route whose prefix is the longest prefix of `path`.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.prefixes
            .iter()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map(|&(_, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HostTable {
        let mut t = HostTable::default();
        t.insert(&HostPattern::Exact("app.example.com".into()), 0);
        t.insert(&HostPattern::Wildcard(".example.com".into()), 1);
        t.insert(&HostPattern::Wildcard(".deep.example.com".into()), 2);
        t.insert(&HostPattern::Any, 3);
        t
    }

    #[test]
    fn exact_beats_longest_wildcard_beats_default() {
        let t = table();
        assert_eq!(t.find("app.example.com"), Some(0));
        assert_eq!(t.find("x.example.com"), Some(1));
        assert_eq!(t.find("a.deep.example.com"), Some(2));
        assert_eq!(t.find("a.b.deep.example.com"), Some(2));
        assert_eq!(t.find("example.com"), Some(3));
        assert_eq!(t.find("other.org"), Some(3));
        let mut no_default = HostTable::default();
        no_default.insert(&HostPattern::Exact("a".into()), 0);
        assert_eq!(no_default.find("b"), None);
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(
            normalize_host("App.Example.COM:8080").as_deref(),
            Some("app.example.com")
        );
        assert_eq!(
            normalize_host("example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_host("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(normalize_host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(normalize_host(""), None);
        assert_eq!(normalize_host("a b"), None);
        assert_eq!(normalize_host("host:port"), None);
        assert_eq!(
            normalize_host(" \tExample.org:80 ").as_deref(),
            Some("example.org")
        );
        assert_eq!(normalize_host("."), None);
        assert_eq!(normalize_host("a/b"), None);
        assert_eq!(normalize_host("caf\u{e9}.example"), None);
        // Already normal: borrowed, nothing allocated.
        assert!(matches!(
            normalize_host("api.example.com:443"),
            Some(Cow::Borrowed("api.example.com"))
        ));
        assert!(matches!(
            normalize_host("Api.example.com"),
            Some(Cow::Owned(_))
        ));
    }

    #[test]
    fn longest_prefix_wins_and_ties_keep_file_order() {
        let t = RouteTable::new(["/", "/api/", "/api/v2/", "/static"]);
        assert_eq!(t.find("/api/v2/x"), Some(2));
        assert_eq!(t.find("/api/x"), Some(1));
        assert_eq!(t.find("/apix"), Some(0));
        assert_eq!(t.find("/static/a.css"), Some(3));
        assert_eq!(RouteTable::new(["/a"]).find("/b"), None);
    }
}
