//! Checks for single values (ranges, non-zero durations, addresses, required
//! keys, enums) shared by the section validators. Each reports into the
//! [`Report`] and returns a usable value (the default on error), so that
//! validation can carry on and find the next mistake.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::file::{Entry, SDur, SInt, SSize, SStr};
use crate::config::report::Report;

/// What a value is called in a message ("connect_timeout of site \"app\"").
/// Rendered only when there is something to report: validating thousands of
/// sites must not format thousands of labels that no message uses.
pub(super) trait What {
    fn text(&self) -> String;
}

impl What for &str {
    fn text(&self) -> String {
        (*self).to_string()
    }
}

impl What for &String {
    fn text(&self) -> String {
        (*self).clone()
    }
}

impl<F: Fn() -> String> What for F {
    fn text(&self) -> String {
        self()
    }
}

/// `Some(&value)` of a required key, or an error at the entry.
pub(super) fn required<'a, T, U>(
    r: &mut Report<'_>,
    entry: &Entry<T>,
    value: &'a Option<U>,
    key: &str,
    owner: &dyn fmt::Display,
) -> Option<&'a U> {
    if value.is_none() && !entry.is_bad(key) {
        r.error(entry.span.clone(), format!("{owner} is missing \"{key}\""));
    }
    value.as_ref()
}

/// A duration that must not be zero.
pub(super) fn nonzero_duration<W: What>(
    r: &mut Report<'_>,
    value: Option<&SDur>,
    default: Duration,
    what: W,
) -> Duration {
    match value {
        Some(v) if v.get_ref().0.is_zero() => {
            r.error(v.span(), format!("{} must be greater than 0", what.text()));
            default
        }
        Some(v) => v.get_ref().0,
        None => default,
    }
}

/// A size that must not be zero.
pub(super) fn nonzero_size<W: What>(
    r: &mut Report<'_>,
    value: Option<&SSize>,
    default: u64,
    what: W,
) -> u64 {
    match value {
        Some(v) if v.get_ref().0 == 0 => {
            r.error(v.span(), format!("{} must be greater than 0", what.text()));
            default
        }
        Some(v) => v.get_ref().0,
        None => default,
    }
}

/// An integer within `min..=max`.
pub(super) fn int_in<W: What>(
    r: &mut Report<'_>,
    value: Option<&SInt>,
    default: u64,
    (min, max): (u64, u64),
    what: W,
) -> u64 {
    let Some(v) = value else { return default };
    let n = *v.get_ref();
    match u64::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => n,
        _ if n < min as i64 => {
            r.error(
                v.span(),
                format!("{} must be at least {min}, found {n}", what.text()),
            );
            default
        }
        _ => {
            r.error(
                v.span(),
                format!("{} must be at most {max}, found {n}", what.text()),
            );
            default
        }
    }
}

/// A `u32` count of at least `min`.
pub(super) fn count<W: What>(
    r: &mut Report<'_>,
    value: Option<&SInt>,
    default: u32,
    min: u32,
    what: W,
) -> u32 {
    let n = int_in(
        r,
        value,
        default.into(),
        (min.into(), u32::MAX.into()),
        what,
    );
    u32::try_from(n).unwrap_or(default)
}

/// `ip:port` (IPv6 in brackets).
pub(super) fn socket_addr(r: &mut Report<'_>, value: &SStr, what: &str) -> Option<SocketAddr> {
    match value.get_ref().parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            r.error(
                value.span(),
                format!(
                    "invalid address \"{}\" for {what}: expected ip:port such as \"0.0.0.0:80\" or \"[::]:443\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// One of `choices` (mapped to its value), or an error listing them.
pub(super) fn one_of<T: Copy>(
    r: &mut Report<'_>,
    value: Option<&SStr>,
    default: T,
    choices: &[(&str, T)],
    what: &str,
) -> T {
    let Some(v) = value else { return default };
    if let Some((_, t)) = choices.iter().find(|(name, _)| name == v.get_ref()) {
        return *t;
    }
    let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    r.error(
        v.span(),
        format!(
            "invalid {what} \"{}\": expected one of {}",
            v.get_ref(),
            names.join(", ")
        ),
    );
    default
}

/// A path from the file, resolved against the config file's directory.
pub(super) fn path_in(base: &Path, value: &str) -> PathBuf {
    base.join(value)
}

/// `"a", "b"` for messages.
pub(super) fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.into_iter().map(|n| format!("\"{n}\"")).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// How an entry is named in messages: `listener "a"` or `listener #2`.
pub(super) fn owner(kind: &'static str, name: Option<&SStr>, index: usize) -> String {
    Owner::new(kind, name, index).to_string()
}

/// How an entry is named in messages (`site "app"`, `site #2`, `route "/"
/// of site "app"`), rendered only when a message uses it: validating
/// thousands of sites must not format thousands of names.
#[derive(Clone, Copy)]
pub(super) struct Owner<'a> {
    kind: &'static str,
    name: Option<&'a str>,
    index: usize,
    of: Option<&'a Owner<'a>>,
}

impl<'a> Owner<'a> {
    /// Entry `index` (0-based) of its kind, named by `name` when it has one.
    pub(super) fn new(kind: &'static str, name: Option<&'a SStr>, index: usize) -> Self {
        Owner {
            kind,
            name: name.map(|n| n.get_ref().as_str()),
            index,
            of: None,
        }
    }

    /// The same entry, as part of `parent` (`route "/" of site "app"`).
    pub(super) fn of(self, parent: &'a Owner<'a>) -> Self {
        Owner {
            of: Some(parent),
            ..self
        }
    }
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(n) => write!(f, "{} \"{n}\"", self.kind)?,
            None => write!(f, "{} #{}", self.kind, self.index + 1)?,
        }
        match self.of {
            Some(parent) => write!(f, " of {parent}"),
            None => Ok(()),
        }
    }
}

/// `KEY of OWNER` (`request_headers of route "/" of site "app"`), rendered
/// only when a message uses it.
pub(super) struct Of<'a>(pub &'static str, pub &'a dyn fmt::Display);

impl fmt::Display for Of<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}", self.0, self.1)
    }
}

/// A DNS name (lowercase or not): dot-separated labels of letters, digits and
/// `-`, not starting or ending with `-`, at most 63 characters each and 253
/// in all. IPv4 addresses pass too.
pub(super) fn is_dns_name(s: &str) -> bool {
    // One pass over the bytes (this runs for every host of every site).
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 253 {
        return false;
    }
    let mut label_start = 0;
    for i in 0..=b.len() {
        if i < b.len() && b[i] != b'.' {
            if !(b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                return false;
            }
            continue;
        }
        let label = &b[label_start..i];
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return false;
        }
        label_start = i + 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_dns_name;

    #[test]
    fn dns_names() {
        let long_label = "a".repeat(63);
        for ok in [
            "a",
            "A-1.example.org",
            "127.0.0.1",
            "xn--bcher-kva.de",
            long_label.as_str(),
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        let too_long_label = "a".repeat(64);
        let too_long_name = ["a"; 127].join(".") + "b";
        assert_eq!(too_long_name.len(), 254);
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "-a.b",
            "a-.b",
            "a.-b",
            "a.b-",
            "a_b",
            "a b",
            "ä.de",
            too_long_label.as_str(),
            too_long_name.as_str(),
        ] {
            assert!(!is_dns_name(bad), "{bad:?}");
        }
        assert!(is_dns_name(&["a"; 127].join(".")));
    }
}
