//! The write-ahead log that makes a writer batch durable.
//!
//! A batch computes its writes in memory ([`TxTrees`]: reads see the batch's own writes).
//! The writes (tree, key, new value or removal) are appended to this log as one record and
//! the log file is fdatasynced: one device wait per batch, on the writer thread itself.
//! Only then do they go to sled, as plain inserts (sled transactions and batches seal and
//! write sled's I/O buffer through its thread pool on every commit, which cost more than
//! the rest of a batch). sled's own log reaches the disk later, at a *checkpoint* (sled
//! `flush`, then fdatasync of its file), which runs on a background thread when a log file
//! fills up, and synchronously when the store closes or a write outside the batches needs
//! it.
//!
//! Every batch writes its number under [`BATCH_KEY`] in the meta tree, last. sled recovers
//! its writes in order, so the number it recovers after a crash says which batches it holds
//! entirely; opening the store replays the records after it. sled never holds a write that
//! is not in the log already, so what it recovers is always a prefix of the log's writes.
//!
//! Two files, `wal-0` and `wal-1`, take turns. Each starts with a header (magic, generation,
//! checksum); records follow at [`HEADER_BYTES`]: payload length (u32), CRC-32 (u32) of
//! generation, batch and payload, generation (u64), batch number (u64), payload. A record
//! whose generation is not its file's, whose checksum fails, or whose number does not follow
//! ends the file's log (a torn tail, or an older generation's leftovers); a valid record
//! of the generation after that point means damage in the middle, and opening fails with
//! an error rather than lose acknowledged batches. A file is reused
//! only once a checkpoint has made every record in it redundant. Files are grown by writing
//! zeros ahead of the records, so that appending a record changes no metadata and its
//! fdatasync is a single data write.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use sled::IVec;
use tracing::{info, warn};

use crate::batch;

use crate::StoreError;

/// Meta key of the number of the last batch written to sled.
pub const BATCH_KEY: &[u8] = b"wal_batch";

const MAGIC: &[u8; 8] = b"AGORAWAL";
const VERSION: u8 = 1;
/// Records start here; the header takes the first bytes.
pub const HEADER_BYTES: u64 = 4096;
const RECORD_HEAD: usize = 24;
/// Default size at which a log file hands over to the other one and a checkpoint starts.
pub const FILE_BYTES: u64 = 32 << 20;
/// Zeros written ahead of the records at a time...
const GROW_BY: u64 = 1 << 20;
/// ...in writes of this size (see `Disk::commit`).
const ZERO_PIECE: usize = 64 << 10;

const OP_REMOVE: u8 = 0;
const OP_PUT: u8 = 1;

/// The writes of one batch, made in memory over the trees: reads see them, then the
/// writes of earlier batches not yet applied to sled (`pending`, oldest first), then sled.
/// sled gets them only through [`Writes::apply`], after the batch is durable in the log:
/// so sled's file never holds a write the log lacks, and a batch that fails writes nothing.
pub struct TxTrees<'a> {
    trees: &'a [sled::Tree],
    pending: &'a [Arc<Writes>],
    writes: RefCell<WriteMap>,
    in_memory: TreeSet,
}

/// A set of tree indexes, one bit each (there are fewer than 32 trees).
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeSet(pub u32);

impl TreeSet {
    fn has(self, tree: usize) -> bool {
        self.0 & (1 << tree) != 0
    }
}

/// Per tree index: key → new value, or `None` for a removal.
type WriteMap = Vec<BTreeMap<Vec<u8>, Option<IVec>>>;

impl<'a> TxTrees<'a> {
    /// The writes to the trees of `in_memory` go neither to the log nor to sled: they are
    /// the caller's indexes, derived from the other trees, which the caller applies to its
    /// own maps ([`Writes::of`]); [`TxTrees::overlay`] reads them back before that.
    pub fn new(trees: &'a [sled::Tree], pending: &'a [Arc<Writes>], in_memory: TreeSet) -> Self {
        TxTrees {
            trees,
            pending,
            writes: RefCell::new(vec![BTreeMap::new(); trees.len()]),
            in_memory,
        }
    }

