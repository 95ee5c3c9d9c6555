//! Unit tests of the config pipeline.
