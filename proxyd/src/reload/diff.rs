//! What changed between two configs: named objects added, removed or
//! changed, and static sections that a reload does not apply.

use proxyd_protocol::{ConfigChanges, NameChanges};

use crate::config::Config;

/// Compares two named lists.
fn by_name<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> &str) -> NameChanges {
    let mut c = NameChanges::default();
    for n in new {
        match old.iter().find(|o| name(o) == name(n)) {
            None => c.added.push(name(n).to_string()),
            Some(o) if o != n => c.changed.push(name(n).to_string()),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| name(n) == name(o)) {
            c.removed.push(name(o).to_string());
        }
    }
    c
}

/// What a reload from `old` to `new` changes.
pub fn changes(old: &Config, new: &Config) -> ConfigChanges {
    ConfigChanges {
        sites: by_name(&old.sites, &new.sites, |s| &s.name),
        upstreams: by_name(&old.upstreams, &new.upstreams, |u| &u.name),
        listeners: by_name(&old.listeners, &new.listeners, |l| &l.name),
        tcp: by_name(&old.tcp, &new.tcp, |t| &t.name),
    }
}

/// One warning per static section that differs from the running one.
pub fn static_warnings(running: &Config, new: &Config, file: &str) -> Vec<String> {
    let mut w = Vec::new();
    let mut check = |section: &str, same: bool| {
        if !same {
            w.push(format!(
                "{file}: [{section}] changed, but it is static: restart proxyd to apply it"
            ));
        }
    };
    check("admin", running.admin == new.admin);
    check("health", running.health == new.health);
    check("runtime", running.runtime == new.runtime);
    check("acme", running.acme == new.acme);
    w
}
