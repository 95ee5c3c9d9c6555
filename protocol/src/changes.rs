//! What a reload changed, by kind of object.

use serde::{Deserialize, Serialize};

/// Names added, removed and changed for one kind of object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NameChanges {
    /// Present in the new config only.
    #[serde(default)]
    pub added: Vec<String>,
    /// Present in the old config only.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Present in both, with different settings.
    #[serde(default)]
    pub changed: Vec<String>,
}

impl NameChanges {
    /// True when nothing was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The `changes` object of a successful reload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfigChanges {
    /// `[[site]]` entries, by name.
    #[serde(default)]
    pub sites: NameChanges,
    /// `[[upstream]]` entries, by name.
    #[serde(default)]
    pub upstreams: NameChanges,
    /// `[[listener]]` entries, by name.
    #[serde(default)]
    pub listeners: NameChanges,
    /// `[[tcp]]` entries, by name.
    #[serde(default)]
    pub tcp: NameChanges,
}

impl ConfigChanges {
    /// True when the reload changed nothing.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
            && self.upstreams.is_empty()
            && self.listeners.is_empty()
            && self.tcp.is_empty()
    }
}
