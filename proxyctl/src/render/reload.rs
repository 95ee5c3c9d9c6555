//! `proxyctl reload` as text: `reloaded: generation 3 → 4`, then what changed
//! per kind of object. Warnings are written to stderr by the command.

use proxyd_protocol::{NameChanges, ReloadBody};

/// The human summary of a successful reload.
pub fn render(body: &ReloadBody) -> String {
    let previous = body.generation.saturating_sub(1);
    let mut text = format!("reloaded: generation {previous} → {}\n", body.generation);
    let c = &body.changes;
    if c.is_empty() {
        text.push_str("  no changes to sites, upstreams, listeners or tcp proxies\n");
    }
    for (kind, changes) in [
        ("sites", &c.sites),
        ("upstreams", &c.upstreams),
        ("listeners", &c.listeners),
        ("tcp", &c.tcp),
    ] {
        if !changes.is_empty() {
            text.push_str(&format!(
                "  {:<11}{}\n",
                format!("{kind}:"),
                describe(changes)
            ));
        }
    }
    text
}

/// "added a, b; removed c; changed d".
fn describe(changes: &NameChanges) -> String {
    [
        ("added", &changes.added),
        ("removed", &changes.removed),
        ("changed", &changes.changed),
    ]
    .iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(verb, names)| format!("{verb} {}", names.join(", ")))
    .collect::<Vec<_>>()
    .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyd_protocol::ConfigChanges;

    #[test]
    fn summary_names_generations_and_changes() {
        let body = ReloadBody {
            generation: 4,
            changes: ConfigChanges {
                sites: NameChanges {
                    added: vec!["blog".into()],
                    removed: vec![],
                    changed: vec!["app".into(), "api".into()],
                },
                ..Default::default()
            },
            warnings: vec![],
        };
        assert_eq!(
            render(&body),
            "reloaded: generation 3 → 4\n  sites:     added blog; changed app, api\n"
        );
    }
}
