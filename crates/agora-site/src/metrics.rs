//! The site node's own gauges, read from the store and the uplink at each scrape: the
//! registrations by state, the change log's bounds, the free disk space and the link to
//! the national node (the calls and the writes are counted by `agora_sync::metrics`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use tracing::warn;

use agora_store::Store;
use agora_sync::metrics::{Builder, gauge};
use agora_sync::uplink::UplinkStatus;

/// Registers the site's gauges on `b`.
/// `federated`: the site has an uplink (a stand-alone site's link state is `none`).
pub fn register(
    b: &mut Builder,
    store: &Arc<Store>,
    uplink: &watch::Receiver<UplinkStatus>,
    federated: bool,
) {
    let registrations = b.gauges(
        "registrations",
        "seats of the défis by state: confirmed, waiting (list), checked_in",
    );
    let node = b.node_gauges();
    let link = b.gauges(
        "uplink_state",
        "the link to the national node: 1 for its state (connected, connecting, refused, none)",
    );
    let lag = b.gauge(
        "uplink_lag_records",
        "changes the national node has not acknowledged yet",
    );
    let reconnects = b.counter(
        "uplink_reconnects",
        "streams to the national node dialled again after the first",
    );
    let counted = AtomicU64::new(0);
    let store = Arc::clone(store);
    let uplink = uplink.clone();
    b.on_scrape(move || {
        match store.challenges() {
            Ok(all) => {
                let (mut confirmed, mut waiting, mut checked_in) = (0i64, 0i64, 0i64);
                for (_, pool) in &all {
                    confirmed += i64::from(pool.confirmed);
                    waiting += i64::from(pool.waitlisted);
                    checked_in += i64::from(pool.checked_in);
                }
                for (state, n) in [
                    ("confirmed", confirmed),
                    ("waiting", waiting),
                    ("checked_in", checked_in),
                ] {
                    registrations
                        .get_or_create(&vec![("state", state.to_owned())])
                        .set(n);
                }
            }
            Err(e) => warn!(error = %e, "metrics: reading the défis"),
        }
        match store.info() {
            Ok(info) => node.set(
                info.last_seq,
                info.first_retained_seq,
                store.free_disk_bytes(),
            ),
            Err(e) => warn!(error = %e, "metrics: reading the log's bounds"),
        }
        let status = uplink.borrow().clone();
        let state = match (federated, status.connected, status.refused) {
            (false, _, _) => "none",
            (true, true, _) => "connected",
            (true, false, true) => "refused",
            (true, false, false) => "connecting",
        };
        link.clear();
        link.get_or_create(&vec![("state", state.to_owned())])
            .set(1);
        let last = *store.durable_seq().borrow();
        lag.set(gauge(last.saturating_sub(status.acked_seq)));
        let before = counted.swap(status.reconnects, Ordering::Relaxed);
        reconnects.inc_by(status.reconnects.saturating_sub(before));
    });
}
