//! `[[site.route]]`: path, exactly one action (upstream, redirect, respond)
//! and its references, and header rules.

use std::collections::HashMap;
use std::fmt;

use http::{HeaderValue, StatusCode};

use super::headers;
use super::values::{int_in, quoted_list, Of, Owner};
use crate::config::file::{Entry, FileRoute};
use crate::config::report::Report;
use crate::config::{Route, RouteAction, Upstream};

const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// Validates a site's routes; `site` names the site in messages.
pub(super) fn routes(
    r: &mut Report<'_>,
    entries: &[Entry<FileRoute>],
    site: &Owner<'_>,
    upstreams: &[Upstream],
) -> Vec<Route> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (j, e) in entries.iter().enumerate() {
        let v = &e.value;
        let path = v.path.as_ref().map_or("/", |p| p.get_ref().as_str());
        let who = Owner::new("route", v.path.as_ref(), j).of(site);
        let path_span = v.path.as_ref().map_or(e.span.clone(), |p| p.span());
        if !path.starts_with('/') {
            r.error(
                path_span.clone(),
                format!("invalid path \"{path}\" of {who}: expected a path starting with \"/\""),
            );
        } else if let Some(first) = seen.get(path) {
            let (line, _) = r.position(*first);
            r.error(
                path_span.clone(),
                format!("duplicate route path \"{path}\" in {site} (first at line {line})"),
            );
        } else {
            seen.insert(path, path_span.start);
        }
        let present = |key: &str, is_some: bool| is_some || e.is_bad(key);
        let actions = [
            present("upstream", v.upstream.is_some()),
            present("redirect", v.redirect.is_some()),
            present("respond", v.respond.is_some()),
        ];
        let n_actions = actions.iter().filter(|a| **a).count();
        if n_actions == 0 {
            r.error(
                e.span.clone(),
                format!("{who} needs one of \"upstream\", \"redirect\" or \"respond\""),
            );
        } else if n_actions > 1 {
            r.error(
                e.span.clone(),
                format!("{who} has more than one of \"upstream\", \"redirect\" and \"respond\": keep exactly one"),
            );
        }
        let action = action(r, v, &who, upstreams);
        let request_headers =
            headers::rules(r, v.request_headers.as_ref(), &Of("request_headers", &who));
        let response_headers = headers::rules(
            r,
            v.response_headers.as_ref(),
            &Of("response_headers", &who),
        );
        if let Some(action) = action {
            out.push(Route {
                path: path.to_string(),
                action,
                strip_prefix: v.strip_prefix.unwrap_or(false),
                request_headers,
                response_headers,
            });
        }
    }
    out
}

fn action(
    r: &mut Report<'_>,
    v: &FileRoute,
    who: &dyn fmt::Display,
    upstreams: &[Upstream],
) -> Option<RouteAction> {
    if let Some(u) = &v.upstream {
        if !upstreams.iter().any(|up| &up.name == u.get_ref()) {
            r.error(
                u.span(),
                format!(
                    "{who} names upstream \"{}\", which does not exist (upstreams: {})",
                    u.get_ref(),
                    quoted_list(upstreams.iter().map(|u| u.name.as_str()))
                ),
            );
        }
        return Some(RouteAction::Upstream(u.get_ref().clone()));
    }
    if let Some(red) = &v.redirect {
        let (span, red) = (red.span(), red.get_ref());
        let to = match &red.to {
            Some(t) if !t.get_ref().is_empty() => t.get_ref().clone(),
            Some(t) => {
                r.error(t.span(), format!("redirect.to of {who} must not be empty"));
                String::new()
            }
            None => {
                r.error(span, format!("redirect of {who} is missing \"to\""));
                String::new()
            }
        };
        let status = match &red.status {
            None => 308,
            Some(s)
                if REDIRECT_STATUSES
                    .iter()
                    .any(|c| i64::from(*c) == *s.get_ref()) =>
            {
                *s.get_ref() as u16
            }
            Some(s) => {
                r.error(
                    s.span(),
                    format!(
                        "invalid redirect.status {} of {who}: expected 301, 302, 303, 307 or 308",
                        s.get_ref()
                    ),
                );
                308
            }
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::PERMANENT_REDIRECT);
        return Some(RouteAction::Redirect { to, status });
    }
    if let Some(resp) = &v.respond {
        let resp = resp.get_ref();
        let status = int_in(r, resp.status.as_ref(), 200, (100, 599), || {
            format!("respond.status of {who}")
        });
        let content_type = match &resp.content_type {
            None => HeaderValue::from_static("text/plain; charset=utf-8"),
            Some(ct) => HeaderValue::from_str(ct.get_ref()).unwrap_or_else(|_| {
                r.error(
                    ct.span(),
                    format!(
                        "invalid respond.content_type of {who}: control characters are not allowed"
                    ),
                );
                HeaderValue::from_static("text/plain; charset=utf-8")
            }),
        };
        return Some(RouteAction::Respond {
            status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            body: resp.body.clone().unwrap_or_default(),
            content_type,
        });
    }
    None
}
