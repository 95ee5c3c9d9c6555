//! proxyd: a reverse proxy and load balancer.
#![allow(dead_code)]

pub mod cli;
pub mod config;
