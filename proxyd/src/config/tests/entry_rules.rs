//! Rules about single entries (routes, servers, enums, limits, listeners,
//! health checks), and the "ten mistakes, ten errors" test.

use super::*;

#[test]
fn routes_need_exactly_one_action_and_unique_paths() {
    let src = with(
        "  [[site.route]]\n  path = \"/x\"\n  upstream = \"api\"\n  respond = { body = \"x\" }\n\
         \x20 [[site.route]]\n  path = \"/y\"\n\
         \x20 [[site.route]]\n  path = \"api/\"\n  upstream = \"api\"\n\
         \x20 [[site.route]]\n  upstream = \"api\"\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:14:3: route \"/x\" of site \"app\" has more than one of \"upstream\", \"redirect\" and \"respond\": keep exactly one",
            "t.toml:18:3: route \"/y\" of site \"app\" needs one of \"upstream\", \"redirect\" or \"respond\"",
            "t.toml:21:10: invalid path \"api/\" of route \"api/\" of site \"app\": expected a path starting with \"/\"",
            "t.toml:23:3: duplicate route path \"/\" in site \"app\" (first at line 12)",
        ]
    );
}

#[test]
fn redirect_and_respond_statuses() {
    let src = with(
        "  [[site.route]]\n  path = \"/a\"\n  redirect = { to = \"https://x/\", status = 300 }\n\
         \x20 [[site.route]]\n  path = \"/b\"\n  respond = { status = 600 }\n\
         \x20 [[site.route]]\n  path = \"/c\"\n  redirect = { status = 301 }\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:16:44: invalid redirect.status 300 of route \"/a\" of site \"app\": expected 301, 302, 303, 307 or 308",
            "t.toml:19:24: respond.status of route \"/b\" of site \"app\" must be at most 599, found 600",
            "t.toml:22:14: redirect of route \"/c\" of site \"app\" is missing \"to\"",
        ]
    );
}

#[test]
fn upstream_servers() {
    let src = BASE.replace(
        "servers = [{ address = \"127.0.0.1:9000\" }]",
        "servers = [{ address = \"::1:80\" }, { address = \"x\" }, { address = \"h:0\" }, { address = \"[::1]:80\", weight = 0 }]",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:7:24: invalid address \"::1:80\" of server #1 of upstream \"api\": an IPv6 address must be written in brackets, e.g. \"[::1]:8080\" (expected host:port such as \"10.0.0.5:8080\", \"[::1]:8080\" or \"backend.internal:8080\")",
            "t.toml:7:48: invalid address \"x\" of server #2 of upstream \"api\": the port is missing (expected host:port such as \"10.0.0.5:8080\", \"[::1]:8080\" or \"backend.internal:8080\")",
            "t.toml:7:67: invalid address \"h:0\" of server #3 of upstream \"api\": the port must be a number from 1 to 65535 (expected host:port such as \"10.0.0.5:8080\", \"[::1]:8080\" or \"backend.internal:8080\")",
            "t.toml:7:109: weight of server #4 of upstream \"api\" must be at least 1, found 0",
        ]
    );
    let src = BASE.replace(
        "servers = [{ address = \"127.0.0.1:9000\" }]",
        "servers = []",
    );
    assert_eq!(
        one(&src),
        "t.toml:7:11: servers of upstream \"api\" must list at least one server"
    );
    let (c, _) = valid(&BASE.replace("127.0.0.1:9000", "[::1]:9000"));
    assert_eq!(c.upstreams[0].servers[0].host, "::1");
    assert_eq!(c.upstreams[0].servers[0].port, 9000);
}

#[test]
fn enums() {
    let src = with("[runtime]\nlog_format = \"xml\"\n[acme]\nchallenge = \"dns-01\"\n").replace(
        "name = \"api\"\n",
        "name = \"api\"\nalgorithm = \"random\"\nscheme = \"ftp\"\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:7:13: invalid algorithm \"random\": expected one of \"round_robin\", \"weighted\", \"least_connections\", \"ip_hash\"",
            "t.toml:8:10: invalid scheme \"ftp\": expected one of \"http\", \"https\"",
            "t.toml:17:14: invalid log_format \"xml\": expected one of \"json\", \"text\"",
            "t.toml:19:13: invalid challenge \"dns-01\": expected one of \"http-01\", \"tls-alpn-01\"",
        ]
    );
}