    pub fn get(&self, tree: usize, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        match self.overlay(tree, key) {
            Some(v) => Ok(v),
            None => Ok(self.trees[tree].get(key)?),
        }
    }

    /// What this batch or a pending one wrote under `key`: `None` if neither did (the
    /// value is then the applied one), `Some(None)` for a removal.
    pub fn overlay(&self, tree: usize, key: &[u8]) -> Option<Option<IVec>> {
        if let Some(v) = self.writes.borrow()[tree].get(key) {
            return Some(v.clone());
        }
        self.pending
            .iter()
            .rev()
            .find_map(|w| w.writes[tree].get(key).cloned())
    }

    /// Every row of `tree` under `prefix` as this batch sees it (its writes and the pending
    /// batches' over sled), in key order.
    pub fn scan_prefix(
        &self,
        tree: usize,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, IVec)>, StoreError> {
        let mut rows: BTreeMap<Vec<u8>, Option<IVec>> = BTreeMap::new();
        for kv in self.trees[tree].scan_prefix(prefix) {
            let (k, v) = kv?;
            rows.insert(k.to_vec(), Some(v));
        }
        let writes = self.writes.borrow();
        for map in self
            .pending
            .iter()
            .map(|w| &w.writes[tree])
            .chain([&writes[tree]])
        {
            for (k, v) in map
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
            {
                rows.insert(k.clone(), v.clone());
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    pub fn insert(&self, tree: usize, key: &[u8], value: &[u8]) {
        self.writes.borrow_mut()[tree].insert(key.to_vec(), Some(IVec::from(value)));
    }

    pub fn remove(&self, tree: usize, key: &[u8]) {
        self.writes.borrow_mut()[tree].insert(key.to_vec(), None);
    }

    /// The batch's writes, numbered `batch` (recorded under [`BATCH_KEY`] in tree `meta`).
    /// A value larger than [`crate::MAX_VALUE_BYTES`] fails the batch: sled would write it
    /// (or the leaf node holding it) to a file it never syncs (see `batch::SEGMENT_BYTES`).
    pub fn finish(self, meta: usize, batch: u64) -> Result<Writes, StoreError> {
        let writes = self.writes.into_inner();
        let mut record = Vec::new();
        for (tree, map) in writes.iter().enumerate() {
            if self.in_memory.has(tree) {
                continue;
            }
            for (key, value) in map {
                let bytes = key.len() + value.as_ref().map_or(0, |v| v.len());
                if bytes > crate::MAX_VALUE_BYTES {
                    return Err(StoreError::TooLarge {
                        tree,
                        bytes,
                        max: crate::MAX_VALUE_BYTES,
                    });
                }
                encode_write(&mut record, tree, key, value.as_deref());
            }
        }
        // Written last, to sled as to the log: sled holding this number means it holds
        // every write of the batch (sled recovers its writes in order).
        encode_write(&mut record, meta, BATCH_KEY, Some(&batch.to_be_bytes()));
        Ok(Writes {
            batch,
            meta,
            writes,
            record,
            in_memory: self.in_memory,
        })
    }
}

/// A batch's writes, ready for the log and then for sled.
pub struct Writes {
    batch: u64,
    meta: usize,
    writes: WriteMap,
    record: Vec<u8>,
    in_memory: TreeSet,
}

impl Writes {
    /// Applies the writes to sled, in tree order (an index row comes after the row it
    /// points to) and the batch number last; the in-memory trees' writes are left to
    /// the caller.
    pub fn apply(&self, trees: &[sled::Tree]) -> Result<(), StoreError> {
        for (tree, map) in self.writes.iter().enumerate() {
            if self.in_memory.has(tree) {
                continue;
            }
            for (key, value) in map {
                match value {
                    Some(v) => trees[tree].insert(key.as_slice(), v.clone())?,
                    None => trees[tree].remove(key.as_slice())?,
                };
            }
        }
        trees[self.meta].insert(BATCH_KEY, &self.batch.to_be_bytes())?;
        Ok(())
    }

    /// The batch's writes to one tree, in key order (`None`: a removal).
    pub fn of(&self, tree: usize) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.writes[tree]
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }
}

fn encode_write(out: &mut Vec<u8>, tree: usize, key: &[u8], value: Option<&[u8]>) {
    // Tree indexes are below 256 and keys and values far below 4 GiB (gRPC caps messages).
    out.push(tree as u8);
    out.push(if value.is_some() { OP_PUT } else { OP_REMOVE });
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    if let Some(v) = value {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
    }
}

/// A file's valid records, in order: (batch, payload).
type Records<'b> = Vec<(u64, &'b [u8])>;

/// One write of a record: tree index, key, value (`None`: removal).
type Write<'r> = (usize, &'r [u8], Option<&'r [u8]>);

fn decode_writes(mut p: &[u8]) -> Option<Vec<Write<'_>>> {
    fn take<'r>(p: &mut &'r [u8], n: usize) -> Option<&'r [u8]> {
        if p.len() < n {
            return None;
        }
        let (a, b) = p.split_at(n);
        *p = b;
        Some(a)
    }
    fn len(p: &mut &[u8]) -> Option<usize> {
        let b = take(p, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    let mut out = Vec::new();
    while !p.is_empty() {
        let head = take(&mut p, 2)?;
        let n = len(&mut p)?;
        let key = take(&mut p, n)?;
        let value = match head[1] {
            OP_PUT => {
                let n = len(&mut p)?;
                Some(take(&mut p, n)?)
            }
            OP_REMOVE => None,
            _ => return None,
        };
        out.push((usize::from(head[0]), key, value));
    }
    Some(out)
}

/// A node's sled database, its directory, and the write-ahead log in front of it.
pub struct Disk {
    pub db: sled::Db,
    dir: PathBuf,
    wal: Mutex<Wal>,
    applied: Arc<Applied>,
    /// Free space kept on the directory's file system (see `StoreConfig`).
    reserve: u64,
    /// Told of each batch made durable (the node's metrics).
    observer: Option<Arc<dyn WriteObserver>>,
}

/// What a node learns of its store's writes, for its metrics: the store counts nothing
/// itself and knows nothing of how they are served.
pub trait WriteObserver: Send + Sync + 'static {
    /// A write-ahead log record of `bytes` made durable by an fdatasync that took `synced`.
    fn durable(&self, bytes: usize, synced: std::time::Duration);
    /// A batch of `commands` requests (answered or refused) went through the writer.
    fn batch(&self, commands: usize);
}

