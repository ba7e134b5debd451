//! Retention: every participant's personal data is erased a set number of days after the
//! event's end (`retain_personal_data_days`), by the same path as `ForgetParticipant`.
//! Checked when the node starts (the files are then purged before it serves: see
//! `agora_store`'s compaction at open) and every hour while it runs (the files are then
//! purged at the next start).

use std::sync::Arc;
use std::time::Duration;

use agora_model::{Command, retention_due};
use agora_store::{Store, StoreError, now_ms};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// How often a running node checks whether retention is due.
const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Erases every participant not erased yet if retention is due; returns how many.
pub(crate) async fn erase_if_due(store: &Arc<Store>, days: u32) -> Result<usize, StoreError> {
    if days == 0 {
        return Ok(0);
    }
    let s = Arc::clone(store);
    let (last_end, live) = tokio::task::spawn_blocking(move || s.retention_facts())
        .await
        .map_err(|_| StoreError::Closed)??;
    if live.is_empty() || !retention_due(last_end, days, now_ms()) {
        return Ok(0);
    }
    let n = live.len();
    for p in &live {
        // A fixed request id: a check interrupted and run again erases each one once.
        store
            .submit(
                &format!("retention-{}", p.id),
                Command::ForgetParticipant(p.id),
            )
            .await?;
    }
    store
        .scrub_erased(live.into_iter().map(|p| p.display_name).collect())
        .await?;
    info!(
        erased = n,
        days, "retention: personal data of every participant erased"
    );
    Ok(n)
}

/// The hourly check, until the node stops.
pub(crate) async fn every_hour(store: Arc<Store>, days: u32, mut stopping: watch::Receiver<bool>) {
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(CHECK_EVERY);
    // The first tick is immediate: the start already checked.
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        match erase_if_due(&store, days).await {
            Ok(0) => {}
            Ok(n) => warn!(
                erased = n,
                "retention: personal data erased; restart the node to purge it from the files"
            ),
            Err(e) => error!(error = %e, "retention check failed"),
        }
    }
}
