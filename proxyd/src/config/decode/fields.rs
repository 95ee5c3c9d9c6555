//! The keys a `File*` struct accepts, read from its `Deserialize` impl so
//! they cannot drift from the schema.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// The field names serde expects for `T` (a struct), read from its
/// `Deserialize` impl so they cannot drift from the schema.
pub(super) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
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
    use crate::config::file::{FileHealth, FileTcp};

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(field_names::<FileHealth>(), &["listen"]);
        assert_eq!(field_names::<FileTcp>(), &["name", "listen", "upstream"]);
    }
}
