//! One test per validation rule, each asserting `file:line:col: message`.

use super::*;

fn one(src: &str) -> String {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].clone()
}

#[test]
fn syntax_error_has_position() {
    assert_eq!(
        one("[admin]\nsocket = /run/x\n"),
        "t.toml:2:10: invalid TOML: string values must be quoted, expected literal string"
    );
}

#[test]
fn unknown_keys_list_the_expected_ones() {
    assert_eq!(
        one(&with("[foo]\n")),
        "t.toml:14:2: unknown key \"foo\" at the top level (expected one of: admin, health, runtime, acme, listener, defaults, site, upstream, tcp)"
    );
    assert_eq!(
        one("[[listener]]\nname = \"a\"\nhttp = \"127.0.0.1:80\"\nhtp = 1\n"),
        "t.toml:4:1: unknown key \"htp\" in listener \"a\" (expected one of: health_path, http, https, max_connections, name, redirect_to_https)"
    );
    assert_eq!(
        one(&with("  redirect_to = 1\n")),
        "t.toml:14:3: unknown key \"redirect_to\" in route #1 of site \"app\" (expected one of: path, redirect, request_headers, respond, response_headers, strip_prefix, upstream)"
    );
}

#[test]
fn type_errors_say_what_was_expected() {
    assert_eq!(
        one("[[listener]]\nname = \"a\"\nhttp = 80\n"),
        "t.toml:3:8: http of listener \"a\": expected a string, found integer `80`"
    );
    assert_eq!(
        one("[[listener]]\nname = \"a\"\nhttp = \"127.0.0.1:80\"\nmax_connections = \"many\"\n"),
        "t.toml:4:19: max_connections of listener \"a\": expected an integer, found string \"many\""
    );
    assert_eq!(
        one("[listener]\nname = \"a\"\n"),
        "t.toml:1:1: \"listener\" must be an array of tables ([[listener]]), found table"
    );
}

#[test]
fn durations_and_sizes_need_units() {
    assert_eq!(
        one(&with("[runtime]\ndrain_timeout = \"5x\"\n")),
        "t.toml:15:17: drain_timeout of [runtime]: invalid duration \"5x\": expected a number with a unit such as \"250ms\", \"5s\", \"10m\", \"30d\""
    );
    assert_eq!(
        one(&with("[defaults]\nconnect_timeout = 5\n")),
        "t.toml:15:19: connect_timeout of [defaults]: invalid duration 5: a duration needs a unit, e.g. \"5s\" or \"5ms\""
    );
    assert_eq!(
        one(&with("[defaults]\nmax_body_size = \"1.5MiB\"\n")),
        "t.toml:15:17: max_body_size of [defaults]: invalid size \"1.5MiB\": expected a number of bytes or a number with a unit such as \"512KiB\", \"10MiB\", \"10MB\""
    );
}

#[test]
fn zero_where_it_makes_no_sense() {
    let errs = errors(&with(
        "[defaults]\nconnect_timeout = \"0s\"\nmax_body_size = 0\nmax_header_size = \"0KiB\"\n",
    ));
    assert_eq!(
        errs,
        [
            "t.toml:15:19: connect_timeout of [defaults] must be greater than 0",
            "t.toml:16:17: max_body_size of [defaults] must be greater than 0",
            "t.toml:17:19: max_header_size of [defaults] must be greater than 0",
        ]
    );
    assert_eq!(
        one(&with("[upstream.passive]\ncooldown = \"0ms\"\n")),
        "t.toml:15:12: passive.cooldown of upstream \"api\" must be greater than 0"
    );
    // 0ms shed target = off, max_in_flight 0 = unlimited.
    let (c, _) = valid(&with(
        "[defaults]\nshed_latency_target = \"0ms\"\nmax_in_flight = 0\n",
    ));
    assert_eq!(c.sites[0].limits.shed_latency_target, None);
    assert_eq!(c.sites[0].limits.max_in_flight, 0);
}

