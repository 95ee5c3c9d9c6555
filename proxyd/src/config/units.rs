//! Durations and sizes with units (written by the config work).
