//! Durations and sizes with units, as written in the config file.
//!
//! The syntax is deliberately strict (one whole number and one unit, no
//! spaces, no fractions, no compound forms like `1h30m`), because a config
//! value that reads two ways is a bug waiting for a reload:
//!
//! - durations: `<n>ms`, `<n>s`, `<n>m`, `<n>h`, `<n>d` (`"250ms"`, `"30d"`);
//! - sizes: a TOML integer (bytes), or `<n>B`, `<n>KB`/`MB`/`GB` (powers of
//!   1000) or `<n>KiB`/`MiB`/`GiB`/`TiB` (powers of 1024).
//!
//! `humantime` accepts much looser forms (`"5 sec"`, `"1h 30m"`), so it is not
//! used here. [`DurationValue`] and [`SizeValue`] are the serde types of the
//! file schema; their errors become diagnostics at the value's position.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

const DURATION_HINT: &str = r#"expected a number with a unit such as "250ms", "5s", "10m", "30d""#;
const SIZE_HINT: &str =
    r#"expected a number of bytes or a number with a unit such as "512KiB", "10MiB", "10MB""#;

/// Splits `"250ms"` into `(250, "ms")`; `None` when there is no leading number.
fn split_number(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = s[..digits].parse().ok()?;
    Some((number, &s[digits..]))
}

/// Parses a duration such as `"250ms"` or `"30d"`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration \"{s}\": {DURATION_HINT}");
    let (n, unit) = split_number(s).ok_or_else(invalid)?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    n.checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("invalid duration \"{s}\": too large"))
}

/// Parses a size such as `"512KiB"`, `"10MB"` or `"1024"` (bytes).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let invalid = || format!("invalid size \"{s}\": {SIZE_HINT}");
    let (n, unit) = split_number(s).ok_or_else(invalid)?;
    let multiplier: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return Err(invalid()),
    };
    n.checked_mul(multiplier)
        .ok_or_else(|| format!("invalid size \"{s}\": too large"))
}

/// A duration written as a string with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurationValue(pub(crate) Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string such as "5s""#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurationValue, E> {
                parse_duration(s).map(DurationValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DurationValue, E> {
                Err(E::custom(format!(
                    "invalid duration {n}: a duration needs a unit, e.g. \"{n}s\" or \"{n}ms\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes, written as an integer or as a string with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeValue(pub(crate) u64);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a size such as "10MiB" or a number of bytes"#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SizeValue, E> {
                parse_size(s).map(SizeValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SizeValue, E> {
                u64::try_from(n)
                    .map(SizeValue)
                    .map_err(|_| E::custom(format!("invalid size {n}: must not be negative")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SizeValue, E> {
                Ok(SizeValue(n))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("5x"),
            Err(r#"invalid duration "5x": expected a number with a unit such as "250ms", "5s", "10m", "30d""#.into())
        );
        for bad in ["", "s", "5", "5 s", "1.5s", "-1s", "1h30m", "5S"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("10KB"), Ok(10_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(
            parse_size("10 MiB"),
            Err(r#"invalid size "10 MiB": expected a number of bytes or a number with a unit such as "512KiB", "10MiB", "10MB""#.into())
        );
        for bad in ["", "MiB", "1.5MiB", "10mib", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
