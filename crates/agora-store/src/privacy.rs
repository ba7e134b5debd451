//! Erasure of a participant's personal data (GDPR): the older records that carry it are
//! rewritten without it, and the bytes leave the files at the next open.
//!
//! `ForgetParticipant` leaves an anonymous row (`Participant::erased`) and logs
//! `Event::ParticipantErased`; in the same batch the writer adds the id to
//! [`PURGE_PENDING`]. Then [`scrub`] rewrites, through the write-ahead log, every change
//! record (same sequence number) and stored answer that names the person, without their
//! fields, and the feedback and next actions that carry their name as free text. What is
//! left is physical: sled keeps replaced values in its files until it
//! rewrites their segments, and the write-ahead log keeps its records until a file is
//! reused. So while [`PURGE_PENDING`] is set, opening the store scrubs again (a crash may
//! have come between the two steps), copies every tree into a fresh database
//! ([`copy`]), and swaps it in with [`finish_swap`], which also empties both log files.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use agora_model::erasure::Erasure;
use agora_model::{Change, Feedback, NextAction, ParticipantId};
use tracing::info;

use crate::codec::{decode, decode_change, encode, rewrite_change};
use crate::wal::Disk;
use crate::{Answer, StoreError, StoredAnswer, T, batch, wal};

/// Meta key: the participants erased whose bytes may still be in the files
/// (`Vec<ParticipantId>`); cleared by the copy made at open.
pub(crate) const PURGE_PENDING: &[u8] = b"purge_pending";

/// The fresh copy, inside the data directory, while it is made and swapped in.
const COPY_DIR: &str = "compact";
/// Written and synced in [`COPY_DIR`] once the copy is complete: the names of its files,
/// one a line. With it, the swap goes on at the next open whatever stopped it.
const DONE_FILE: &str = "COMPLETE";

/// Whether a value's bytes hold one of `ids` (postcard writes a UUID's 16 bytes as they
/// are): only those are decoded.
fn names_any(bytes: &[u8], ids: &HashSet<[u8; 16]>) -> bool {
    bytes
        .windows(16)
        .any(|w| <[u8; 16]>::try_from(w).is_ok_and(|w| ids.contains(&w)))
}

/// Rewrites every log record and stored answer that carries personal data of the erased
/// participants `ids` (see `agora_model::erasure`), and the feedback and next actions
/// whose author or owner is one of `names` (free text: a name as it was, while the
/// participant's row still held it), as one batch through the write-ahead log; returns
/// how many rows it rewrote. Only where no batch is pending (at open, or on the writer
/// thread between batches). Idempotent.
pub(crate) fn scrub(
    trees: &[sled::Tree],
    disk: &Disk,
    ids: &[ParticipantId],
    names: &[String],
) -> Result<usize, StoreError> {
    let erasure = Erasure::new(ids, names);
    if erasure.is_empty() {
        return Ok(0);
    }
    let wanted: HashSet<[u8; 16]> = ids.iter().map(|id| *id.as_bytes()).collect();
    // Without names, only the records holding an id's bytes can hold anything to remove.
    let candidate = |v: &[u8]| !names.is_empty() || names_any(v, &wanted);
    let mut rewrites: Vec<(T, Vec<u8>, Vec<u8>)> = Vec::new();
    for kv in trees[T::Log as usize].iter() {
        let (k, v) = kv?;
        if candidate(&v) {
            let mut c: Change = decode_change(&k, &v)?;
            let mut changed = false;
            for e in &mut c.events {
                changed |= erasure.event(e);
            }
            if changed {
                rewrites.push((T::Log, k.to_vec(), rewrite_change(&c)?));
            }
        }
    }
    for kv in trees[T::Answers as usize].iter() {
        let (k, v) = kv?;
        if candidate(&v) {
            let mut a: Answer = decode(T::Answers.name(), &k, &v)?;
            if erasure.outcome(&mut a.outcome) {
                rewrites.push((T::Answers, k.to_vec(), encode(&a)?));
            }
        }
    }
    for kv in trees[T::Requests as usize].iter() {
        let (k, v) = kv?;
        if candidate(&v) {
            let mut a: StoredAnswer = decode(T::Requests.name(), &k, &v)?;
            if erasure.outcome(&mut a.outcome) {
                rewrites.push((T::Requests, k.to_vec(), encode(&a)?));
            }
        }
    }
    if !names.is_empty() {
        for kv in trees[T::Feedback as usize].iter() {
            let (k, v) = kv?;
            let mut f: Feedback = decode(T::Feedback.name(), &k, &v)?;
            if erasure.feedback(&mut f) {
                rewrites.push((T::Feedback, k.to_vec(), encode(&f)?));
            }
        }
        for kv in trees[T::NextActions as usize].iter() {
            let (k, v) = kv?;
            let mut a: NextAction = decode(T::NextActions.name(), &k, &v)?;
            if erasure.next_action(&mut a) {
                rewrites.push((T::NextActions, k.to_vec(), encode(&a)?));
            }
        }
    }
    let n = rewrites.len();
    if n > 0 {
        disk.write_now(trees, T::Meta as usize, |tx| {
            for (t, k, v) in &rewrites {
                tx.insert(*t as usize, k, v);
            }
            Ok(())
        })?;
    }
    Ok(n)
}