/// The last batch applied to sled, for the checkpoints that wait for it.
#[derive(Default)]
struct Applied {
    state: Mutex<AppliedState>,
    changed: Condvar,
}

#[derive(Default)]
struct AppliedState {
    batch: u64,
    /// Applying a batch failed: sled will not reach the batches after it in this process.
    failed: bool,
}

impl Applied {
    fn set(&self, batch: u64, failed: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.batch = s.batch.max(batch);
        s.failed |= failed;
        self.changed.notify_all();
    }

    /// Waits until sled holds batch `upto` (every one before it too).
    fn wait_for(&self, upto: u64) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.batch < upto {
            if s.failed {
                return Err(StoreError::Poisoned(format!(
                    "batch {upto} never reached sled; the write-ahead log keeps it"
                )));
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        Ok(())
    }
}

struct Wal {
    dir: PathBuf,
    files: [Option<WalFile>; 2],
    active: usize,
    /// Where the next record goes in the active file.
    offset: u64,
    next_batch: u64,
    /// Size at which the active file hands over.
    limit: u64,
    buf: Vec<u8>,
    checkpoint: Option<JoinHandle<Result<(), StoreError>>>,
}

struct WalFile {
    file: File,
    generation: u64,
    /// Bytes of the file known to exist (written, zeros included).
    len: u64,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::io(context, e)
}

fn wal_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("wal-{i}"))
}

