//! Human time: compact durations ("3h 12m") and RFC 3339 timestamps turned
//! into ages ("5m ago") or countdowns ("in 2d 3h"), relative to a given now.
//!
//! The daemon sends timestamps as RFC 3339 UTC strings (protocol `status`
//! module); one that does not parse is shown as it came.

use std::time::{Duration, SystemTime};

/// "300ms", "42s", "12m 5s", "3h 12m", "4d 3h": two units at most.
pub fn compact_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (days, hours, mins, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let (big, small) = if days > 0 {
        ((days, "d"), (hours, "h"))
    } else if hours > 0 {
        ((hours, "h"), (mins, "m"))
    } else if mins > 0 {
        ((mins, "m"), (s, "s"))
    } else {
        return format!("{s}s");
    };
    if small.0 == 0 {
        format!("{}{}", big.0, big.1)
    } else {
        format!("{}{} {}{}", big.0, big.1, small.0, small.1)
    }
}

/// Seconds from `now` until `timestamp` (negative when it is past), or
/// `None` when `timestamp` is not RFC 3339.
pub fn seconds_until(timestamp: &str, now: SystemTime) -> Option<i64> {
    let at = humantime::parse_rfc3339_weak(timestamp.trim()).ok()?;
    let secs = match at.duration_since(now) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).ok()?,
        Err(behind) => -i64::try_from(behind.duration().as_secs()).ok()?,
    };
    Some(secs)
}

/// "5m ago", "in 2d 3h", "now", or the timestamp as given if unparsable.
pub fn relative(timestamp: &str, now: SystemTime) -> String {
    match seconds_until(timestamp, now) {
        Some(0) => "now".into(),
        Some(s) if s > 0 => format!(
            "in {}",
            compact_duration(Duration::from_secs(s.unsigned_abs()))
        ),
        Some(s) => format!(
            "{} ago",
            compact_duration(Duration::from_secs(s.unsigned_abs()))
        ),
        None => timestamp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_two_units() {
        assert_eq!(compact_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(compact_duration(Duration::from_secs(42)), "42s");
        assert_eq!(compact_duration(Duration::from_secs(725)), "12m 5s");
        assert_eq!(
            compact_duration(Duration::from_secs(3 * 3600 + 720 + 5)),
            "3h 12m"
        );
        assert_eq!(compact_duration(Duration::from_secs(4 * 86_400)), "4d");
    }

    #[test]
    fn timestamps_become_ages_and_countdowns() {
        let now = humantime::parse_rfc3339("2026-11-22T03:18:45Z").unwrap();
        assert_eq!(relative("2026-11-22T03:13:45Z", now), "5m ago");
        assert_eq!(relative("2026-11-24T06:18:45Z", now), "in 2d 3h");
        assert_eq!(relative("yesterday", now), "yesterday");
        assert_eq!(seconds_until("2026-11-22T03:18:40Z", now), Some(-5));
    }
}
