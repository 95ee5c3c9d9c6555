//! TOML text → [`FileConfig`], reporting every syntax error, unknown key and
//! type error with its own position instead of stopping at the first.
//!
//! The document is first parsed into spanned values (`toml::de::DeTable`).
//! Then each section and each array entry is decoded on its own: in one pass
//! when it fits (the usual case), else key by key, so independent mistakes
//! are all reported. Keys that fail are dropped from the entry (and
//! remembered in `Entry::bad_keys`), and the rest of the entry is still
//! validated.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::file::*;
use super::report::Report;

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
    let mut fc = FileConfig {
        has_sockets: doc.get_ref().contains_key("listener") || doc.get_ref().contains_key("tcp"),
        ..FileConfig::default()
    };
    for (key, value) in doc.get_ref() {
        match key.get_ref().as_ref() {
            "admin" => fc.admin = decode_section(r, value, "[admin]"),
            "health" => fc.health = decode_section(r, value, "[health]"),
            "runtime" => fc.runtime = decode_section(r, value, "[runtime]"),
            "acme" => fc.acme = Some(decode_section(r, value, "[acme]")),
            "defaults" => fc.defaults = decode_section(r, value, "[defaults]"),
            "listener" => fc.listeners = decode_array(r, value, "listener", "name"),
            "upstream" => fc.upstreams = decode_array(r, value, "upstream", "name"),
            "tcp" => fc.tcp = decode_array(r, value, "tcp", "name"),
            "site" => fc.sites = decode_sites(r, value),
            other => r.error(
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

/// A top-level section such as `[admin]`.
fn decode_section<T: DeserializeOwned + Default>(
    r: &mut Report<'_>,
    value: &SValue<'_>,
    name: &str,
) -> Entry<T> {
    decode_table(r, value, &name, field_names::<T>(), &[])
}

/// How an array entry is named in messages: `listener "public"`, or
/// `listener #2` when it has no usable name; `route "/" of site "app"` for a
/// route. Rendered only when a message uses it: a file of thousands of sites
/// must not format thousands of names that no message needs.
struct EntryOwner<'a> {
    kind: &'a str,
    name: Option<&'a str>,
    index: usize,
    of: Option<&'a EntryOwner<'a>>,
}

impl<'a> EntryOwner<'a> {
    fn new(kind: &'a str, value: &'a SValue<'_>, name_key: &str, index: usize) -> Self {
        let name = value
            .get_ref()
            .get(name_key)
            .and_then(|v| v.get_ref().as_str());
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
        match self.name {
            Some(name) => write!(f, "{} \"{name}\"", self.kind)?,
            None => write!(f, "{} #{}", self.kind, self.index + 1)?,
        }
        match self.of {
            Some(of) => write!(f, " of {of}"),
            None => Ok(()),
        }
    }
}

fn array_items<'a, 'i>(r: &mut Report<'_>, value: &'a SValue<'i>, kind: &str) -> &'a [SValue<'i>] {
    match value.get_ref() {
        DeValue::Array(items) => items,
        other => {
            r.error(
                value.span(),
                format!(
                    "\"{kind}\" must be an array of tables ([[{kind}]]), found {}",
                    other.type_str()
                ),
            );
            &[]
        }
    }
}

fn decode_array<T: DeserializeOwned + Default>(
    r: &mut Report<'_>,
    value: &SValue<'_>,
    kind: &str,
    name_key: &str,
) -> Vec<Entry<T>> {
    let known = field_names::<T>();
    array_items(r, value, kind)
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let owner = EntryOwner::new(kind, item, name_key, i);
            decode_table(r, item, &owner, known, &[])
        })
        .collect()
}

fn decode_sites(r: &mut Report<'_>, value: &SValue<'_>) -> Vec<SiteEntry> {
    let site_keys = field_names::<FileSite>();
    let route_keys = field_names::<FileRoute>();
    let mut sites = Vec::new();
    for (i, item) in array_items(r, value, "site").iter().enumerate() {
        let owner = EntryOwner::new("site", item, "name", i);
        let site = decode_table::<FileSite>(r, item, &owner, site_keys, &["route"]);
        let mut routes = Vec::new();
        if let Some(route_value) = item.get_ref().get("route") {
            for (j, route) in array_items(r, route_value, "site.route").iter().enumerate() {
                let route_owner = EntryOwner {
                    of: Some(&owner),
                    ..EntryOwner::new("route", route, "path", j)
                };
                routes.push(decode_table(r, route, &route_owner, route_keys, &[]));
            }
        }
        sites.push(SiteEntry { site, routes });
    }
    sites
}

/// Decodes one table. Unknown keys and keys whose value does not fit are
/// reported (and left out); the rest is decoded into `T`. `known` is
/// `field_names::<T>()`; keys in `skip` are decoded elsewhere.
///
/// The usual table fits as a whole and is decoded in one pass. Only when
/// that fails is each key tried on its own, to report every key that does
/// not fit and keep the others.
fn decode_table<T: DeserializeOwned + Default>(
    r: &mut Report<'_>,
    value: &SValue<'_>,
    owner: &dyn fmt::Display,
    known: &[&str],
    skip: &[&str],
) -> Entry<T> {
    let mut entry = Entry {
        value: T::default(),
        span: value.span(),
        bad_keys: Vec::new(),
    };
    let DeValue::Table(table) = value.get_ref() else {
        r.error(
            value.span(),
            format!(
                "{owner} must be a table, found {}",
                value.get_ref().type_str()
            ),
        );
        return entry;
    };
    let mut whole = DeTable::new();
    for (key, item) in table {
        let name: &str = key.get_ref();
        if skip.contains(&name) {
            continue;
        }
        if !known.contains(&name) {
            let mut expected: Vec<&str> = known.iter().chain(skip).copied().collect();
            expected.sort_unstable();
            r.error(
                key.span(),
                format!(
                    "unknown key \"{name}\" in {owner} (expected one of: {})",
                    expected.join(", ")
                ),
            );
            entry.bad_keys.push(name.to_string());
            continue;
        }
        whole.insert(key.clone(), item.clone());
    }
    if let Ok(v) = from_table::<T>(whole, value.span()) {
        entry.value = v;
        return entry;
    }
    let mut good = DeTable::new();
    for (key, item) in table {
        let name: &str = key.get_ref();
        if skip.contains(&name) || !known.contains(&name) {
            continue;
        }
        let mut single = DeTable::new();
        single.insert(key.clone(), item.clone());
        match from_table::<T>(single, value.span()) {
            Ok(_) => {
                good.insert(key.clone(), item.clone());
            }
            Err(e) => {
                let span = e.span().unwrap_or_else(|| item.span());
                r.error(span, key_error(name, &owner.to_string(), e.message()));
                entry.bad_keys.push(name.to_string());
            }
        }
    }
    match from_table::<T>(good, value.span()) {
        Ok(v) => entry.value = v,
        // Every key decoded on its own, so this only happens if keys
        // interact; report it rather than lose it.
        Err(e) => r.error(
            e.span().unwrap_or_else(|| value.span()),
            format!("{owner}: {}", e.message()),
        ),
    }
    entry
}

fn from_table<T: DeserializeOwned>(
    table: DeTable<'_>,
    span: Range<usize>,
) -> Result<T, toml::de::Error> {
    T::deserialize(ValueDeserializer::from(Spanned::new(
        span,
        DeValue::Table(table),
    )))
}

/// `invalid type: integer `5`, expected a string` becomes
/// `http of listener "a": expected a string, found integer `5``.
fn key_error(key: &str, owner: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let expected = match expected {
                "i64" | "u64" | "u32" | "usize" => "an integer",
                other => other,
            };
            return format!("{key} of {owner}: expected {expected}, found {found}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let rest = rest.replace('`', "\"");
        return format!("{key} of {owner}: unknown key {rest}");
    }
    format!("{key} of {owner}: {message}")
}

/// The field names serde expects for `T` (a struct), read from its
/// `Deserialize` impl so they cannot drift from the schema.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

/// `FieldNames` always stops with this; it carries no text, so reading the
/// names allocates nothing.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names read")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(field_names::<FileHealth>(), &["listen"]);
        assert_eq!(field_names::<FileTcp>(), &["name", "listen", "upstream"]);
    }
}
