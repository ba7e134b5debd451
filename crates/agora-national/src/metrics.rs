//! The national node's own gauges, read at each scrape: per site its applied position, its
//! lag behind what the site announced and when it was last heard; the `Watch` streams and
//! their backlog; the national log's bounds and the free disk space (the calls and the
//! writes are counted by `agora_sync::metrics`).

use std::sync::Arc;

use tracing::warn;

use agora_store::national::NationalStore;
use agora_sync::metrics::{Builder, Followers, gauge};

use crate::links::Links;

/// Registers the national node's gauges on `b`.
pub fn register(
    b: &mut Builder,
    store: &Arc<NationalStore>,
    links: &Arc<Links>,
    followers: &Arc<Followers>,
) {
    let applied = b.gauges(
        "site_applied_seq",
        "last record of each site applied to its national replica",
    );
    let lag = b.gauges(
        "site_lag_records",
        "records each site announced that its replica has not applied yet",
    );
    let connected = b.gauges(
        "site_connected",
        "1 while the site's stream is open, else 0",
    );
    let last_seen = b.gauges(
        "site_last_seen_timestamp_seconds",
        "when each site was last heard (Unix time; 0: not since the node started)",
    );
    let watchers = b.gauge("watchers", "Watch streams open");
    let backlog = b.gauge(
        "watch_backlog_records",
        "national log records the Watch streams have yet to send, in all",
    );
    let node = b.node_gauges();
    let (store, links, followers) = (Arc::clone(store), Arc::clone(links), Arc::clone(followers));
    b.on_scrape(move || {
        match store.sites() {
            Ok(sites) => {
                for f in [&applied, &lag, &connected, &last_seen] {
                    f.clear();
                }
                for s in sites {
                    let link = links.get(&s.id);
                    let l = vec![("site", s.id.clone())];
                    applied.get_or_create(&l).set(gauge(s.applied_seq));
                    lag.get_or_create(&l)
                        .set(gauge(link.site_last_seq.saturating_sub(s.applied_seq)));
                    connected.get_or_create(&l).set(i64::from(link.connected));
                    last_seen.get_or_create(&l).set(link.last_seen_ms / 1000);
                }
            }
            Err(e) => warn!(error = %e, "metrics: reading the sites"),
        }
        let position = *store.durable_position().borrow();
        let (open, behind) = followers.backlog(position);
        watchers.set(gauge(open as u64));
        backlog.set(gauge(behind));
        node.set(position, store.first_retained(), store.free_disk_bytes());
    });
}