/// Copies every tree of `db` into a fresh database at `to` (our layout, nothing pending),
/// closed and with every file synced: a data directory a node opens as it is (the
/// compaction's copy, and a backup's).
pub(crate) fn copy_trees(db: &sled::Db, to: &Path, cache_bytes: u64) -> Result<(), StoreError> {
    {
        let fresh = batch::open_db(to, cache_bytes)?;
        for name in db.tree_names() {
            let (from, into) = (db.open_tree(&name)?, fresh.open_tree(&name)?);
            for kv in from.iter() {
                let (k, v) = kv?;
                into.insert(k, v)?;
            }
        }
        fresh.open_tree(T::Meta.name())?.remove(PURGE_PENDING)?;
        fresh.flush()?;
    }
    wait_for_unlock(to)?;
    batch::sync_files(to)?;
    batch::sync_dir(to)
}

/// The participants waiting for the physical purge.
pub(crate) fn pending(meta: &sled::Tree) -> Result<Vec<ParticipantId>, StoreError> {
    match meta.get(PURGE_PENDING)? {
        Some(v) => decode("meta", PURGE_PENDING, &v),
        None => Ok(Vec::new()),
    }
}

/// Copies every tree of `db` (durable, nothing pending) into a fresh database in
/// `dir/compact`, without [`PURGE_PENDING`], makes it durable and marks it complete.
/// A copy holds the current values only: none of the replaced ones sled's files keep.
/// (sled's `export`/`import` do the same but panic on an I/O error.)
pub(crate) fn copy(db: &sled::Db, dir: &Path, cache_bytes: u64) -> Result<(), StoreError> {
    let to = dir.join(COPY_DIR);
    remove_dir(&to)?;
    copy_trees(db, &to, cache_bytes)?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&to).map_err(|e| io_err("listing", &to, e))? {
        let entry = entry.map_err(|e| io_err("listing", &to, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let done = to.join(DONE_FILE);
    let mut f = File::create(&done).map_err(|e| io_err("creating", &done, e))?;
    f.write_all(names.join("\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("writing", &done, e))?;
    batch::sync_dir(&to)?;
    batch::sync_dir(dir)
}

/// Finishes a swap that a complete copy in `dir/compact` marks, if there is one (a copy
/// without its mark is an unfinished one: removed). The copy's files replace sled's, the
/// old sled files it lacks are removed, and both write-ahead log files are emptied (the
/// copy holds everything they held). Every step can be done again: a crash anywhere in it
/// is finished at the next open. Returns whether there was a swap to finish. Before sled
/// opens the directory.
pub(crate) fn finish_swap(dir: &Path) -> Result<bool, StoreError> {
    let from = dir.join(COPY_DIR);
    let done = from.join(DONE_FILE);
    let names = match std::fs::read_to_string(&done) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            remove_dir(&from)?;
            return Ok(false);
        }
        Err(e) => return Err(io_err("reading", &done, e)),
    };
    wal::empty_files(dir)?;
    for name in &names {
        let (src, dst) = (from.join(name), dir.join(name));
        if src.exists() {
            if dst.is_dir() {
                std::fs::remove_dir_all(&dst).map_err(|e| io_err("removing", &dst, e))?;
            }
            std::fs::rename(&src, &dst).map_err(|e| io_err("moving", &src, e))?;
        }
    }
    // The old database's files that the copy does not have (older snapshots, blobs).
    for entry in std::fs::read_dir(dir).map_err(|e| io_err("listing", dir, e))? {
        let entry = entry.map_err(|e| io_err("listing", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let sled_owned =
            matches!(name.as_str(), "db" | "conf" | "blobs") || name.starts_with("snap.");
        if sled_owned && !names.contains(&name) {
            let p = entry.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            }
            .map_err(|e| io_err("removing", &p, e))?;
        }
    }
    batch::sync_dir(dir)?;
    remove_dir(&from)?;
    batch::sync_dir(dir)?;
    info!(path = %dir.display(), "swapped in the compacted database: erased data is gone from the files");
    Ok(true)
}

/// sled releases its lock on `db` (and stops writing the directory) a moment after the
/// last handle goes: the copy's files are complete only then.
pub(crate) fn wait_for_unlock(dir: &Path) -> Result<(), StoreError> {
    use rustix::fs::{FlockOperation, flock};
    let p = dir.join("db");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = File::open(&p).map_err(|e| io_err("opening", &p, e))?;
        if flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StoreError::Locked(dir.to_path_buf()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn remove_dir(p: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("removing", p, e)),
    }
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> StoreError {
    StoreError::io(format!("{what} {}", p.display()), e)
}