#[test]
fn duplicate_names() {
    let src = with(
        "[[listener]]\nname = \"public\"\nhttp = \"127.0.0.1:8081\"\n\
         [[upstream]]\nname = \"api\"\nservers = [{ address = \"127.0.0.1:9001\" }]\n\
         [[tcp]]\nname = \"public\"\nlisten = \"127.0.0.1:5432\"\nupstream = \"api\"\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:15:8: duplicate listener name \"public\": already used by another listener at line 2",
            "t.toml:18:8: duplicate upstream name \"api\": already used by another upstream at line 6",
            "t.toml:21:8: duplicate name \"public\": a listener already has it (listeners and tcp proxies share one namespace)",
        ]
    );
    let src = with("[[site]]\nname = \"app\"\nhosts = [\"b.example.com\"]\n[[site.route]]\nupstream = \"api\"\n");
    assert_eq!(
        one(&src),
        "t.toml:15:8: duplicate site name \"app\": already used by another site at line 10"
    );
}

#[test]
fn missing_references() {
    let src = BASE.replace("upstream = \"api\"", "upstream = \"apii\"");
    assert_eq!(
        one(&src),
        "t.toml:13:14: route #1 of site \"app\" names upstream \"apii\", which does not exist (upstreams: \"api\")"
    );
    let src = BASE.replace("hosts = [", "listeners = [\"pub\"]\nhosts = [");
    assert_eq!(
        one(&src),
        "t.toml:11:14: site \"app\" names listener \"pub\", which does not exist (listeners: \"public\")"
    );
    let src = with("[[tcp]]\nname = \"pg\"\nlisten = \"127.0.0.1:5432\"\nupstream = \"db\"\n");
    assert_eq!(
        one(&src),
        "t.toml:17:12: tcp \"pg\" names upstream \"db\", which does not exist (upstreams: \"api\")"
    );
}

#[test]
fn a_host_belongs_to_one_site_per_listener() {
    let src = with(
        "[[site]]\nname = \"b\"\nhosts = [\"APP.example.com\", \"*\"]\n[[site.route]]\nupstream = \"api\"\n\
         [[site]]\nname = \"c\"\nhosts = [\"*\"]\n[[site.route]]\nupstream = \"api\"\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:16:10: host \"app.example.com\" of site \"b\" is already claimed by site \"app\" on listener \"public\" (line 11)",
            "t.toml:21:10: site \"c\" is a second default site (\"*\") on listener \"public\": site \"b\" already is (line 16)",
        ]
    );
    // On different listeners the same host is fine.
    let src = with(
        "[[listener]]\nname = \"other\"\nhttp = \"127.0.0.1:8081\"\n\
         [[site]]\nname = \"b\"\nlisteners = [\"other\"]\nhosts = [\"app.example.com\"]\n[[site.route]]\nupstream = \"api\"\n",
    )
    .replace("hosts = [\"app.example.com\"]\n  [[", "listeners = [\"public\"]\nhosts = [\"app.example.com\"]\n  [[");
    valid(&src);
}

#[test]
fn hosts_are_checked_and_normalised() {
    let src = BASE.replace(
        "hosts = [\"app.example.com\"]",
        "hosts = [\"app.example.com:8080\", \"a*.example.com\", \"-bad.example.com\", \"App.Example.com\"]",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:11:10: invalid host \"app.example.com:8080\" of site \"app\": a host must not include a port",
            "t.toml:11:34: invalid host \"a*.example.com\" of site \"app\": a wildcard must be the whole first label, as in \"*.example.org\"",
            "t.toml:11:52: invalid host \"-bad.example.com\" of site \"app\": expected a host name such as \"app.example.com\" or \"*.example.org\"",
        ]
    );
    let (c, _) = valid(&BASE.replace(
        "\"app.example.com\"",
        "\"App.Example.COM\", \"*.Example.org\", \"*\"",
    ));
    assert_eq!(
        c.sites[0].hosts,
        [
            HostPattern::Exact("app.example.com".into()),
            HostPattern::Wildcard(".example.org".into()),
            HostPattern::Any
        ]
    );
}

#[test]
fn sites_need_hosts_and_routes() {
    let src = with("[[site]]\nname = \"b\"\nhosts = []\n");
    assert_eq!(
        errors(&src),
        [
            "t.toml:15:8: site \"b\" has no [[site.route]]: add at least one route",
            "t.toml:16:9: hosts of site \"b\" must list at least one host",
        ]
    );
    assert_eq!(
        one(&with(
            "[[site]]\nname = \"b\"\n[[site.route]]\nupstream = \"api\"\n"
        )),
        "t.toml:14:1: site \"b\" is missing \"hosts\""
    );
}

