//! Black-box tests of the `proxyctl` binary: usage errors, an absent daemon,
//! a fake admin server speaking canned protocol replies (see `support`), and
//! check-config.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use support::*;

// === usage ===

#[test]
fn usage_errors_exit_2() {
    run(proxyctl().arg("bogus")).expect(2);
    run(proxyctl().args(["--timeout", "5", "status"])).expect(2);
    run(proxyctl().args(["--timeout", "0s", "status"])).expect(2);
    run(proxyctl().args(["completions", "nosh"])).expect(2);
    run(proxyctl().args(["wait-ready", "--generation", "x"])).expect(2);
    run(&mut proxyctl()).expect(2);
}

#[test]
fn version_is_printed() {
    let r = run(proxyctl().arg("--version")).expect(0);
    assert_eq!(
        r.stdout.trim(),
        format!("proxyctl {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_are_printed_for_three_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(proxyctl().args(["completions", shell])).expect(0);
        assert!(r.stdout.contains("wait-ready"), "{shell}: {}", r.stdout);
    }
}

// === no daemon ===

#[test]
fn no_daemon_exits_3_with_a_hint() {
    let dir = short_tempdir();
    let socket = dir.path().join("missing.sock");
    for command in ["status", "reload"] {
        let r = run(ctl(&socket).arg(command)).expect(3);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("cannot reach proxyd"), "{}", r.stderr);
        assert!(
            r.stderr.contains(&socket.display().to_string()),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("is proxyd running?"), "{}", r.stderr);
    }
}

#[test]
fn no_daemon_with_json_prints_one_error_object() {
    let dir = short_tempdir();
    let socket = dir.path().join("missing.sock");
    for command in ["status", "reload"] {
        let r = run(ctl(&socket).args(["--json", command])).expect(3);
        let doc = r.json();
        assert_eq!(doc["status"], "error");
        assert!(doc["message"].as_str().unwrap().contains("not found"));
        assert!(r.stderr.contains("cannot reach proxyd"));
    }
}

#[test]
fn socket_comes_from_the_environment() {
    let dir = short_tempdir();
    let socket = dir.path().join("env.sock");
    let r = run(proxyctl().env("PROXYD_ADMIN_SOCKET", &socket).arg("status")).expect(3);
    assert!(
        r.stderr.contains(&socket.display().to_string()),
        "{}",
        r.stderr
    );
    let r = run(proxyctl().arg("status")).expect(3);
    assert!(r.stderr.contains("/run/proxyd/admin.sock"), "{}", r.stderr);
}

#[test]
fn a_file_that_is_not_a_socket_is_unreachable() {
    let dir = short_tempdir();
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let r = run(ctl(&file).arg("status")).expect(3);
    assert!(r.stderr.contains("not a socket"), "{}", r.stderr);
}

// === status ===

#[test]
fn status_sends_one_command_line() {
    let fake = FakeDaemon::always(&status(3, true));
    run(ctl(&fake.socket).arg("status")).expect(0);
    assert_eq!(fake.received(), vec!["status\n".to_string()]);
}

