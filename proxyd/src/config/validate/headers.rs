//! Header rules (`request_headers` / `response_headers`): valid names and
//! values, and none of the headers proxyd itself manages.

use std::fmt;

use http::{HeaderName, HeaderValue};

use crate::config::file::FileHeaderRules;
use crate::config::report::Report;
use crate::config::HeaderRules;

/// Headers a rule may not touch, and why.
fn managed(name: &HeaderName) -> Option<&'static str> {
    match name.as_str() {
        "host" => Some("proxyd sets it from the request and preserve_host"),
        "content-length" | "transfer-encoding" => Some("it defines the message framing"),
        "connection" | "keep-alive" | "proxy-connection" | "te" | "trailer" | "upgrade" => {
            Some("it is a hop-by-hop header")
        }
        "x-forwarded-for" | "x-forwarded-proto" | "x-forwarded-host" | "x-real-ip"
        | "x-request-id" | "forwarded" => Some("proxyd manages the forwarding headers"),
        _ => None,
    }
}

/// Validates one `{ set, remove }` table; `what` is e.g.
/// `request_headers of route "/" of site "app"`.
pub(super) fn rules(
    r: &mut Report<'_>,
    rules: Option<&FileHeaderRules>,
    what: &dyn fmt::Display,
) -> HeaderRules {
    let mut out = HeaderRules::default();
    let Some(rules) = rules else { return out };
    let check_name = |r: &mut Report<'_>, key: &crate::config::file::SStr, part: &str| {
        let raw = key.get_ref();
        match HeaderName::from_bytes(raw.as_bytes()) {
            Err(_) => {
                r.error(
                    key.span(),
                    format!("invalid header name \"{raw}\" in {part} of {what}: expected letters, digits and !#$%&'*+-.^_`|~"),
                );
                None
            }
            Ok(name) => match managed(&name) {
                Some(why) => {
                    r.error(
                        key.span(),
                        format!("{part} of {what} must not touch header \"{raw}\": {why}"),
                    );
                    None
                }
                None => Some(name),
            },
        }
    };
    for (key, value) in rules.set.iter().flatten() {
        let name = check_name(r, key, "set");
        match HeaderValue::from_str(value.get_ref()) {
            Ok(v) => {
                if let Some(name) = name {
                    out.set.push((name, v));
                }
            }
            Err(_) => r.error(
                value.span(),
                format!(
                    "invalid value for header \"{}\" in set of {what}: control characters are not allowed",
                    key.get_ref()
                ),
            ),
        }
    }
    for key in rules.remove.iter().flatten() {
        if let Some(name) = check_name(r, key, "remove") {
            out.remove.push(name);
        }
    }
    out
}
