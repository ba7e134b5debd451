//! The site node's own gauges, read from the store and the uplink at each scrape: the
//! registrations by state, the change log's bounds, the free disk space and the link to
//! the national node (the calls and the writes are counted by `agora_sync::metrics`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use tracing::warn;

use agora_store::Store;
use agora_sync::metrics::Builder;
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
    let head = b.gauge("log_head_seq", "last durable change of the site's log");
    let first = b.gauge(
        "log_first_retained_seq",
        "oldest change the site's log still holds",
    );
    let disk = b.gauge(
        "disk_free_bytes",
        "free space on the data directory's file system",
    );
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
            Ok(info) => {
                head.set(gauge(info.last_seq));
                first.set(gauge(info.first_retained_seq));
            }
            Err(e) => warn!(error = %e, "metrics: reading the log's bounds"),
        }
        match store.free_disk_bytes() {
            Ok(free) => {
                disk.set(gauge(free));
            }
            Err(e) => warn!(error = %e, "metrics: reading the free disk space"),
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

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