#[test]
fn status_prints_header_and_tables_without_colour() {
    let fake = FakeDaemon::always(&status(3, true));
    let r = run(ctl(&fake.socket).arg("status")).expect(0);
    let out = &r.stdout;
    assert!(!out.contains('\x1b'), "ANSI escape in:\n{out}");
    assert!(out.contains("pid:          4242"), "{out}");
    assert!(out.contains("uptime:       1h 2m"), "{out}");
    assert!(out.contains("state:        ready"), "{out}");
    assert!(
        out.contains("generation:   3 (sha256 0123456789ab)"),
        "{out}"
    );
    assert!(out.contains("last reload:  ok, "), "{out}");
    assert_eq!(
        header_words(out, "NAME"),
        ["NAME", "KIND", "HTTP", "HTTPS", "ACTIVE"]
    );
    assert_eq!(
        header_words(out, "UPSTREAM"),
        ["UPSTREAM", "ADDRESS", "HEALTH", "ACTIVE", "REQUESTS", "FAILURES"]
    );
    assert_eq!(
        header_words(out, "SITE"),
        ["SITE", "SOURCE", "EXPIRES", "NEXT", "RENEWAL", "LAST", "ERROR"]
    );
    assert_eq!(
        header_words(out, "api  "),
        ["api", "127.0.0.1:8081", "healthy", "1", "100", "2"]
    );
    assert!(out.contains("unhealthy"), "{out}");
    let cert = header_words(out, "app ");
    assert_eq!(cert[..4], ["app", "acme", "45", "days"], "{out}");
    assert_eq!(cert[5..], ["in", "15d", "1h", "-"], "{out}");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn status_leaves_out_empty_tables() {
    let fake = FakeDaemon::always(
        r#"{"status":"ok","protocol":1,"version":"0.1.0","pid":1,"uptime_secs":5,"ready":false,"draining":false,"sites":0,
        "config":{"path":"/p.toml","generation":1,"sha256":"ab","loaded_at":"2026-01-01T00:00:00Z"},"requests_total":0}"#
            .replace('\n', "")
            .as_str(),
    );
    let r = run(ctl(&fake.socket).arg("status")).expect(0);
    assert!(r.stdout.contains("state:        not ready"), "{}", r.stdout);
    assert!(
        r.stdout.contains("last reload:  none since start"),
        "{}",
        r.stdout
    );
    for absent in ["listeners:", "upstream servers:", "certificates:"] {
        assert!(!r.stdout.contains(absent), "{}", r.stdout);
    }
}

#[test]
fn status_json_passes_the_reply_through() {
    let reply = status(3, true);
    let fake = FakeDaemon::always(&reply);
    let r = run(ctl(&fake.socket).args(["status", "--json"])).expect(0);
    assert_eq!(r.json(), serde_json::from_str::<Value>(&reply).unwrap());
    assert_eq!(r.stdout.trim_end(), reply);
}

#[test]
fn status_error_reply_exits_1() {
    let fake = FakeDaemon::always(
        r#"{"status":"error","protocol":1,"message":"unknown command: status"}"#,
    );
    let r = run(ctl(&fake.socket).arg("status")).expect(1);
    assert!(r.stderr.contains("unknown command: status"), "{}", r.stderr);
    let r = run(ctl(&fake.socket).args(["--json", "status"])).expect(1);
    assert_eq!(r.json()["message"], "unknown command: status");
}

