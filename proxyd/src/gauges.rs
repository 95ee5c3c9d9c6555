//! Gauges that mirror live state, set from it each time `/metrics` is
//! scraped rather than kept in step by every code path that changes it.
//!
//! - `proxyd_upstream_server_healthy{upstream,server}`: the balancer's
//!   view ([`ServerState::is_healthy`](crate::upstream::ServerState::is_healthy):
//!   active checks and passive cooldowns), for every server of the running
//!   snapshot.
//! - `proxyd_active_connections{listener}`: open client connections per
//!   `[[listener]]` (its HTTP and HTTPS addresses together) and per `[[tcp]]`
//!   proxy, from the accept loops' counters.
//!
//! Series of servers and listeners that a reload removed disappear, because
//! each scrape rebuilds both families. Scrapes are serialized so that two
//! of them never see each other's half-built family.

use std::sync::Mutex;

use crate::metrics::{ListenerLabels, Name, ServerLabels};
use crate::state::Shared;

/// Refreshes the live gauges and returns the text exposition of every metric.
pub fn encode(shared: &Shared) -> String {
    static SCRAPE: Mutex<()> = Mutex::new(());
    let _serial = SCRAPE.lock().unwrap_or_else(|e| e.into_inner());
    let snap = shared.snapshot.load_full();
    let m = &shared.metrics;

    m.server_healthy.clear();
    for up in snap.upstreams.values() {
        for s in &up.servers {
            let labels = ServerLabels {
                upstream: Name(up.name.clone()),
                server: Name(s.address.as_str().into()),
            };
            m.server_healthy
                .get_or_create(&labels)
                .set(i64::from(s.is_healthy()));
        }
    }

    m.active_connections.clear();
    let lists = &shared.listeners;
    let per_listener = snap.config.listeners.iter().map(|l| {
        let open: u64 = l
            .http
            .iter()
            .chain(l.https.iter())
            .map(|a| lists.active_connections(a))
            .sum();
        (l.name.as_str(), open)
    });
    let per_tcp = snap
        .config
        .tcp
        .iter()
        .map(|t| (t.name.as_str(), lists.active_connections(&t.listen)));
    for (name, open) in per_listener.chain(per_tcp) {
        let labels = ListenerLabels {
            listener: name.into(),
        };
        m.active_connections
            .get_or_create(&labels)
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }
    m.encode()
}
