//! TOML text → [`FileConfig`], reporting every syntax error, unknown key and
//! type error with its own position instead of stopping at the first.
//!
//! The document is first parsed into spanned values (`toml::de::DeTable`).
//! Then each section and each array entry is decoded on its own. The usual
//! entry fits and is decoded in one pass, taken out of the tree (no copy).
//! When one does not, the entry is found again in a second parse of the text
//! (made once, only for a file with mistakes) and tried key by key, so
//! independent mistakes are all reported. Keys that fail are dropped from the
//! entry (and remembered in `Entry::bad_keys`), and the rest of the entry is
//! still validated.

mod fields;
mod keys;

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::file::*;
use super::report::Report;
use fields::field_names;
use keys::{from_table, key_by_key};

type SValue<'i> = Spanned<DeValue<'i>>;

const TOP_LEVEL: &[&str] = &[
    "admin", "health", "runtime", "acme", "listener", "defaults", "site", "upstream", "tcp",
];

/// Parses and decodes `source`. `None` when the TOML itself is malformed
/// (the syntax errors are in the report).
pub(crate) fn decode(r: &mut Report<'_>, source: &str) -> Option<FileConfig> {
    let (doc, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        let mut seen = Vec::new();
        for e in errors {
            if seen.contains(&(e.span(), e.message().to_string())) {
                continue;
            }
            seen.push((e.span(), e.message().to_string()));
            let message = format!("invalid TOML: {}", e.message().trim_end());
            match e.span() {
                Some(span) => r.error(span, message),
                None => r.file_error(message),
            }
        }
        return None;
    }
    let doc = doc.into_inner();
    let mut fc = FileConfig {
        has_sockets: doc.contains_key("listener") || doc.contains_key("tcp"),
        ..FileConfig::default()
    };
    let mut d = Decoder {
        r,
        again: Reparse { source, doc: None },
    };
    for (key, value) in doc {
        match key.get_ref().as_ref() {
            "admin" => fc.admin = d.section(value, "admin"),
            "health" => fc.health = d.section(value, "health"),
            "runtime" => fc.runtime = d.section(value, "runtime"),
            "acme" => fc.acme = Some(d.section(value, "acme")),
            "defaults" => fc.defaults = d.section(value, "defaults"),
            "listener" => fc.listeners = d.array(value, "listener", "name"),
            "upstream" => fc.upstreams = d.array(value, "upstream", "name"),
            "tcp" => fc.tcp = d.array(value, "tcp", "name"),
            "site" => fc.sites = d.sites(value),
            other => d.r.error(
                key.span(),
                format!(
                    "unknown key \"{other}\" at the top level (expected one of: {})",
                    TOP_LEVEL.join(", ")
                ),
            ),
        }
    }
    Some(fc)
}

/// Where an entry is in the document, to find it again in a second parse.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// `[admin]` and the like.
    Section(&'a str),
    /// Entry `i` of `[[kind]]`.
    Entry(&'a str, usize),
    /// Route `j` of site `i`.
    Route(usize, usize),
}

/// The document parsed a second time, on the first entry that does not fit
/// (the first parse is consumed as entries are decoded).
struct Reparse<'i> {
    source: &'i str,
    doc: Option<DeTable<'i>>,
}

impl<'i> Reparse<'i> {
    fn find(&mut self, place: Place<'_>) -> Option<&SValue<'i>> {
        let source = self.source;
        let doc = self
            .doc
            .get_or_insert_with(|| DeTable::parse_recoverable(source).0.into_inner());
        let entry = |kind: &str, i: usize| doc.get(kind)?.get_ref().as_array()?.get(i);
        match place {
            Place::Section(key) => doc.get(key),
            Place::Entry(kind, i) => entry(kind, i),
            Place::Route(i, j) => entry("site", i)?
                .get_ref()
                .get("route")?
                .get_ref()
                .as_array()?
                .get(j),
        }
    }
}

struct Decoder<'r, 'f, 'i> {
    r: &'r mut Report<'f>,
    again: Reparse<'i>,
}

/// How an array entry is named in messages: `listener "public"`, or
/// `listener #2` when it has no usable name; `route "/" of site "app"` for a
/// route. Rendered only when a message uses it: a file of thousands of sites
/// must not format thousands of names that no message needs.
struct EntryOwner<'a> {
    kind: &'a str,
    name: Option<Cow<'a, str>>,
    index: usize,
    of: Option<&'a EntryOwner<'a>>,
}

impl<'a> EntryOwner<'a> {
    fn new(kind: &'a str, value: &SValue<'a>, name_key: &str, index: usize) -> Self {
        let name = match value.get_ref().get(name_key).map(Spanned::get_ref) {
            Some(DeValue::String(name)) => Some(name.clone()),
            _ => None,
        };
        EntryOwner {
            kind,
            name,
            index,
            of: None,
        }
    }
}

