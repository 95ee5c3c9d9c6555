//! Who may use the admin socket, checked with `SO_PEERCRED`.

use nix::unistd::{Group, Uid, User};

/// The resolved allow-list: root and our own user always, plus the
/// configured users and groups (names resolved once, at startup).
#[derive(Debug, Default)]
pub struct Allowed {
    own_uid: u32,
    uids: Vec<u32>,
    /// (gid, member user names) of each allowed group.
    groups: Vec<(u32, Vec<String>)>,
}

impl Allowed {
    /// Resolves `users` and `groups` by name; unknown names are logged and
    /// skipped (they grant nothing).
    pub fn resolve(users: &[String], groups: &[String]) -> Self {
        let mut allowed = Allowed {
            own_uid: Uid::effective().as_raw(),
            ..Default::default()
        };
        for name in users {
            match User::from_name(name) {
                Ok(Some(u)) => allowed.uids.push(u.uid.as_raw()),
                _ => tracing::warn!(user = %name, "[admin] allowed_users: no such user; ignored"),
            }
        }
        for name in groups {
            match Group::from_name(name) {
                Ok(Some(g)) => allowed.groups.push((g.gid.as_raw(), g.mem)),
                _ => {
                    tracing::warn!(group = %name, "[admin] allowed_groups: no such group; ignored")
                }
            }
        }
        allowed
    }

    /// Whether a peer with these credentials may talk to us.
    pub fn permits(&self, uid: u32, gid: u32) -> bool {
        if uid == 0 || uid == self.own_uid || self.uids.contains(&uid) {
            return true;
        }
        if self.groups.is_empty() {
            return false;
        }
        if self.groups.iter().any(|(g, _)| *g == gid) {
            return true;
        }
        // Supplementary membership, by user name.
        let name = User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name);
        name.is_some_and(|n| self.groups.iter().any(|(_, mem)| mem.contains(&n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_self_are_allowed_strangers_are_not() {
        let a = Allowed::resolve(&[], &[]);
        assert!(a.permits(0, 0));
        assert!(a.permits(Uid::effective().as_raw(), 12345));
        let stranger = if Uid::effective().as_raw() == 54321 {
            54322
        } else {
            54321
        };
        assert!(!a.permits(stranger, 54321));
    }
}