#[test]
fn refused_credentials_are_unreachable() {
    let fake =
        FakeDaemon::always(r#"{"status":"error","message":"permission denied","protocol":1}"#);
    let r = run(ctl(&fake.socket).arg("status")).expect(3);
    assert!(r.stderr.contains("allowed_users"), "{}", r.stderr);
}

// === reload ===

#[test]
fn reload_prints_the_generation_change() {
    let fake = FakeDaemon::always(
        r#"{"status":"ok","protocol":1,"generation":4,"changes":{"sites":{"added":["blog"],"removed":[],"changed":["app"]},"upstreams":{"added":[],"removed":["old"],"changed":[]}},"warnings":["[runtime] changed: restart to apply"]}"#,
    );
    let r = run(ctl(&fake.socket).arg("reload")).expect(0);
    assert_eq!(fake.received(), vec!["reload\n".to_string()]);
    assert!(
        r.stdout.starts_with("reloaded: generation 3 → 4\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sites:     added blog; changed app"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("upstreams: removed old"), "{}", r.stdout);
    assert!(
        r.stderr.contains("warning: [runtime] changed"),
        "{}",
        r.stderr
    );
}

#[test]
fn rejected_reload_exits_1_with_the_daemon_message() {
    let reply = r#"{"status":"error","protocol":1,"message":"/etc/proxyd/proxyd.toml:12:5: unknown upstream `apii`\n/etc/proxyd/proxyd.toml:20:1: duplicate site `app`","generation":3}"#;
    let fake = FakeDaemon::always(reply);
    let r = run(ctl(&fake.socket).arg("reload")).expect(1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("generation 3 keeps running"),
        "{}",
        r.stderr
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines.contains(&"/etc/proxyd/proxyd.toml:12:5: unknown upstream `apii`"),
        "{}",
        r.stderr
    );
    assert!(
        lines.contains(&"/etc/proxyd/proxyd.toml:20:1: duplicate site `app`"),
        "{}",
        r.stderr
    );

    let r = run(ctl(&fake.socket).args(["--json", "reload"])).expect(1);
    assert_eq!(r.stdout.trim_end(), reply);
}

// === broken daemons ===

#[test]
fn garbage_reply_exits_1() {
    let fake = FakeDaemon::always("HTTP/1.1 400 Bad Request");
    let r = run(ctl(&fake.socket).arg("status")).expect(1);
    assert!(
        r.stderr.contains("not an admin-protocol reply"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("protocol version unknown"),
        "{}",
        r.stderr
    );
    let r = run(ctl(&fake.socket).args(["--json", "status"])).expect(1);
    assert_eq!(r.json()["status"], "error");
}

#[test]
fn newer_protocol_is_named() {
    let fake = FakeDaemon::always(r#"{"status":"ok","protocol":7,"ready":true}"#);
    let r = run(ctl(&fake.socket).arg("status")).expect(1);
    assert!(r.stderr.contains("protocol 7"), "{}", r.stderr);
}

#[test]
fn silent_daemon_times_out_with_exit_4() {
    let fake = FakeDaemon::start(|_, _| Answer::Silent);
    let started = Instant::now();
    let r = run(ctl(&fake.socket).args(["--timeout", "300ms", "status"])).expect(4);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(r.stderr.contains("did not answer `status`"), "{}", r.stderr);
    assert!(r.stderr.contains("300ms"), "{}", r.stderr);
    let r = run(ctl(&fake.socket).args(["--json", "--timeout", "300ms", "reload"])).expect(4);
    assert_eq!(r.json()["status"], "error");
}

#[test]
fn closed_connection_exits_1() {
    let fake = FakeDaemon::start(|_, _| Answer::Close);
    let r = run(ctl(&fake.socket).arg("status")).expect(1);
    assert!(r.stderr.contains("without answering"), "{}", r.stderr);
}

// === wait-ready ===

#[test]
fn wait_ready_polls_until_ready() {
    let fake = FakeDaemon::start(|_, n| Answer::Line(ready(n >= 3)));
    let r = run(ctl(&fake.socket).args(["wait-ready", "--timeout", "10s"])).expect(0);
    assert!(r.stdout.starts_with("ready"), "{}", r.stdout);
    let received = fake.received();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|l| l == "ready\n"), "{received:?}");
}

#[test]
fn wait_ready_json_is_one_object() {
    let fake = FakeDaemon::start(|_, n| {
        Answer::Line(format!(
            r#"{{"status":"ok","protocol":1,"ready":{},"generation":2}}"#,
            n >= 1
        ))
    });
    let r = run(ctl(&fake.socket).args(["--json", "wait-ready"])).expect(0);
    let doc = r.json();
    assert_eq!(doc["ready"], true);
    assert_eq!(doc["generation"], 2);
    assert!(doc["waited_ms"].is_u64());
}

#[test]
fn wait_ready_times_out_with_exit_4() {
    let fake = FakeDaemon::start(|_, _| Answer::Line(ready(false)));
    let started = Instant::now();
    let r = run(ctl(&fake.socket).args(["wait-ready", "--timeout", "300ms"])).expect(4);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(r.stderr.contains("not ready after 300ms"), "{}", r.stderr);
    assert!(
        r.stderr.contains("proxyd reports not ready"),
        "{}",
        r.stderr
    );
    let r = run(ctl(&fake.socket).args(["--json", "wait-ready", "--timeout", "300ms"])).expect(4);
    assert_eq!(r.json()["status"], "error");
}

#[test]
fn wait_ready_without_a_daemon_times_out_with_the_reason() {
    let dir = short_tempdir();
    let socket = dir.path().join("never.sock");
    let r = run(ctl(&socket).args(["wait-ready", "--timeout", "300ms"])).expect(4);
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
}

#[test]
fn wait_ready_waits_for_the_socket_to_appear() {
    let dir = short_tempdir();
    let socket = dir.path().join("late.sock");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("proxyctl"))
        .arg("--socket")
        .arg(&socket)
        .args(["wait-ready", "--timeout", "10s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    let fake = FakeDaemon::start_at(&socket, Box::new(|_, _| Answer::Line(ready(true))));
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fake.received().is_empty());
}

#[test]
fn wait_ready_waits_for_the_generation() {
    let fake = FakeDaemon::start(|_, n| Answer::Line(status(3 + n as u64, true)));
    let r = run(ctl(&fake.socket).args(["wait-ready", "--generation", "5", "--timeout", "10s"]))
        .expect(0);
    assert!(r.stdout.contains("generation 5"), "{}", r.stdout);
    let received = fake.received();
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(received.iter().all(|l| l == "status\n"), "{received:?}");
}

#[test]
fn wait_ready_healthy_names_the_upstream_without_a_healthy_server() {
    let fake = FakeDaemon::start(|_, _| Answer::Line(status(1, false)));
    let r =
        run(ctl(&fake.socket).args(["wait-ready", "--healthy", "--timeout", "300ms"])).expect(4);
    assert!(
        r.stderr.contains("upstream `api` has no healthy server"),
        "{}",
        r.stderr
    );
    let fake = FakeDaemon::start(|_, n| Answer::Line(status(1, n >= 1)));
    run(ctl(&fake.socket).args(["wait-ready", "--healthy", "--certificates"])).expect(0);
}

#[test]
fn wait_ready_fails_at_once_on_garbage() {
    let fake = FakeDaemon::always("garbage");
    let started = Instant::now();
    run(ctl(&fake.socket).args(["wait-ready", "--timeout", "10s"])).expect(1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

// === check-config ===

#[test]
fn check_config_missing_file_is_one_sentence() {
    let dir = short_tempdir();
    let path = dir.path().join("nope.toml");
    let r = run(proxyctl().arg("check-config").arg(&path)).expect(1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let r = run(proxyctl().args(["--json", "check-config"]).arg(&path)).expect(1);
    assert_eq!(r.json()["valid"], false);
}

const INVALID: &str = "[[listener]]\nname = \"public\"\nhttp = \"127.0.0.1:8080\"\nbogus_key = 1\n";

#[test]
fn check_config_invalid_file_lists_errors_compiler_style() {
    // Needs the real validation (config branch): the stub has no positions.
    let dir = short_tempdir();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, INVALID).unwrap();
    let r = run(proxyctl().arg("check-config").arg(&path)).expect(1);
    let prefix = format!("{}:", path.display());
    let diagnostics: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    assert!(!diagnostics.is_empty(), "{}", r.stderr);
    for line in diagnostics {
        let rest = &line[prefix.len()..];
        let mut parts = rest.splitn(3, ':');
        let (l, c) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok(),
            "not file:line:col: {line}"
        );
        assert!(parts.next().unwrap().starts_with(" error: "), "{line}");
    }
    assert!(r.stderr.contains("is invalid: "), "{}", r.stderr);
}

#[test]
fn check_config_json_has_the_documented_shape() {
    let dir = short_tempdir();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, INVALID).unwrap();
    let r = run(proxyctl().args(["check-config", "--json"]).arg(&path)).expect(1);
    let doc = r.json();
    assert_eq!(doc["valid"], false);
    let errors = doc["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for e in errors {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{e}");
        assert_eq!(e["file"], path.display().to_string());
        assert!(e["line"].is_u64() && e["column"].is_u64() && e["message"].is_string());
    }
    assert!(doc["warnings"].is_array());
}

#[test]
fn check_config_valid_file_exits_0() {
    // Needs the real validation (config branch): the stub rejects every file.
    let dir = short_tempdir();
    let path = dir.path().join("good.toml");
    std::fs::write(
        &path,
        r#"[admin]
socket = ""

[health]
listen = ""

[[listener]]
name = "public"
http = "127.0.0.1:18080"

[[site]]
name = "app"
hosts = ["app.test"]

  [[site.route]]
  path = "/"
  respond = { status = 200, body = "ok" }
"#,
    )
    .unwrap();
    let r = run(proxyctl().arg("check-config").arg(&path)).expect(0);
    assert!(r.stdout.starts_with("config OK"), "{}", r.stdout);
    let r = run(proxyctl().args(["--json", "check-config"]).arg(&path)).expect(0);
    assert_eq!(r.json()["valid"], true);
}

// === golden output ===
//
// The human tables are part of the interface a tired operator reads and a
// script may grep: their column sets and layout change only on purpose.
// `UPDATE_GOLDEN=1 cargo test -p proxyctl --test cli golden` rewrites them.

/// Dates in the fixture are relative to now; everything else is fixed.
fn without_dates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let is_date = chars.len() >= i + 10
            && chars[i..i + 10].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == '-',
                _ => c.is_ascii_digit(),
            });
        if is_date {
            out.push_str("YYYY-MM-DD");
            i += 10;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn golden(name: &str, actual: &str) {
    let actual = &without_dates(actual);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing {}: run `UPDATE_GOLDEN=1 cargo test -p proxyctl --test cli golden`",
            path.display()
        )
    });
    if &expected != actual {
        panic!(
            "{} differs (UPDATE_GOLDEN=1 rewrites it if the change is intended)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

#[test]
fn golden_status_table() {
    let fake = FakeDaemon::always(&status(3, true));
    let r = run(ctl(&fake.socket).arg("status")).expect(0);
    golden("status.txt", &r.stdout);
}

#[test]
fn golden_reload_summary() {
    let fake = FakeDaemon::always(
        r#"{"status":"ok","protocol":1,"generation":4,"changes":{"sites":{"added":["blog"],"removed":[],"changed":["app"]},"upstreams":{"added":[],"removed":["old"],"changed":[]},"listeners":{"added":["admin"],"removed":[],"changed":[]}},"warnings":[]}"#,
    );
    let r = run(ctl(&fake.socket).arg("reload")).expect(0);
    golden("reload.txt", &r.stdout);
}

#[test]
fn narrow_terminals_wrap_tables_within_the_width() {
    let mut wide = status(3, true);
    wide = wide.replace(
        "\"last_error\":null",
        "\"last_error\":\"order failed: urn:ietf:params:acme:error:connection: connection refused by 127.0.0.1:5002\"",
    );
    let fake = FakeDaemon::always(&wide);
    let r = run(ctl(&fake.socket).env("COLUMNS", "60").arg("status")).expect(0);
    let tables = r
        .stdout
        .split("\n\n")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    for line in tables.lines() {
        assert!(
            line.chars().count() <= 60,
            "line wider than 60 columns: {line:?}\n{}",
            r.stdout
        );
    }
    // Wrapped, not cut: the LAST ERROR column, read top to bottom, still
    // holds the whole message.
    let certs = r.stdout.split("certificates:\n").nth(1).unwrap();
    let column = certs.lines().next().unwrap().find("LAST ERROR").unwrap();
    let text: String = certs
        .lines()
        .skip(1)
        .filter_map(|l| l.get(column..))
        .collect::<String>()
        .split_whitespace()
        .collect();
    assert_eq!(
        text, "orderfailed:urn:ietf:params:acme:error:connection:connectionrefusedby127.0.0.1:5002",
        "{}",
        r.stdout
    );
    // Into a pipe without COLUMNS, rows stay whole for grep.
    let r = run(ctl(&fake.socket).arg("status")).expect(0);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("app ") && l.contains("127.0.0.1:5002")),
        "{}",
        r.stdout
    );
}

#[test]
fn uptime_under_a_second_is_not_shown_as_zero_milliseconds() {
    let fake =
        FakeDaemon::always(&status(1, true).replace("\"uptime_secs\":3725", "\"uptime_secs\":0"));
    let r = run(ctl(&fake.socket).arg("status")).expect(0);
    assert!(r.stdout.contains("uptime:       <1s\n"), "{}", r.stdout);
}