#[test]
fn tls_needs_an_https_listener_and_acme() {
    let src = BASE.replace("hosts = [", "tls = \"acme\"\nhosts = [");
    assert_eq!(
        errors(&src),
        [
            "t.toml:11:7: site \"app\" has tls, but none of its listeners (\"public\") has \"https\"",
            "t.toml:11:7: site \"app\" has tls = \"acme\" but there is no [acme] section",
        ]
    );
    let src = BASE
        .replace("http = \"127.0.0.1:8080\"", "https = \"127.0.0.1:8443\"")
        .replace(
            "hosts = [\"app.example.com\"]",
            "tls = \"acme\"\nhosts = [\"*.example.com\"]",
        )
        + "[acme]\n";
    assert_eq!(
        one(&src),
        "t.toml:11:7: site \"app\" has tls = \"acme\" but ACME cannot issue a certificate for host \"*.example.com\" (wildcards need DNS-01, which proxyd does not support)"
    );
    let src = BASE.replace("hosts = [", "tls = { cert = \"c.pem\" }\nhosts = [");
    assert_eq!(
        one(&src),
        "t.toml:11:7: invalid tls of site \"app\": expected \"acme\" or { cert = \"/path/fullchain.pem\", key = \"/path/key.pem\" }"
    );
}

#[test]
fn https_only_site_without_tls_is_a_warning() {
    let src = BASE.replace("http = \"127.0.0.1:8080\"", "https = \"127.0.0.1:8443\"");
    let (_, warnings) = valid(&src);
    assert_eq!(
        warnings,
        ["t.toml:10:8: site \"app\" has no tls but all of its listeners are HTTPS-only: it can never be served"]
    );
}

#[test]
fn header_rules_may_not_touch_managed_headers() {
    let src = with(
        "  request_headers = { set = { \"Host\" = \"x\", \"X-Env\" = \"prod\", \"Bad Name\" = \"v\" }, remove = [\"Connection\", \"X-Forwarded-For\"] }\n  response_headers = { set = { \"X-Ok\" = \"a\\u0001b\" }, remove = [\"Content-Length\"] }\n",
    );
    assert_eq!(
        errors(&src),
        [
            "t.toml:14:31: set of request_headers of route #1 of site \"app\" must not touch header \"Host\": proxyd sets it from the request and preserve_host",
            "t.toml:14:63: invalid header name \"Bad Name\" in set of request_headers of route #1 of site \"app\": expected letters, digits and !#$%&'*+-.^_`|~",
            "t.toml:14:93: remove of request_headers of route #1 of site \"app\" must not touch header \"Connection\": it is a hop-by-hop header",
            "t.toml:14:107: remove of request_headers of route #1 of site \"app\" must not touch header \"X-Forwarded-For\": proxyd manages the forwarding headers",
            "t.toml:15:41: invalid value for header \"X-Ok\" in set of response_headers of route #1 of site \"app\": control characters are not allowed",
            "t.toml:15:65: remove of response_headers of route #1 of site \"app\" must not touch header \"Content-Length\": it defines the message framing",
        ]
    );
}

#[test]
fn two_sockets_on_one_address() {
    let src =
        with("[[listener]]\nname = \"b\"\nhttp = \"0.0.0.0:8080\"\nhttps = \"127.0.0.1:9900\"\n");
    assert_eq!(
        errors(&src),
        [
            "t.toml:16:8: address 0.0.0.0:8080 of http of listener \"b\" conflicts with 127.0.0.1:8080 of http of listener \"public\" (line 3): two sockets cannot be bound to one address",
        ]
    );
    // The health port (default 127.0.0.1:9900) counts too.
    let src = with("[health]\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!(
        one(&src),
        "t.toml:15:10: address 127.0.0.1:8080 of listen of [health] conflicts with 127.0.0.1:8080 of http of listener \"public\" (line 3): two sockets cannot be bound to one address"
    );
}

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
        ["t.toml:11:11: health_check.timeout of upstream \"api\" (2s) is longer than the interval (1s): checks of one server will overlap"]
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
