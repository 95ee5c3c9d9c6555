//! Built-in defaults and their resolution order: site, then `[defaults]`,
//! then built-in.

use std::path::PathBuf;
use std::time::Duration;

use http::StatusCode;

use super::*;
use crate::config::*;

#[test]
fn built_in_defaults() {
    let (c, _) = valid(BASE);
    assert_eq!(
        c.admin,
        Admin {
            socket: Some(PathBuf::from("/run/proxyd/admin.sock")),
            socket_mode: 0o600,
            allowed_users: vec![],
            allowed_groups: vec![],
        }
    );
    assert_eq!(c.health.listen, "127.0.0.1:9900".parse().ok());
    assert_eq!(
        c.runtime,
        Runtime {
            drain_timeout: Duration::from_secs(10),
            worker_threads: 0,
            watch_config: false,
            log_format: LogFormat::Json,
            log_level: "info".into(),
            access_log: true,
        }
    );
    assert_eq!(c.acme, None);
    let l = &c.listeners[0];
    assert!(!l.redirect_to_https);
    assert_eq!(l.health_path.as_deref(), Some("/.well-known/proxyd/health"));
    assert_eq!(l.max_connections, 10_000);
    let s = &c.sites[0];
    assert_eq!(s.listeners, ["public"]);
    assert_eq!(s.tls, None);
    assert_eq!(
        s.limits,
        Limits {
            max_body_size: 10 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(30),
            max_header_size: 64 * 1024,
            rate_limit: None,
            trusted_proxies: vec![],
            max_in_flight: 0,
            shed_latency_target: None,
        }
    );
    let r = &s.routes[0];
    assert_eq!(r.path, "/");
    assert!(!r.strip_prefix);
    assert_eq!(r.action, RouteAction::Upstream("api".into()));
    let u = &c.upstreams[0];
    assert_eq!(
        (u.algorithm, u.scheme, u.preserve_host, u.retries),
        (Algorithm::RoundRobin, Scheme::Http, true, 1)
    );
    assert_eq!(u.servers[0].weight, 1);
    assert_eq!((u.health_check.clone(), u.passive.clone()), (None, None));
}

#[test]
fn disabled_with_empty_strings() {
    let (c, _) = valid(
        &with("[admin]\nsocket = \"\"\n[health]\nlisten = \"\"\n[acme]\nca_certificate = \"\"\n")
            .replace(
                "name = \"public\"\n",
                "name = \"public\"\nhealth_path = \"\"\n",
            ),
    );
    assert_eq!(c.admin.socket, None);
    assert_eq!(c.health.listen, None);
    assert_eq!(c.listeners[0].health_path, None);
    assert_eq!(
        c.acme,
        Some(Acme {
            directory: "https://acme-v02.api.letsencrypt.org/directory".into(),
            contact: vec![],
            storage: PathBuf::from("/var/lib/proxyd/acme"),
            challenge: AcmeChallenge::Http01,
            ca_certificate: None,
            renew_before: Duration::from_secs(30 * 86_400),
        })
    );
}

#[test]
fn site_overrides_defaults_overrides_built_in() {
    let src = with(
        "[defaults]\nmax_body_size = \"1MiB\"\nconnect_timeout = \"1s\"\nrate_limit = { per_second = 10, burst = 20 }\ntrusted_proxies = [\"10.0.0.1\"]\n",
    )
    .replace("hosts = [", "max_body_size = \"2MiB\"\nshed_latency_target = \"250ms\"\nhosts = [");
    let (c, _) = valid(&src);
    let l = &c.sites[0].limits;
    assert_eq!(l.max_body_size, 2 * 1024 * 1024, "site wins");
    assert_eq!(
        l.connect_timeout,
        Duration::from_secs(1),
        "[defaults] wins over built-in"
    );
    assert_eq!(l.request_timeout, Duration::from_secs(60), "built-in");
    assert_eq!(
        l.rate_limit,
        Some(RateLimit {
            per_second: 10,
            burst: 20
        })
    );
    let ip: std::net::IpAddr = [10, 0, 0, 1].into();
    assert_eq!(l.trusted_proxies, [ipnet::IpNet::from(ip)]);
    assert_eq!(l.shed_latency_target, Some(Duration::from_millis(250)));
}

#[test]
fn route_action_defaults() {
    let src = with(
        "  [[site.route]]\n  path = \"/old/\"\n  redirect = { to = \"https://new.example.com/\" }\n\
         \x20 [[site.route]]\n  path = \"/ping\"\n  respond = { body = \"pong\" }\n",
    );
    let (c, _) = valid(&src);
    let routes = &c.sites[0].routes;
    assert_eq!(
        routes[1].action,
        RouteAction::Redirect {
            to: "https://new.example.com/".into(),
            status: StatusCode::PERMANENT_REDIRECT
        }
    );
    assert_eq!(
        routes[2].action,
        RouteAction::Respond {
            status: StatusCode::OK,
            body: "pong".into(),
            content_type: http::HeaderValue::from_static("text/plain; charset=utf-8"),
        }
    );
}

#[test]
fn health_check_and_passive_defaults() {
    let src = BASE.replacen(
        "\n[[site]]",
        "\n[upstream.health_check]\n[upstream.passive]\n[[site]]",
        1,
    );
    let (c, _) = valid(&src);
    let u = &c.upstreams[0];
    assert_eq!(
        u.health_check,
        Some(HealthCheck {
            path: None,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        })
    );
    assert_eq!(
        u.passive,
        Some(Passive {
            max_failures: 3,
            cooldown: Duration::from_secs(10)
        })
    );
}

#[test]
fn unused_upstream_is_a_warning() {
    let src =
        with("[[upstream]]\nname = \"spare\"\nservers = [{ address = \"127.0.0.1:9001\" }]\n");
    let (_, warnings) = valid(&src);
    assert_eq!(
        warnings,
        ["t.toml:15:8: upstream \"spare\" is not used by any route or tcp proxy"]
    );
}