impl fmt::Display for EntryOwner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} \"{name}\"", self.kind)?,
            None => write!(f, "{} #{}", self.kind, self.index + 1)?,
        }
        match self.of {
            Some(of) => write!(f, " of {of}"),
            None => Ok(()),
        }
    }
}

impl<'i> Decoder<'_, '_, 'i> {
    /// A top-level section such as `[admin]`.
    fn section<T: DeserializeOwned + Default>(
        &mut self,
        value: SValue<'i>,
        key: &'static str,
    ) -> Entry<T> {
        let owner = format!("[{key}]");
        self.table(value, &owner, field_names::<T>(), &[], Place::Section(key))
    }

    fn array_items(&mut self, value: SValue<'i>, kind: &str) -> DeArray<'i> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(items) => items,
            other => {
                self.r.error(
                    span,
                    format!(
                        "\"{kind}\" must be an array of tables ([[{kind}]]), found {}",
                        other.type_str()
                    ),
                );
                DeArray::default()
            }
        }
    }

    fn array<T: DeserializeOwned + Default>(
        &mut self,
        value: SValue<'i>,
        kind: &'static str,
        name_key: &str,
    ) -> Vec<Entry<T>> {
        let known = field_names::<T>();
        let items = self.array_items(value, kind);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let owner = EntryOwner::new(kind, &item, name_key, i);
            out.push(self.table(item, &owner, known, &[], Place::Entry(kind, i)));
        }
        out
    }

    fn sites(&mut self, value: SValue<'i>) -> Vec<SiteEntry> {
        let site_keys = field_names::<FileSite>();
        let route_keys = field_names::<FileRoute>();
        let items = self.array_items(value, "site");
        let mut sites = Vec::with_capacity(items.len());
        for (i, mut item) in items.into_iter().enumerate() {
            let owner = EntryOwner::new("site", &item, "name", i);
            let route_value = match item.get_mut() {
                DeValue::Table(table) => table.remove("route"),
                _ => None,
            };
            let site = self.table::<FileSite>(
                item,
                &owner,
                site_keys,
                &["route"],
                Place::Entry("site", i),
            );
            let mut routes = Vec::new();
            if let Some(route_value) = route_value {
                let items = self.array_items(route_value, "site.route");
                routes.reserve(items.len());
                for (j, route) in items.into_iter().enumerate() {
                    let route_owner = EntryOwner {
                        of: Some(&owner),
                        ..EntryOwner::new("route", &route, "path", j)
                    };
                    routes.push(self.table(
                        route,
                        &route_owner,
                        route_keys,
                        &[],
                        Place::Route(i, j),
                    ));
                }
            }
            sites.push(SiteEntry { site, routes });
        }
        sites
    }

    /// Decodes one table. Unknown keys and keys whose value does not fit are
    /// reported (and left out); the rest is decoded into `T`. `known` is
    /// `field_names::<T>()`; keys in `skip` are decoded elsewhere.
    fn table<T: DeserializeOwned + Default>(
        &mut self,
        value: SValue<'i>,
        owner: &dyn fmt::Display,
        known: &[&str],
        skip: &[&str],
        place: Place<'_>,
    ) -> Entry<T> {
        let span = value.span();
        let mut entry = Entry {
            value: T::default(),
            span: span.clone(),
            bad_keys: Vec::new(),
        };
        let mut table = match value.into_inner() {
            DeValue::Table(table) => table,
            other => {
                self.r.error(
                    span,
                    format!("{owner} must be a table, found {}", other.type_str()),
                );
                return entry;
            }
        };
        // Keys to leave out: those decoded elsewhere and unknown ones (each
        // reported). Rare, so this allocates only when there are some.
        let mut drop_keys = Vec::new();
        for key in table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            drop_keys.push(name.to_string());
            if skip.contains(&name) {
                continue;
            }
            let mut expected: Vec<&str> = known.iter().chain(skip).copied().collect();
            expected.sort_unstable();
            self.r.error(
                key.span(),
                format!(
                    "unknown key \"{name}\" in {owner} (expected one of: {})",
                    expected.join(", ")
                ),
            );
            entry.bad_keys.push(name.to_string());
        }
        for name in &drop_keys {
            table.remove(name.as_str());
        }
        let whole = match from_table::<T>(table, span.clone()) {
            Ok(v) => {
                entry.value = v;
                return entry;
            }
            Err(e) => e,
        };
        match self.again.find(place) {
            Some(original) => key_by_key(self.r, original, owner, known, skip, &mut entry),
            // Not found again (cannot happen: the same text parses the same
            // way); report what the one-pass decode said rather than lose it.
            None => self.r.error(
                whole.span().unwrap_or(span),
                format!("{owner}: {}", whole.message()),
            ),
        }
        entry
    }
}