#[test]
fn limits_values() {
    let src = with(
        "[defaults]\nrate_limit = { per_second = 0, burst = 0 }\ntrusted_proxies = [\"10.0.0.0/8\", \"192.168.1.1\", \"nope\"]\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:15:29: rate_limit.per_second of [defaults] must be at least 1, found 0",
            "t.toml:15:40: rate_limit.burst of [defaults] must be at least 1, found 0",
            "t.toml:16:49: invalid trusted_proxies entry \"nope\" of [defaults]: expected a CIDR such as \"10.0.0.0/8\" or an IP address",
        ]
    );
}

#[test]
fn static_sections() {
    let src = with("[admin]\nsocket_mode = \"rw\"\n[runtime]\nlog_level = \"info,[\"\n");
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(
        errs[0],
        "t.toml:15:15: invalid socket_mode \"rw\" in [admin]: expected an octal file mode such as \"0600\" or \"0660\""
    );
    assert!(
        errs[1].starts_with("t.toml:17:13: invalid log_level \"info,[\" in [runtime]: "),
        "{}",
        errs[1]
    );
}

#[test]
fn at_least_one_listener_or_tcp() {
    assert_eq!(
        one("[runtime]\nwatch_config = true\n"),
        "t.toml: no [[listener]] or [[tcp]] is configured: nothing would be served"
    );
}

#[test]
fn listener_rules() {
    let src = with(
        "[[listener]]\nname = \"b\"\nhttps = \"127.0.0.1:8443\"\nredirect_to_https = true\nmax_connections = 0\nhealth_path = \"health\"\n[[listener]]\nname = \"c\"\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:17:21: redirect_to_https of listener \"b\" needs both \"http\" and \"https\"",
            "t.toml:18:19: max_connections of listener \"b\" must be at least 1, found 0",
            "t.toml:19:15: invalid health_path \"health\" of listener \"b\": expected a path starting with \"/\"",
            "t.toml:20:1: listener \"c\" has neither \"http\" nor \"https\"",
        ]
    );
}

#[test]
fn health_checks() {
    let src = BASE.replacen(
        "\n[[site]]",
        "\n[upstream.health_check]\npath = \"healthz\"\nhealthy_threshold = 0\nunhealthy_threshold = 0\n[upstream.passive]\nmax_failures = 0\n[[site]]",
        1,
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:10:8: invalid health_check.path \"healthz\" of upstream \"api\": expected a path starting with \"/\"",
            "t.toml:11:21: health_check.healthy_threshold of upstream \"api\" must be at least 1, found 0",
            "t.toml:12:23: health_check.unhealthy_threshold of upstream \"api\" must be at least 1, found 0",
            "t.toml:14:16: passive.max_failures of upstream \"api\" must be at least 1, found 0",
        ]
    );
    let src = BASE.replacen(
        "\n[[site]]",
        "\n[upstream.health_check]\ninterval = \"1s\"\ntimeout = \"2s\"\n[[site]]",
        1,
    );
    let (c, warnings) = valid(&src);
    assert_eq!(
        warnings,
        ["t.toml:11:11: health_check.timeout of upstream \"api\" (2s) is longer than the interval (1s): checks never overlap, so a server that does not answer is checked only once per timeout"]
    );
    let hc = c.upstreams[0].health_check.clone();
    assert_eq!(
        hc.map(|h| (h.path, h.healthy_threshold, h.unhealthy_threshold)),
        Some((None, 2, 3))
    );
}

