//! Line framing: one JSON (or command) line per direction, bounded in size.

use serde::Serialize;
use std::io::{self, BufRead, Read};

/// Serializes `value` as one JSON line ending in `\n`.
pub fn encode_line<T: Serialize>(value: &T) -> String {
    // Serializing our own plain structs to a String cannot fail: they hold no
    // maps with non-string keys and no failing `Serialize` impls.
    let mut line = serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"status\":\"error\",\"protocol\":1,\"message\":\"internal error: {e}\"}}")
    });
    line.push('\n');
    line
}

/// Reads one line of at most `max` bytes (newline included) from a blocking
/// reader. Returns the line without its newline. A line longer than `max`, or
/// a stream that ends before any byte, is an error.
pub fn read_line_limited<R: BufRead>(reader: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut limited = reader.by_ref().take(max as u64);
    let n = limited.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed without a reply",
        ));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if n >= max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line longer than {max} bytes"),
        ));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_line_and_refuses_long_ones() {
        let mut r = io::Cursor::new(b"hello\nworld\n".to_vec());
        assert_eq!(read_line_limited(&mut r, 100).unwrap(), b"hello");
        let mut r = io::Cursor::new(vec![b'a'; 200]);
        assert!(read_line_limited(&mut r, 100).is_err());
        let mut r = io::Cursor::new(Vec::new());
        assert!(read_line_limited(&mut r, 100).is_err());
        // A final line without a newline is still a line.
        let mut r = io::Cursor::new(b"last".to_vec());
        assert_eq!(read_line_limited(&mut r, 100).unwrap(), b"last");
    }
}
