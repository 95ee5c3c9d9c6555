//! The serde schema of the config file (written by the config work).
