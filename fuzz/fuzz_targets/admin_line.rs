//! Fuzz target: the admin protocol on both ends of the socket. The daemon's
//! request line parser (`parse_line`, also through the bounded line reader)
//! and proxyctl's reply decoder (`decode_reply`, into every reply body type).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyd_protocol::framing::read_line_limited;
use proxyd_protocol::request::parse_line;
use proxyd_protocol::response::decode_reply;
use proxyd_protocol::{ReadyBody, ReloadBody, StatusReport, MAX_LINE};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = parse_line(data) {
        // A parsed command must survive its own round trip.
        assert_eq!(parse_line(cmd.as_str().as_bytes()).ok(), Some(cmd));
    }
    let mut reader = std::io::BufReader::new(data);
    if let Ok(line) = read_line_limited(&mut reader, MAX_LINE) {
        assert!(line.len() <= MAX_LINE);
        let _ = parse_line(&line);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_reply::<StatusReport>(text);
        let _ = decode_reply::<ReloadBody>(text);
        let _ = decode_reply::<ReadyBody>(text);
        let _ = decode_reply::<serde_json::Value>(text);
    }
});