fn header(generation: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(MAGIC);
    h.push(VERSION);
    h.extend_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// The generation of a file's header, if it is a valid one.
fn read_header(bytes: &[u8]) -> Result<Option<u64>, String> {
    if bytes.len() < 21 || bytes[..8] != MAGIC[..] {
        return Ok(None);
    }
    if bytes[8] != VERSION {
        return Err(format!(
            "write-ahead log version {}; this build reads {VERSION}",
            bytes[8]
        ));
    }
    let crc = u32::from_le_bytes([bytes[17], bytes[18], bytes[19], bytes[20]]);
    if crc32fast::hash(&bytes[..17]) != crc {
        // A header torn while starting a new generation: no record of it was acknowledged.
        return Ok(None);
    }
    let mut g = [0u8; 8];
    g.copy_from_slice(&bytes[9..17]);
    Ok(Some(u64::from_le_bytes(g)))
}

fn record_crc(generation: u64, batch: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&generation.to_le_bytes());
    h.update(&batch.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// The record at `at`, if a valid one of `generation`: (batch, payload, end offset).
fn record_at(bytes: &[u8], at: usize, generation: u64) -> Option<(u64, &[u8], usize)> {
    let h = bytes.get(at..at.checked_add(RECORD_HEAD)?)?;
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let long = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let (len, crc, g, batch) = (word(0) as usize, word(4), long(8), long(16));
    if g != generation {
        return None;
    }
    let end = at.checked_add(RECORD_HEAD)?.checked_add(len)?;
    let payload = bytes.get(at + RECORD_HEAD..end)?;
    (record_crc(g, batch, payload) == crc).then_some((batch, payload, end))
}

/// The records of one file, in order: (batch, payload). They end at the first record that
/// is not a valid one of this generation following the previous one: a torn last write, or
/// the leftovers of an older generation. A valid record of this generation *after* that
/// point means the file was damaged in the middle (every record was synced before the next
/// was written), and acknowledged batches would be lost: that is an error.
fn read_records(bytes: &[u8], generation: u64) -> Result<(Records<'_>, usize), String> {
    let mut out: Vec<(u64, &[u8])> = Vec::new();
    let mut at = HEADER_BYTES as usize;
    while let Some((batch, payload, end)) = record_at(bytes, at, generation) {
        if out.last().is_some_and(|(prev, _)| *prev + 1 != batch) {
            break;
        }
        out.push((batch, payload));
        at = end;
    }
    let generation_bytes = generation.to_le_bytes();
    let later = (at + 1..bytes.len().saturating_sub(RECORD_HEAD)).find(|&o| {
        bytes[o + 8..o + 16] == generation_bytes
            && record_at(bytes, o, generation)
                .is_some_and(|(batch, _, _)| out.last().is_none_or(|(prev, _)| batch > *prev))
    });
    match later {
        Some(o) => Err(format!(
            "damaged at byte {at}: a valid record follows at byte {o}, so batches after {} \
             would be lost",
            out.last().map_or(0, |(b, _)| *b)
        )),
        None => Ok((out, at)),
    }
}

/// The size of what looks like a record of `generation` begun at `at` but not valid (torn
/// by a crash during its write, never acknowledged), if there is one: a clean end of the
/// log is followed by zeros or by an older generation's records.
fn torn_tail(bytes: &[u8], at: usize, generation: u64) -> Option<usize> {
    let h = bytes.get(at..at + RECORD_HEAD)?;
    if h[8..16] != generation.to_le_bytes() {
        return None;
    }
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    Some((RECORD_HEAD + len).min(bytes.len() - at))
}

impl Disk {
    /// Opens the log of the database in `dir`, replays what sled lacks into `trees`
    /// (`meta` is the index of the tree holding [`BATCH_KEY`]) and starts a new generation
    /// whose files hand over at `file_bytes`.
    pub fn open(
        db: sled::Db,
        dir: &Path,
        trees: &[sled::Tree],
        meta: usize,
        file_bytes: u64,
        reserve: u64,
    ) -> Result<Disk, StoreError> {
        let held = match trees[meta].get(BATCH_KEY)? {
            Some(v) => crate::codec::u64_of("meta", BATCH_KEY, &v)?,
            None => 0,
        };
        // The files' generations, from their headers; then each file's records in order of
        // generation, one file in memory at a time.
        let mut found: Vec<(usize, u64)> = Vec::new();
        let mut existing = [false, false];
        for (i, exists) in existing.iter_mut().enumerate() {
            let p = wal_path(dir, i);
            let mut head = Vec::with_capacity(21);
            let read = File::open(&p).and_then(|f| f.take(21).read_to_end(&mut head));
            match read {
                Ok(_) => {
                    *exists = true;
                    let generation = read_header(&head).map_err(|reason| StoreError::Corrupt {
                        tree: "wal",
                        key: p.display().to_string(),
                        reason,
                    })?;
                    if let Some(g) = generation {
                        found.push((i, g));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(format!("reading {}", p.display()), e)),
            }
        }
        found.sort_by_key(|(_, g)| *g);
        let mut expected = held + 1;
        for (i, g) in &found {
            let p = wal_path(dir, *i);
            let bytes = std::fs::read(&p).map_err(io(format!("reading {}", p.display())))?;
            let (records, end) =
                read_records(&bytes, *g).map_err(|reason| StoreError::Corrupt {
                    tree: "wal",
                    key: p.display().to_string(),
                    reason,
                })?;
            if let Some(dropped) = torn_tail(&bytes, end, *g) {
                // Never acknowledged: its fdatasync had not returned.
                warn!(
                    file = %p.display(),
                    offset = end,
                    bytes = dropped,
                    "dropped a torn last record of the write-ahead log (it was never answered)"
                );
            }
            for (batch, payload) in records.into_iter().filter(|(b, _)| *b > held) {
                if batch != expected {
                    return Err(StoreError::Corrupt {
                        tree: "wal",
                        key: dir.display().to_string(),
                        reason: format!(
                            "the database holds batch {held}, and the write-ahead log has \
                             batch {batch} but not batch {expected}"
                        ),
                    });
                }
                replay(trees, batch, payload)?;
                expected += 1;
            }
        }
        let last = expected - 1;
        // The older log file is reused below: whatever sled holds must be durable first,
        // replayed or not (sled's own recovery may have written since the files were synced).
        checkpoint(&db, dir)?;
        if last > held {
            info!(
                path = %dir.display(),
                batches = last - held,
                from = held + 1,
                to = last,
                "replayed the write-ahead log"
            );
        }
        // Every record on disk is now in sled's durable state: start a new generation in
        // the file with the older one.
        let newest = found.iter().map(|(_, g)| *g).max().unwrap_or(0);
        let active = match found.as_slice() {
            [(i, _)] => 1 - i,
            [(i, _), _] => *i,
            _ => 0,
        };
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            files: [None, None],
            active,
            offset: HEADER_BYTES,
            next_batch: last + 1,
            limit: file_bytes.max(2 * HEADER_BYTES),
            buf: Vec::new(),
            checkpoint: None,
        };
        for (i, exists) in existing.iter().enumerate() {
            if *exists {
                wal.files[i] = Some(wal.open_file(i, 0)?);
            }
        }
        wal.start_generation(active, newest + 1)?;
        let applied = Arc::new(Applied::default());
        applied.set(last, false);
        Ok(Disk {
            db,
            dir: dir.to_path_buf(),
            wal: Mutex::new(wal),
            applied,
            reserve,
            observer: None,
        })
    }

    /// Reports each durable batch to `observer` from now on.
    pub fn observed(mut self, observer: Option<Arc<dyn WriteObserver>>) -> Disk {
        self.observer = observer;
        self
    }

    /// The observer of this store's writes, if any.
    pub fn observer(&self) -> Option<&dyn WriteObserver> {
        self.observer.as_deref()
    }

    /// Free bytes on the file system of the data directory (for an unprivileged writer).
    pub fn free_bytes(&self) -> Result<u64, StoreError> {
        free_bytes(&self.dir)
    }

    /// Applies a durable batch to sled ([`Writes::apply`]) and records it as applied, for
    /// the checkpoint that waits for it. Batches are applied in order.
    pub fn apply(&self, w: &Writes, trees: &[sled::Tree]) -> Result<(), StoreError> {
        let done = w.apply(trees);
        self.applied.set(w.batch, done.is_err());
        done
    }

    /// Writes outside the writer's batches (a credential, a downlink position, …), through
    /// the log like any batch: `f` writes into a batch of its own, which is made durable
    /// then applied. Only where no batch is pending (on the writer thread, between two
    /// batches, once the applier is idle).
    pub fn write_now(
        &self,
        trees: &[sled::Tree],
        meta: usize,
        f: impl FnOnce(&TxTrees<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = TxTrees::new(trees, &[], TreeSet::default());
        f(&tx)?;
        let w = tx.finish(meta, self.next_batch()?)?;
        self.commit(&w)?;
        self.apply(&w, trees)
    }

    /// Refuses a write when the directory's file system has less free space than the
    /// reserve.
    pub fn check_space(&self) -> Result<(), StoreError> {
        if self.reserve == 0 {
            return Ok(());
        }
        let free = free_bytes(&self.dir)?;
        if free < self.reserve {
            return Err(StoreError::DiskFull {
                free_mib: free >> 20,
                reserve_mib: self.reserve >> 20,
            });
        }
        Ok(())
    }

    fn wal(&self) -> Result<std::sync::MutexGuard<'_, Wal>, StoreError> {
        self.wal
            .lock()
            .map_err(|_| StoreError::Poisoned("the write-ahead log's lock".into()))
    }

    /// Number the next batch must write under [`BATCH_KEY`].
    pub fn next_batch(&self) -> Result<u64, StoreError> {
        Ok(self.wal()?.next_batch)
    }

    /// Makes a batch durable: appends its writes and fdatasyncs. Its writes go to sled
    /// after this ([`Writes::apply`]).
    pub fn commit(&self, w: &Writes) -> Result<(), StoreError> {
        let (batch, writes) = (w.batch, &w.record[..]);
        self.check_space()?;
        let mut wal = self.wal()?;
        if batch != wal.next_batch {
            return Err(StoreError::Inconsistent {
                what: "write-ahead log batch",
                key: format!("{batch} (expected {})", wal.next_batch),
            });
        }
        let len = (RECORD_HEAD + writes.len()) as u64;
        if wal.offset + len > wal.limit && wal.offset > HEADER_BYTES {
            self.rotate(&mut wal)?;
        }
        let generation = wal.generation();
        let Wal {
            buf,
            files,
            active,
            offset,
            ..
        } = &mut *wal;
        buf.clear();
        buf.extend_from_slice(&(writes.len() as u32).to_le_bytes());
        buf.extend_from_slice(&record_crc(generation, batch, writes).to_le_bytes());
        buf.extend_from_slice(&generation.to_le_bytes());
        buf.extend_from_slice(&batch.to_le_bytes());
        buf.extend_from_slice(writes);
        let f = files[*active]
            .as_mut()
            .ok_or_else(|| StoreError::Inconsistent {
                what: "write-ahead log file",
                key: active.to_string(),
            })?;
        let end = *offset + len;
        if end > f.len {
            // In pieces: the kernel sizes page-cache folios after the writes that create
            // them, and fdatasync writes back whole dirty folios. Zeros written 1 MiB at a
            // time made every commit write 1 MiB to the device (measured: 0.117 ms against
            // 0.084 ms for a small record).
            let zeros = [0u8; ZERO_PIECE];
            let target = f.len + (end - f.len).max(GROW_BY);
            while f.len < target {
                f.file
                    .write_all_at(&zeros, f.len)
                    .map_err(|e| self.write_error("growing the write-ahead log", e))?;
                f.len += ZERO_PIECE as u64;
            }
        }
        f.file
            .write_all_at(buf, *offset)
            .map_err(|e| self.write_error("writing the write-ahead log", e))?;
        let started = std::time::Instant::now();
        f.file
            .sync_data()
            .map_err(io("fdatasync of the write-ahead log".into()))?;
        if let Some(o) = &self.observer {
            o.durable(buf.len(), started.elapsed());
        }
        *offset = end;
        wal.next_batch += 1;
        Ok(())
    }

    /// Hands over to the other file and checkpoints in the background what the full one
    /// holds; waits first for the previous checkpoint, whose file is about to be reused.
    fn rotate(&self, wal: &mut Wal) -> Result<(), StoreError> {
        wal.finish_checkpoint()?;
        let next = 1 - wal.active;
        let generation = wal.generation() + 1;
        wal.start_generation(next, generation)?;
        // The full file's last batch: the checkpoint covers it (and every one before), so
        // that the file may be reused at the next rotation, whatever the applier's queue.
        let upto = wal.next_batch - 1;
        let db = self.db.clone();
        let dir = self.dir.clone();
        let applied = Arc::clone(&self.applied);
        let handle = std::thread::Builder::new()
            .name("agora-checkpoint".into())
            .spawn(move || {
                applied.wait_for(upto)?;
                checkpoint(&db, &dir)
            })
            .map_err(io("starting a checkpoint thread".into()))?;
        wal.checkpoint = Some(handle);
        Ok(())
    }

    /// Makes everything written to sled so far durable in sled's own file (and so every
    /// log record redundant). For the writes made outside batches, and at close.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.wal()?.finish_checkpoint()?;
        checkpoint(&self.db, &self.dir)
    }

    /// A failed write of the log: out of space is [`StoreError::DiskFull`] (the record was
    /// not acknowledged, and the next one is written at the same place), the rest an I/O
    /// error.
    fn write_error(&self, what: &str, e: std::io::Error) -> StoreError {
        if StoreError::out_of_space(&e) {
            let free = free_bytes(&self.dir).unwrap_or(0);
            StoreError::DiskFull {
                free_mib: free >> 20,
                reserve_mib: self.reserve >> 20,
            }
        } else {
            StoreError::io(what, e)
        }
    }
}

/// Empties both log files of `dir`, durably (missing ones are fine): for a database that
/// holds every write they hold (a compacted copy, `privacy::finish_swap`), so that none of
/// their old bytes stays readable. Before [`Disk::open`], which starts a new generation.
pub fn empty_files(dir: &Path) -> Result<(), StoreError> {
    for i in 0..2 {
        let p = wal_path(dir, i);
        match OpenOptions::new().write(true).open(&p) {
            Ok(f) => f
                .set_len(0)
                .and_then(|()| f.sync_all())
                .map_err(io(format!("emptying {}", p.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(format!("opening {}", p.display()), e)),
        }
    }
    Ok(())
}

/// Free bytes for an unprivileged writer on the file system of `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, StoreError> {
    let s = rustix::fs::statvfs(dir)
        .map_err(|e| StoreError::io(format!("statvfs of {}", dir.display()), e.into()))?;
    if s.f_blocks == 0 {
        // A file system that reports no sizes at all (some FUSE ones): nothing to check.
        return Ok(u64::MAX);
    }
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Makes sled's state durable: sled writes what it buffers (its `flush` ends with
/// `sync_file_range`, which does not reach the device), then every file of the directory
/// is fsynced, sled's `db` and `conf` among them.
fn checkpoint(db: &sled::Db, dir: &Path) -> Result<(), StoreError> {
    db.flush()?;
    batch::sync_files(dir)
}

impl Wal {
    fn generation(&self) -> u64 {
        self.files[self.active].as_ref().map_or(0, |f| f.generation)
    }

    fn open_file(&self, i: usize, generation: u64) -> Result<WalFile, StoreError> {
        let p = wal_path(&self.dir, i);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(io(format!("opening {}", p.display())))?;
        let len = file
            .metadata()
            .map_err(io(format!("reading the size of {}", p.display())))?
            .len();
        Ok(WalFile {
            file,
            generation,
            len,
        })
    }

    /// Writes a new header to file `i`, durably; records of older generations in it are
    /// from then on ignored.
    fn start_generation(&mut self, i: usize, generation: u64) -> Result<(), StoreError> {
        let created = self.files[i].is_none();
        let mut f = match self.files[i].take() {
            Some(f) => f,
            None => self.open_file(i, generation)?,
        };
        let mut h = header(generation);
        h.resize(HEADER_BYTES as usize, 0);
        let p = wal_path(&self.dir, i);
        f.file
            .write_all_at(&h, 0)
            .and_then(|()| f.file.sync_data())
            .map_err(io(format!("starting {}", p.display())))?;
        f.len = f.len.max(HEADER_BYTES);
        f.generation = generation;
        self.files[i] = Some(f);
        if created {
            crate::batch::sync_dir(&self.dir)?;
        }
        self.active = i;
        self.offset = HEADER_BYTES;
        Ok(())
    }

    fn finish_checkpoint(&mut self) -> Result<(), StoreError> {
        match self.checkpoint.take() {
            Some(h) => h.join().unwrap_or_else(|_| {
                Err(StoreError::Poisoned(
                    "the checkpoint thread panicked".into(),
                ))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(e) = self.finish_checkpoint() {
            warn!(error = %e, "a checkpoint failed while closing");
        }
    }
}

/// Applies one record's writes to `trees`, in order (its batch number last).
fn replay(trees: &[sled::Tree], batch: u64, payload: &[u8]) -> Result<(), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        tree: "wal",
        key: format!("batch {batch}"),
        reason,
    };
    let writes = decode_writes(payload).ok_or_else(|| corrupt("unreadable writes".into()))?;
    if let Some((t, _, _)) = writes.iter().find(|(t, _, _)| *t >= trees.len()) {
        return Err(corrupt(format!("names tree {t} of {}", trees.len())));
    }
    for (t, key, value) in writes {
        match value {
            Some(v) => trees[t].insert(key, v)?,
            None => trees[t].remove(key)?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_trip() {
        let mut out = Vec::new();
        encode_write(&mut out, 3, b"key", Some(b"value"));
        encode_write(&mut out, 0, b"gone", None);
        let w = decode_writes(&out).expect("decodes");
        assert_eq!(
            w,
            vec![
                (3, &b"key"[..], Some(&b"value"[..])),
                (0, &b"gone"[..], None)
            ]
        );
        assert!(decode_writes(&out[..out.len() - 1]).is_none());
    }

    #[test]
    fn records_stop_at_a_torn_tail_or_an_older_generation() {
        fn push(f: &mut Vec<u8>, g: u64, batch: u64, payload: &[u8]) {
            f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            f.extend_from_slice(&record_crc(g, batch, payload).to_le_bytes());
            f.extend_from_slice(&g.to_le_bytes());
            f.extend_from_slice(&batch.to_le_bytes());
            f.extend_from_slice(payload);
        }
        let mut file = header(7);
        file.resize(HEADER_BYTES as usize, 0);
        push(&mut file, 7, 10, b"a");
        push(&mut file, 7, 11, b"bb");
        push(&mut file, 6, 12, b"old");
        assert_eq!(read_header(&file), Ok(Some(7)));
        let r = read_records(&file, 7).unwrap().0;
        assert_eq!(r, vec![(10, &b"a"[..]), (11, &b"bb"[..])]);
        // A flipped bit in the last record of the generation: a torn tail, the log ends
        // after the first.
        let at = HEADER_BYTES as usize + RECORD_HEAD + 1 + RECORD_HEAD;
        file[at] ^= 1;
        let (records, end) = read_records(&file, 7).unwrap();
        assert_eq!(records, vec![(10, &b"a"[..])]);
        // It is reported as a torn record of 26 bytes at its offset...
        assert_eq!(end, HEADER_BYTES as usize + RECORD_HEAD + 1);
        assert_eq!(torn_tail(&file, end, 7), Some(RECORD_HEAD + 2));
        file[at] ^= 1;
        // ...but the end of a clean log (an older generation's record next, or zeros) is not.
        let (_, end) = read_records(&file, 7).unwrap();
        assert_eq!(torn_tail(&file, end, 7), None);
        assert_eq!(torn_tail(&[0u8; 8192], HEADER_BYTES as usize, 7), None);
        // Damage in the middle, with a valid record after it, is an error.
        let mut middle = file.clone();
        middle.truncate(HEADER_BYTES as usize + 2 * RECORD_HEAD + 3);
        push(&mut middle, 7, 12, b"ccc");
        assert_eq!(read_records(&middle, 7).unwrap().0.len(), 3);
        middle[HEADER_BYTES as usize + RECORD_HEAD] ^= 1;
        let err = read_records(&middle, 7).unwrap_err();
        assert!(err.contains("damaged at byte 4096"), "{err}");
        // A torn header is no header.
        file[12] ^= 1;
        assert_eq!(read_header(&file), Ok(None));
    }
}
