//! Replies: a flat JSON object with `status`, `protocol` and the body's fields.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::changes::ConfigChanges;
use crate::PROTOCOL_VERSION;

/// `"ok"` or `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyStatus {
    /// The command succeeded; the body's fields follow.
    Ok,
    /// The command failed; `message` says why.
    Error,
}

/// The envelope of every reply: `{"status":..,"protocol":1, ...body}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply<T> {
    /// Whether the command succeeded.
    pub status: ReplyStatus,
    /// [`PROTOCOL_VERSION`] of the daemon that answered.
    pub protocol: u32,
    /// The command's own fields, flattened into the same object.
    #[serde(flatten)]
    pub body: T,
}

impl<T: Serialize> Reply<T> {
    /// A successful reply carrying `body`.
    pub fn ok(body: T) -> Self {
        Reply {
            status: ReplyStatus::Ok,
            protocol: PROTOCOL_VERSION,
            body,
        }
    }

    /// The reply as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        crate::framing::encode_line(self)
    }
}

impl Reply<ErrorBody> {
    /// A failed reply with a message (and, for `reload`, the running generation).
    pub fn error(message: impl Into<String>, generation: Option<u64>) -> Self {
        Reply {
            status: ReplyStatus::Error,
            protocol: PROTOCOL_VERSION,
            body: ErrorBody {
                message: message.into(),
                generation,
            },
        }
    }
}

/// The body of an error reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One sentence; for a rejected reload, `file:line:col: message` lines.
    pub message: String,
    /// For `reload`: the generation that is still running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

/// The body of a `ready` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyBody {
    /// True once every listener accepts and the daemon is not draining.
    pub ready: bool,
    /// The running config generation.
    #[serde(default)]
    pub generation: u64,
}

/// The body of a successful `reload` reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReloadBody {
    /// The generation now running (one more than before).
    pub generation: u64,
    /// What the new config added, removed or changed.
    #[serde(default)]
    pub changes: ConfigChanges,
    /// Warnings from validation and static sections that were not applied.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Why a reply line could not be understood.
#[derive(Debug)]
pub enum ReplyError {
    /// The line is not JSON, or lacks `status`.
    Malformed(serde_json::Error),
    /// The daemon speaks a protocol version this reader does not know.
    Version(u32),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Malformed(e) => write!(f, "malformed reply: {e}"),
            ReplyError::Version(v) => write!(
                f,
                "the daemon speaks admin protocol {v}, this client speaks {PROTOCOL_VERSION}"
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

#[derive(Deserialize)]
struct Envelope {
    status: ReplyStatus,
    #[serde(default)]
    protocol: Option<u32>,
}

/// Decodes one reply line: `Ok(Ok(body))` for a success, `Ok(Err(error))` for
/// an error reply, `Err(_)` when the line is not a reply this client can read.
pub fn decode_reply<T: DeserializeOwned>(line: &str) -> Result<Result<T, ErrorBody>, ReplyError> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(ReplyError::Malformed)?;
    let envelope: Envelope =
        serde_json::from_value(value.clone()).map_err(ReplyError::Malformed)?;
    if let Some(v) = envelope.protocol {
        if v > PROTOCOL_VERSION {
            return Err(ReplyError::Version(v));
        }
    }
    match envelope.status {
        ReplyStatus::Ok => Ok(Ok(
            serde_json::from_value(value).map_err(ReplyError::Malformed)?
        )),
        ReplyStatus::Error => Ok(Err(
            serde_json::from_value(value).map_err(ReplyError::Malformed)?
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_is_flat_and_versioned() {
        let line = Reply::error("unknown command: x", None).to_line();
        assert_eq!(
            line,
            "{\"status\":\"error\",\"protocol\":1,\"message\":\"unknown command: x\"}\n"
        );
        let back = decode_reply::<ReadyBody>(&line).unwrap().unwrap_err();
        assert_eq!(back.message, "unknown command: x");
    }

    #[test]
    fn ok_reply_round_trips_and_ignores_unknown_fields() {
        let line = r#"{"status":"ok","protocol":1,"ready":true,"generation":3,"future":[1]}"#;
        let body = decode_reply::<ReadyBody>(line).unwrap().unwrap();
        assert_eq!(
            body,
            ReadyBody {
                ready: true,
                generation: 3
            }
        );
    }

    #[test]
    fn newer_protocol_and_garbage_are_errors() {
        assert!(matches!(
            decode_reply::<ReadyBody>(r#"{"status":"ok","protocol":9,"ready":true}"#),
            Err(ReplyError::Version(9))
        ));
        assert!(matches!(
            decode_reply::<ReadyBody>("HTTP/1.1 400 Bad Request"),
            Err(ReplyError::Malformed(_))
        ));
    }
}
