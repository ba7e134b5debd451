//! The loop shared by the site and national writer threads: block for one message, drain
//! what else is queued (up to a batch), process the batch, repeat. Closures sent with
//! `Msg::Exclusive` run between batches, seeing the database with no write in progress.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::StoreError;

/// Work run on the writer thread between two batches.
pub type Exclusive = Box<dyn FnOnce() + Send>;

pub enum Msg<J> {
    Job(J),
    Exclusive(Exclusive),
    /// Finish the work queued before this, and stop.
    Close,
}

/// Runs until `Close` or until every sender is gone; jobs still queued then go to `refuse`.
/// `settle` runs before each exclusive closure: it waits for work the batches left behind.
pub fn run_batches<J>(
    mut rx: mpsc::Receiver<Msg<J>>,
    max_batch: usize,
    mut process: impl FnMut(&mut Vec<J>),
    mut settle: impl FnMut(),
    mut refuse: impl FnMut(J),
) {
    let mut jobs = Vec::with_capacity(max_batch);
    loop {
        let mut stop = false;
        let mut exclusive = None;
        match rx.blocking_recv() {
            Some(Msg::Job(j)) => jobs.push(j),
            Some(Msg::Exclusive(f)) => exclusive = Some(f),
            Some(Msg::Close) | None => stop = true,
        }
        while !stop && exclusive.is_none() && jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => jobs.push(j),
                Ok(Msg::Exclusive(f)) => exclusive = Some(f),
                Ok(Msg::Close) => stop = true,
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            process(&mut jobs);
        }
        if let Some(f) = exclusive {
            settle();
            f();
        }
        if stop {
            break;
        }
    }
    rx.close();
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Job(j) = msg {
            refuse(j);
        }
    }
}

/// Opens a sled database the way every Agora node does: our own group commit and
/// write-ahead log, so no background flusher; a clear error when another process holds the
/// directory. The lock is retried for a moment: sled's I/O threads release it a little
/// after a database closes, and a node restarted at once would otherwise be refused.
pub fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(None)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io)) if is_lock_error(&io) => {
                if Instant::now() >= deadline {
                    return Err(StoreError::Locked(dir.to_path_buf()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(other) => return Err(StoreError::Sled(other)),
        }
    }
}

/// How long opening waits for another holder of the directory to let go.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// sled reports a held lock as an `Other` error wrapping the OS's `WouldBlock`.
fn is_lock_error(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock")
}

/// Makes a new directory entry durable (after creating a database in it).
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("fsync of {}", dir.display()), e))
}
