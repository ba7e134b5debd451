//! The loop shared by the site and national writer threads: block for one message, drain
//! what else is queued (up to a batch), process the batch, repeat. Closures sent with
//! `Msg::Exclusive` run between batches, seeing the database with no write in progress.

use std::fs::File;
use std::io::Write;
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

/// sled's segment size for the databases we create. sled writes any log item over a
/// quarter of a segment to a file of its own under `blobs/`, which it never fsyncs and
/// deletes as soon as its own (not power-safe) stable point passes: a power cut can then
/// leave a database that no longer opens. With 8 MiB segments that threshold is 2 MiB; no
/// value we write exceeds [`crate::MAX_VALUE_BYTES`], and a sled leaf node (split beyond 16
/// entries) stays far below 2 MiB, so sled never writes a blob.
pub const SEGMENT_BYTES: usize = 8 << 20;
/// sled's default, which databases made before 2026-12 use (their `conf` says so).
const LEGACY_SEGMENT_BYTES: usize = 512 << 10;
/// Our record of the segment size a database was created with, written (and synced)
/// before sled creates it: sled's own `conf` file is never fsynced by sled.
const LAYOUT_FILE: &str = "sled-layout";

const _: () = assert!(SEGMENT_BYTES / 4 >= 24 * crate::MAX_VALUE_BYTES);

/// Opens a sled database the way every Agora node does: our own group commit and
/// write-ahead log, so no background flusher; a clear error when another process holds the
/// directory. The lock is retried for a moment: sled's I/O threads release it a little
/// after a database closes, and a node restarted at once would otherwise be refused.
///
/// Before sled reads anything, every file in the directory is made durable: after a
/// `kill -9`, sled's files may hold writes that are only in the page cache, and sled's
/// recovery writes a synced snapshot of what it found; had those writes been lost in a
/// power cut later, the snapshot would point past the end of the durable log.
pub fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
    let segment = segment_size(dir)?;
    sync_files(dir)?;
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .segment_size(segment)
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

/// The segment size of the database in `dir`: ours for a new one (recorded first), the one
/// sled's `conf` names for a database made before the record existed.
fn segment_size(dir: &Path) -> Result<usize, StoreError> {
    let layout = dir.join(LAYOUT_FILE);
    let io = |what: &str, p: &Path| {
        let what = format!("{what} {}", p.display());
        move |e| StoreError::io(what, e)
    };
    match std::fs::read_to_string(&layout) {
        Ok(text) => {
            return text
                .trim()
                .strip_prefix("segment_size=")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::Corrupt {
                    tree: "files",
                    key: layout.display().to_string(),
                    reason: format!("unreadable: {text:?}"),
                });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("reading", &layout)(e)),
    }
    if dir.join("db").exists() {
        let conf = std::fs::read(dir.join("conf")).unwrap_or_default();
        let named = String::from_utf8_lossy(&conf)
            .lines()
            .find_map(|l| l.strip_prefix("segment_size: ")?.trim().parse().ok());
        let segment = named.unwrap_or(LEGACY_SEGMENT_BYTES);
        if segment < SEGMENT_BYTES {
            tracing::warn!(
                path = %dir.display(),
                segment,
                "this database was made before Agora kept sled from writing unsynced blob \
                 files: large values may still go to them, and a power cut could leave it \
                 unopenable; export its data and import it into a new data directory"
            );
        }
        return Ok(segment);
    }
    let mut f = File::create(&layout).map_err(io("creating", &layout))?;
    f.write_all(format!("segment_size={SEGMENT_BYTES}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io("writing", &layout))?;
    sync_dir(dir)?;
    Ok(SEGMENT_BYTES)
}

/// Makes every file of the database directory durable, sled's and ours, then the
/// directory itself (and `blobs/`, which sled may hold from a database made before
/// [`SEGMENT_BYTES`]).
pub fn sync_files(dir: &Path) -> Result<(), StoreError> {
    for d in [dir.join("blobs"), dir.to_path_buf()] {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(format!("listing {}", d.display()), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(format!("listing {}", d.display()), e))?;
            let p = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match File::open(&p).and_then(|f| f.sync_all()) {
                Ok(()) => {}
                // sled removed it meanwhile (an old snapshot, a replaced blob).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(format!("fsync of {}", p.display()), e)),
            }
        }
        sync_dir(&d)?;
    }
    Ok(())
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
