//! What changed between two configs: named objects added, removed or
//! changed, and static sections that a reload does not apply.

use std::collections::{HashMap, HashSet};

use proxyd_protocol::{ConfigChanges, NameChanges};

use crate::config::Config;

/// Compares two named lists: added and changed names in `new`'s order,
/// removed ones in `old`'s. Names are looked up in a map, not scanned, so a
/// reload of thousands of sites costs O(n), not O(n²).
fn by_name<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> &str) -> NameChanges {
    let mut c = NameChanges::default();
    // Names are unique in a validated config; should one repeat, the first
    // counts, as a scan would have found it.
    let mut old_by_name: HashMap<&str, &T> = HashMap::with_capacity(old.len());
    for o in old {
        old_by_name.entry(name(o)).or_insert(o);
    }
    for n in new {
        match old_by_name.get(name(n)) {
            None => c.added.push(name(n).to_string()),
            Some(o) if *o != n => c.changed.push(name(n).to_string()),
            Some(_) => {}
        }
    }
    let new_names: HashSet<&str> = new.iter().map(&name).collect();
    for o in old {
        if !new_names.contains(name(o)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_added_changed_and_removed_in_file_order() {
        let old = [("a", 1), ("b", 1), ("c", 1), ("d", 1)];
        let new = [("e", 1), ("c", 2), ("a", 1), ("f", 1), ("b", 3)];
        let c = by_name(&old, &new, |(n, _)| n);
        assert_eq!(c.added, ["e", "f"]);
        assert_eq!(c.changed, ["c", "b"]);
        assert_eq!(c.removed, ["d"]);
        let same = by_name(&old, &old, |(n, _)| n);
        assert!(same.added.is_empty() && same.changed.is_empty() && same.removed.is_empty());
    }
}
