//! One test per validation rule, each asserting `file:line:col: message`.

use super::*;

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
