//! CPU time and memory of a process group, read from `/proc`.
//!
//! Every server runs in its own process group (see `procs`), so nginx's
//! master and worker are counted together, exactly like a single-process
//! proxyd. CPU is `utime + stime` in clock ticks; memory is the sum of
//! `VmRSS` (now) or `VmHWM` (peak) over the group's live processes.

use std::fs;

/// One `/proc/PID/stat` line, the fields we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Process state letter (`Z` for a zombie).
    pub state: char,
    /// Process group id.
    pub pgrp: i32,
    /// User plus system CPU time, in clock ticks.
    pub ticks: u64,
}

/// Parses a `/proc/PID/stat` line. The command name may contain spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state(3) ppid(4) pgrp(5) ... utime(14) stime(15).
    let state = fields.first()?.chars().next()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat {
        state,
        pgrp,
        ticks: utime + stime,
    })
}

/// Live (non-zombie) processes of group `pgid`, with their stat.
pub fn group(pgid: i32) -> Vec<(i32, Stat)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
            (stat.pgrp == pgid && stat.state != 'Z').then_some((pid, stat))
        })
        .collect()
}

/// CPU ticks used so far by the live processes of group `pgid`.
pub fn group_ticks(pgid: i32) -> u64 {
    group(pgid).iter().map(|(_, s)| s.ticks).sum()
}

/// Sum of a `/proc/PID/status` field (in KiB) over group `pgid`:
/// `"VmRSS"` for resident memory now, `"VmHWM"` for its peak.
pub fn group_kib(pgid: i32, field: &str) -> u64 {
    group(pgid)
        .iter()
        .filter_map(|(pid, _)| fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| status_kib(&status, field))
        .sum()
}

/// Reads `FIELD:   1234 kB` from a `/proc/PID/status` text.
pub fn status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let value = l.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if unknown.
pub fn clock_ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => n as u64,
        _ => 100,
    }
}

/// Whole-machine CPU times from `/proc/stat`: (steal, total), in ticks.
pub fn cpu_times() -> (u64, u64) {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_cpu_line(text.lines().next().unwrap_or_default())
}

/// `cpu  user nice system idle iowait irq softirq steal ...` → (steal, total).
pub fn parse_cpu_line(line: &str) -> (u64, u64) {
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    (v.get(7).copied().unwrap_or(0), v.iter().sum())
}

/// Hypervisor steal between two [`cpu_times`] readings, percent.
pub fn steal_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0.0;
    }
    100.0 * after.0.saturating_sub(before.0) as f64 / total as f64
}

/// Raises the soft open-file limit to the hard one (servers inherit it);
/// returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 \
                    100 0 0 0 37 5 0 0 20 0 1 0 123 1000 300 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                pgrp: 4241,
                ticks: 42
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tnginx\nVmHWM:\t   13312 kB\nVmRSS:\t   12800 kB\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(12800));
        assert_eq!(status_kib(status, "VmHWM"), Some(13312));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn steal_is_a_share_of_all_cpu_time() {
        let before = parse_cpu_line("cpu  100 0 50 800 0 0 0 50 0 0");
        let after = parse_cpu_line("cpu  200 0 100 1600 0 0 0 100 0 0");
        assert_eq!(before, (50, 1000));
        assert!((steal_percent(before, after) - 5.0).abs() < 1e-9);
    }
}