/// Ten independent mistakes, ten errors, each with its own position.
#[test]
fn ten_mistakes_ten_errors() {
    let src = r#"[runtime]
drain_timeout = "10"
log_format = "yaml"

[[listener]]
name = "public"
http = "127.0.0.1:80"
bogus = true

[[listener]]
name = "public"
http = "127.0.0.1:81"

[[upstream]]
name = "api"
servers = [{ address = "127.0.0.1" }]

[[site]]
name = "app"
hosts = ["app.example.com:443"]
max_body_size = 0
  [[site.route]]
  upstream = "apii"
  request_headers = { remove = ["Transfer-Encoding"] }
  [[site.route]]
  path = "/r"
  redirect = { to = "/", status = 200 }
"#;
    let errs = errors(src);
    assert_eq!(
        errs,
        [
            "t.toml:2:17: drain_timeout of [runtime]: invalid duration \"10\": expected a number with a unit such as \"250ms\", \"5s\", \"10m\", \"30d\"",
            "t.toml:3:14: invalid log_format \"yaml\": expected one of \"json\", \"text\"",
            "t.toml:8:1: unknown key \"bogus\" in listener \"public\" (expected one of: health_path, http, https, max_connections, name, redirect_to_https)",
            "t.toml:11:8: duplicate listener name \"public\": already used by another listener at line 6",
            "t.toml:16:24: invalid address \"127.0.0.1\" of server #1 of upstream \"api\": the port is missing (expected host:port such as \"10.0.0.5:8080\", \"[::1]:8080\" or \"backend.internal:8080\")",
            "t.toml:20:10: invalid host \"app.example.com:443\" of site \"app\": a host must not include a port",
            "t.toml:21:17: max_body_size of site \"app\" must be greater than 0",
            "t.toml:23:14: route #1 of site \"app\" names upstream \"apii\", which does not exist (upstreams: \"api\")",
            "t.toml:24:33: remove of request_headers of route #1 of site \"app\" must not touch header \"Transfer-Encoding\": it defines the message framing",
            "t.toml:27:35: invalid redirect.status 200 of route \"/r\" of site \"app\": expected 301, 302, 303, 307 or 308",
        ]
    );
}

/// Thousands of sites are decoded in one pass each; a mistake deep in the
/// file still gets its own error at its own position, and the sites around
/// it are unaffected.
#[test]
fn mistakes_among_thousands_of_sites_are_each_reported_in_place() {
    const HEAD: &str = "[[listener]]\nname = \"public\"\nhttp = \"127.0.0.1:8080\"\n\
                        [[upstream]]\nname = \"api\"\nservers = [{ address = \"127.0.0.1:9000\" }]\n";
    let head_lines = HEAD.lines().count();
    // Each site is 6 lines; `start(i)` is the line of its `[[site]]`.
    let start = |i: usize| head_lines + 6 * i + 1;
    let mut src = HEAD.to_string();
    for i in 0..2000 {
        let name = if i == 1999 {
            "s0".to_string()
        } else {
            format!("s{i}")
        };
        let first_host = if i == 1500 {
            "s3.test".to_string()
        } else {
            format!("s{i}.test")
        };
        let upstream = if i == 1000 { "5" } else { "\"api\"" };
        src.push_str(&format!(
            "[[site]]\nname = \"{name}\"\nhosts = [\"{first_host}\", \"*.s{i}.test\"]\n\
             \x20 [[site.route]]\n  path = \"/\"\n  upstream = {upstream}\n"
        ));
    }
    assert_eq!(
        errors(&src),
        [
            format!(
                "t.toml:{}:14: upstream of route \"/\" of site \"s1000\": expected a string, found integer `5`",
                start(1000) + 5
            ),
            format!(
                "t.toml:{}:10: host \"s3.test\" of site \"s1500\" is already claimed by site \"s3\" on listener \"public\" (line {})",
                start(1500) + 2,
                start(3) + 2
            ),
            format!(
                "t.toml:{}:8: duplicate site name \"s0\": already used by another site at line {}",
                start(1999) + 1,
                start(0) + 1
            ),
        ]
    );
}
