//! A process-wide registry of free loopback ports.
//!
//! Tests run in parallel threads of one process, and `proxyd` binds its ports
//! itself, so we cannot hand it a listener. Instead one atomic cursor walks a
//! range below Linux's default ephemeral range (32768–60999, where every
//! outgoing connection takes its local port), offset by our pid so two test
//! processes rarely overlap, and each candidate is probed with a bind on
//! 127.0.0.1. Between the probe and the child's bind another process may
//! still take the port; that rare race shows as `proxyd` exiting 3, which
//! `TestProxy::start` retries once with new ports (`Pebble::start` likewise).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const RANGE_START: u32 = 10_000;
const RANGE_END: u32 = 32_000;

fn cursor() -> &'static AtomicU32 {
    static CURSOR: OnceLock<AtomicU32> = OnceLock::new();
    CURSOR.get_or_init(|| AtomicU32::new((std::process::id() % 1000) * 20))
}

/// A loopback port that was free a moment ago and that no other test of this
/// process will be handed.
pub fn free_port() -> u16 {
    let span = RANGE_END - RANGE_START;
    for _ in 0..span {
        let n = cursor().fetch_add(1, Ordering::Relaxed);
        let port = RANGE_START + n % span;
        let port = u16::try_from(port).expect("invariant: port range fits u16");
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {RANGE_START}..{RANGE_END}");
}

/// `127.0.0.1:<free port>`.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()))
}

/// An address where nothing listens: bound by the OS, then released.
pub fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr")
}
