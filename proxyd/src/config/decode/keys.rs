//! A table that does not fit in one pass: each key is tried on its own, so
//! that every key in error is reported (with serde's message reworded) and
//! the others are still decoded.

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::SValue;
use crate::config::file::Entry;
use crate::config::report::Report;

/// Tries each known key of `value` (a table) on its own, reports those that
/// do not fit, and decodes the others into `entry`.
pub(super) fn key_by_key<T: DeserializeOwned>(
    r: &mut Report<'_>,
    value: &SValue<'_>,
    owner: &dyn fmt::Display,
    known: &[&str],
    skip: &[&str],
    entry: &mut Entry<T>,
) {
    let DeValue::Table(table) = value.get_ref() else {
        return;
    };
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
}

/// Decodes `T` from `table`, spanned as `span` (the entry it came from).
pub(super) fn from_table<T: DeserializeOwned>(
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
