//! Requests: one command word per connection.

use serde::Deserialize;
use std::fmt;

/// A command the daemon understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Re-read, validate and swap in the config file.
    Reload,
    /// Report the daemon's state.
    Status,
    /// Say whether the daemon is ready to serve.
    Ready,
}

impl Command {
    /// The command word as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Reload => "reload",
            Command::Status => "status",
            Command::Ready => "ready",
        }
    }

    fn from_word(word: &str) -> Result<Self, RequestError> {
        match word {
            "reload" => Ok(Command::Reload),
            "status" => Ok(Command::Status),
            "ready" => Ok(Command::Ready),
            "" => Err(RequestError::Invalid),
            other => Err(RequestError::Unknown(truncate(other, 64))),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request line was refused. `Display` is the message the daemon sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Empty, not UTF-8, or malformed JSON.
    Invalid,
    /// Well-formed, but not a command we know.
    Unknown(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Invalid => f.write_str("invalid input"),
            RequestError::Unknown(cmd) => write!(f, "unknown command: {cmd}"),
        }
    }
}

impl std::error::Error for RequestError {}

#[derive(Deserialize)]
struct JsonRequest {
    command: String,
}

/// Parses one request line (with or without its trailing newline): a bare
/// command word, or a JSON object with a `command` field. Unknown JSON fields
/// are ignored.
pub fn parse_line(line: &[u8]) -> Result<Command, RequestError> {
    let text = std::str::from_utf8(line).map_err(|_| RequestError::Invalid)?;
    let text = text.trim();
    if text.starts_with('{') {
        let req: JsonRequest = serde_json::from_str(text).map_err(|_| RequestError::Invalid)?;
        return Command::from_word(req.command.trim());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RequestError::Invalid);
    }
    Command::from_word(text)
}

/// Echoing a hostile command back verbatim would let a client make the daemon
/// write arbitrary amounts into its reply; keep only a short, printable prefix.
fn truncate(word: &str, max_chars: usize) -> String {
    let mut out: String = word
        .chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect();
    if word.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_words_and_json_objects_parse() {
        assert_eq!(parse_line(b"status\n"), Ok(Command::Status));
        assert_eq!(parse_line(b"reload"), Ok(Command::Reload));
        assert_eq!(parse_line(br#"{"command":"ready"}"#), Ok(Command::Ready));
        assert_eq!(
            parse_line(br#"{"command":"status","extra":1}"#),
            Ok(Command::Status)
        );
    }

    #[test]
    fn bad_lines_are_invalid_or_unknown() {
        assert_eq!(parse_line(b""), Err(RequestError::Invalid));
        assert_eq!(parse_line(b"\n"), Err(RequestError::Invalid));
        assert_eq!(parse_line(b"{nope"), Err(RequestError::Invalid));
        assert_eq!(parse_line(b"\xff\xfe"), Err(RequestError::Invalid));
        assert_eq!(parse_line(b"two words"), Err(RequestError::Invalid));
        assert_eq!(
            parse_line(b"restart").map_err(|e| e.to_string()),
            Err("unknown command: restart".to_string())
        );
        let long = "x".repeat(1000);
        let msg = parse_line(long.as_bytes()).unwrap_err().to_string();
        assert!(msg.len() < 100, "{msg}");
    }
}
