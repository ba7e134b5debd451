//! Agora's storage, the only crate that names sled.
//!
//! One sled database per node. Writes go through a single writer thread ([`writer`]) that
//! applies a batch of commands in one transaction (entity rows, one change-log record per
//! mutation under the next contiguous sequence number, the idempotency record), appends
//! that transaction's writes to the write-ahead log ([`wal`]) with one fdatasync, then
//! answers every request of the batch: group commit. Reads go straight to sled.

mod batch;
mod codec;
mod error;
mod event;
mod index;
pub mod national;
mod privacy;
pub mod ring;
mod rows;
mod wal;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::info;

use agora_model::shared::{
    self, DirectoryEntry, SharedChange, SharedParticipant, SharedRegistration,
};
use agora_model::{
    Challenge, Change, Command, Event, Outcome, Participant, ParticipantId, Registration,
    RegistrationId, SeatPool, SiteId, Stats, Target, Theme, default_themes,
    remote::{RemoteRequest, RemoteState},
};
use uuid::Uuid;

use batch::Msg;
use wal::Disk;

pub use error::StoreError;
pub use event::{Attendance, PersonalData};
pub use wal::FILE_BYTES as WAL_FILE_BYTES;
pub use wal::WriteObserver;
pub use wal::free_bytes;
pub use writer::now_ms;

/// The most a row (key and value) may hold. Commands are bounded by the model's limits
/// well below this; a batch that would write more is refused before the log (see
/// `batch::SEGMENT_BYTES` for why sled must never see larger values).
pub const MAX_VALUE_BYTES: usize = 80 << 10;

use codec::{FORMAT, decode, encode, target_key, u64_key, u64_of};

/// The trees of a node's database; the discriminant indexes `Inner::trees`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    /// Format version, site id, log epoch, log bounds, site counters.
    Meta,
    /// seq (u64 BE) → `Change`.
    Log,
    Themes,
    /// number (u32 BE) → `Challenge`.
    Challenges,
    /// target key → `SeatPool`.
    Pools,
    /// participant id → `Participant`.
    Participants,
    /// registration id → `Registration`.
    Registrations,
    /// In memory, not in sled (`index::Derived`): registration id → target key, for the
    /// registrations of one target. The sled tree of this name stays empty.
    ByTarget,
    /// In memory, not in sled (`index::Derived`): participant id → registration id of
    /// their active challenge registration. The sled tree of this name stays empty.
    Active,
    /// No longer written: ticket codes are indexed in memory (`index::TicketIndex`). Kept so
    /// that the trees' numbers, which write-ahead log records carry, stay the same.
    Tickets,
    /// target key ++ waiting slot (u64 BE) → registration id.
    Waiters,
    /// Legacy: request id → `StoredAnswer`, as written before answers were numbered
    /// (`Answers`). Read, never written; empty in a database made since.
    Requests,
    /// proposal id (u32 BE) → `ChallengeProposal`.
    Proposals,
    /// folded question (UTF-8) → `Vec<QuestionRef>`: the duplicate index.
    Questions,
    /// challenge number (u32 BE) → proposal id (u32 BE) it was made from.
    ChallengeProposal,
    /// conference id (u32 BE) → `Conference`.
    Conferences,
    /// slot key (see `codec::slot_key`) → `Vec<Slot>`: per room / speaker / attendee.
    Slots,
    /// team id (u32 BE) → `LearningTeam`.
    Teams,
    /// participant id → team id (u32 BE).
    TeamOf,
    /// team id (u32 BE) ++ moment (u8) ++ entry id (time-ordered UUID) → `NotebookEntry`.
    Notebook,
    /// start (i64 as order-preserving u64 BE) ++ item id (u32 BE) → `ProgramItem`.
    Program,
    /// challenge number (u32 BE) ++ feedback id (time-ordered UUID) → `Feedback`.
    Feedback,
    /// next action id (u32 BE) → `NextAction`.
    NextActions,
    /// The national directory pushed down by the national node (national-owned, not
    /// logged here): kind byte ++ key → `DirectoryEntry`.
    Directory,
    /// answer number (u64 BE, in the order answered) → `Answer`: what each request was
    /// answered, found by its request id through `index::RequestIndex`.
    Answers,
    /// request id (UTF-8) → `RemoteRequest`: this site's requests for other sites' défis.
    RemoteRequests,
    /// participant id → request id (UTF-8) of their latest remote request.
    RemoteOf,
    /// challenge number (u32 BE) → (): the défis open to registrations from other sites.
    RemoteChallenges,
    /// Seat leases (`agora_model::lease`), by kind byte: `l` ++ owner (empty for this
    /// site's défis) ++ 0 ++ challenge (u32 BE) ++ holder ++ 0 ++ lease id → `Lease`;
    /// `r` ++ request id → lease id (UTF-8) a request was confirmed from (holder);
    /// `g` ++ holder ++ 0 ++ request id → `RegistrationId` of its guest (owner).
    Leases,
}

impl T {
    const ALL: [T; 29] = [
        T::Meta,
        T::Log,
        T::Themes,
        T::Challenges,
        T::Pools,
        T::Participants,
        T::Registrations,
        T::ByTarget,
        T::Active,
        T::Tickets,
        T::Waiters,
        T::Requests,
        T::Proposals,
        T::Questions,
        T::ChallengeProposal,
        T::Conferences,
        T::Slots,
        T::Teams,
        T::TeamOf,
        T::Notebook,
        T::Program,
        T::Feedback,
        T::NextActions,
        T::Directory,
        T::Answers,
        T::RemoteRequests,
        T::RemoteOf,
        T::RemoteChallenges,
        T::Leases,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            T::Meta => "meta",
            T::Log => "log",
            T::Themes => "themes",
            T::Challenges => "challenges",
            T::Pools => "pools",
            T::Participants => "participants",
            T::Registrations => "registrations",
            T::ByTarget => "by_target",
            T::Active => "active",
            T::Tickets => "tickets",
            T::Waiters => "waiters",
            T::Requests => "requests",
            T::Proposals => "proposals",
            T::Questions => "questions",
            T::ChallengeProposal => "challenge_proposal",
            T::Conferences => "conferences",
            T::Slots => "slots",
            T::Teams => "teams",
            T::TeamOf => "team_of",
            T::Notebook => "notebook",
            T::Program => "program",
            T::Feedback => "feedback",
            T::NextActions => "next_actions",
            T::Directory => "directory",
            T::Answers => "answers",
            T::RemoteRequests => "remote_requests",
            T::RemoteOf => "remote_of",
            T::RemoteChallenges => "remote_challenges",
            T::Leases => "leases",
        }
    }
}

mod meta {
    pub const FORMAT: &[u8] = b"format";
    pub const SITE_ID: &[u8] = b"site_id";
    pub const EPOCH: &[u8] = b"epoch";
    /// Sequence number of the last committed change record.
    pub const LAST_SEQ: &[u8] = b"last_seq";
    /// Oldest sequence number still in the log.
    pub const FIRST_SEQ: &[u8] = b"first_seq";
    /// Secret key (UUID) of the participants' pseudonyms.
    pub const PSEUDONYM_KEY: &[u8] = b"pseudonym_key";
    /// Present when registration ids go up as pseudonyms (`shared::registration_pseudonym`).
    pub const REGISTRATION_PSEUDONYMS: &[u8] = b"registration_pseudonyms";
    /// Credential issued by the national node.
    pub const NATIONAL_CREDENTIAL: &[u8] = b"national_credential";
    /// National directory position applied (downlink).
    pub const DOWNLINK_POSITION: &[u8] = b"downlink_position";
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub site_id: SiteId,
    /// sled's page cache, in bytes (sled's default of 1 GiB is far too much for a venue).
    pub cache_bytes: u64,
    /// How many change records the log keeps; older ones are pruned, and a reader asking
    /// for them gets [`StoreError::LogTruncated`].
    pub log_retention: u64,
    /// Size at which a write-ahead log file hands over to the other and a checkpoint
    /// starts ([`WAL_FILE_BYTES`] by default).
    pub wal_file_bytes: u64,
    /// Free space kept on the data directory's file system: below it, writes are refused
    /// with [`StoreError::DiskFull`] (nothing written), so that every answered write can
    /// still be applied and checkpointed.
    pub disk_reserve_bytes: u64,
    /// Told of every batch the writer runs and makes durable (a node's metrics).
    pub observer: Observer,
}

/// A [`WriteObserver`], or none.
#[derive(Clone, Default)]
pub struct Observer(pub Option<Arc<dyn WriteObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(..)"
        } else {
            "None"
        })
    }
}

/// The write-ahead log file size of a node by default, MiB.
pub const DEFAULT_WAL_FILE_MB: u64 = WAL_FILE_BYTES >> 20;
/// Free disk space a node keeps in reserve by default, MiB: room for a write-ahead log file
/// to grow to its size and for sled to add a segment and checkpoint.
pub const DEFAULT_DISK_RESERVE_MB: u64 = 64;

impl StoreConfig {
    pub fn new(path: impl Into<PathBuf>, site_id: SiteId) -> Self {
        StoreConfig {
            path: path.into(),
            site_id,
            cache_bytes: 4 << 20,
            log_retention: 1_000_000,
            wal_file_bytes: WAL_FILE_BYTES,
            disk_reserve_bytes: DEFAULT_DISK_RESERVE_MB << 20,
            observer: Observer::default(),
        }
    }
}

/// What `GetSiteInfo` reports.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    pub site_id: SiteId,
    pub epoch: String,
    /// Last durable change.
    pub last_seq: u64,
    pub first_retained_seq: u64,
    pub stats: Stats,
}

/// A request's answer, kept so that a retry with its id gets it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Answer {
    /// First, so that opening reads it alone (`index::RequestIndex::build`).
    pub request_id: String,
    /// Of the command, to refuse an id reused for another one.
    pub fingerprint: u64,
    pub outcome: Outcome,
}

/// An answer in the legacy `Requests` tree (keyed by its request id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredAnswer {
    pub fingerprint: u64,
    pub outcome: Outcome,
}

pub(crate) struct Inner {
    disk: Disk,
    trees: Vec<sled::Tree>,
    /// Held by the applier while it answers a durable batch and applies it to sled, and by
    /// every reader: readers see whole batches, and a client that got its answer reads
    /// its own write.
    gate: RwLock<()>,
    /// Batches durable in the log, not yet applied to sled, oldest first.
    pending: Mutex<std::collections::VecDeque<Arc<wal::Writes>>>,
    /// The in-memory indexes, changed by the applier with sled (under the gate); the
    /// writer reads the active registrations here too, past the pending batches.
    derived: RwLock<index::Derived>,
    /// Batches sent to the applier and not yet applied: with none, the writer applies a
    /// batch itself.
    applying: std::sync::atomic::AtomicUsize,
    site_id: SiteId,
    /// Changes only when the site finds that its data was restored from an old copy.
    epoch: RwLock<String>,
    pseudonym_key: Uuid,
    log_retention: u64,
    /// Sequence number of the last change on disk; watchers read the log up to it.
    durable: watch::Sender<u64>,
    /// The recent change records, for the watchers and the uplink (filled by the applier
    /// before `durable` moves), each with the slot for its `WatchChanges` answer.
    ring: ring::Ring<ring::Entry<Change>>,
    first_retained: AtomicU64,
    /// Set when a flush failed: from then on no write is acknowledged.
    poisoned: AtomicBool,
}

impl Inner {
    fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t as usize]
    }

    /// Writes outside the command batches, through the write-ahead log like them: on the
    /// writer thread, between two batches (see `Store::exclusive`), when none is pending.
    fn write_now(
        &self,
        f: impl FnOnce(&wal::TxTrees<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.disk.write_now(&self.trees, T::Meta as usize, f)
    }

    fn epoch(&self) -> String {
        self.epoch.read().map(|e| e.clone()).unwrap_or_default()
    }

    /// Keeps the writer from applying a batch while the caller reads.
    fn read_gate(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// A site's shareable state at one log position.
#[derive(Debug, Clone)]
pub struct SharedState {
    pub seq: u64,
    pub epoch: String,
    pub challenges: Vec<(Challenge, SeatPool)>,
    pub registrations: Vec<SharedRegistration>,
    pub participants: Vec<SharedParticipant>,
    /// The program, by start time.
    pub program: Vec<agora_model::ProgramItem>,
    /// The conferences as they leave the site (`shared::share_conference`), by id.
    pub conferences: Vec<agora_model::Conference>,
}

impl SharedState {
    pub fn digest(&self) -> String {
        shared::digest(
            self.challenges
                .iter()
                .map(|(c, p)| (c, shared::Counts::from_pool(p))),
            &self.registrations,
            &self.participants,
        )
    }
}

/// A node's database. Cheap to share behind an `Arc`; [`Store::close`] drains the writer.
pub struct Store {
    inner: Arc<Inner>,
    queue: mpsc::Sender<Msg<writer::Job>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("site_id", &self.inner.site_id)
            .field("epoch", &self.epoch())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the database of `cfg.site_id` in `cfg.path` and starts its writer.
    pub fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        // A compaction interrupted by a crash is finished before sled reads the directory.
        privacy::finish_swap(&cfg.path)?;
        let db = batch::open_db(&cfg.path, cfg.cache_bytes)?;
        let trees = T::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()?;
        let disk = Disk::open(
            db,
            &cfg.path,
            &trees,
            T::Meta as usize,
            cfg.wal_file_bytes,
            cfg.disk_reserve_bytes,
        )?
        .observed(cfg.observer.0.clone());
        let meta_tree = &trees[T::Meta as usize];
        let created = match meta_tree.get(meta::FORMAT)? {
            None => {
                init(&trees, &cfg.site_id)?;
                disk.sync()?;
                batch::sync_dir(&cfg.path)?;
                true
            }
            Some(v) if codec::readable(&v) => {
                if v.as_ref() != [FORMAT] {
                    // A format-2 database: its values stay readable; from now on it also
                    // holds format-3 ones, which the previous release must not open.
                    meta_tree.insert(meta::FORMAT, &[FORMAT])?;
                    disk.sync()?;
                }
                false
            }
            Some(v) => {
                return Err(StoreError::UnsupportedFormat {
                    path: cfg.path.clone(),
                    found: v.first().copied().unwrap_or(0),
                    supported: FORMAT,
                });
            }
        };
        let found: String = get_meta(meta_tree, meta::SITE_ID)?;
        if found != cfg.site_id.as_str() {
            return Err(StoreError::WrongSite {
                path: cfg.path.clone(),
                found,
                expected: cfg.site_id.to_string(),
            });
        }
        let mut epoch: String = get_meta(meta_tree, meta::EPOCH)?;
        let last_seq = get_u64(meta_tree, meta::LAST_SEQ)?;
        let first_seq = get_u64(meta_tree, meta::FIRST_SEQ)?;
        let pseudonym_key = match meta_tree.get(meta::PSEUDONYM_KEY)? {
            Some(v) => Uuid::from_slice(&v).map_err(|_| StoreError::Corrupt {
                tree: "meta",
                key: "pseudonym_key".into(),
                reason: "not a UUID".into(),
            })?,
            None => {
                // Databases made before pseudonyms existed get their key now.
                let key = Uuid::new_v4();
                disk.write_now(&trees, T::Meta as usize, |tx| {
                    tx.insert(T::Meta as usize, meta::PSEUDONYM_KEY, key.as_bytes());
                    Ok(())
                })?;
                key
            }
        };
        if meta_tree.get(meta::REGISTRATION_PSEUDONYMS)?.is_none() {
            // Made before registration ids went up as pseudonyms: the national replica
            // knows them by their own ids. A new epoch makes it rebuild this site's
            // replica under the pseudonyms instead of counting each registration twice.
            epoch = Uuid::new_v4().to_string();
            let v = encode(&epoch)?;
            disk.write_now(&trees, T::Meta as usize, |tx| {
                tx.insert(T::Meta as usize, meta::EPOCH, &v);
                tx.insert(T::Meta as usize, meta::REGISTRATION_PSEUDONYMS, &[1]);
                Ok(())
            })?;
            tracing::warn!(site = %cfg.site_id, %epoch, "registration ids now go up as pseudonyms: started a new log epoch");
        }
        let erased = privacy::pending(meta_tree)?;
        if !erased.is_empty() {
            // Erased participants' bytes may remain in sled's files and the log files:
            // rewrite what still names them, copy the database, swap the copy in, reopen.
            let rewrote = privacy::scrub(&trees, &disk, &erased, &[])?;
            disk.sync()?;
            privacy::copy(&disk.db, &cfg.path, cfg.cache_bytes)?;
            drop(trees);
            drop(disk);
            privacy::wait_for_unlock(&cfg.path)?;
            privacy::finish_swap(&cfg.path)?;
            info!(site = %cfg.site_id, erased = erased.len(), rewrote, "purged erased participants from the files");
            return Store::open(cfg);
        }
        // Databases written before these indexes moved to memory still hold their rows.
        for t in [T::Active, T::ByTarget, T::Tickets] {
            trees[t as usize].clear()?;
        }
        let (tickets, derived) = index::build(&trees[T::Registrations as usize])?;
        let requests = index::RequestIndex::build(
            &trees[T::Answers as usize],
            !trees[T::Requests as usize].is_empty(),
        )?;
        info!(
            site = %cfg.site_id, path = %cfg.path.display(), %epoch, last_seq, first_seq, created,
            registrations = tickets.len(), answers = requests.count(), "store opened"
        );
        let inner = Arc::new(Inner {
            disk,
            trees,
            gate: RwLock::new(()),
            pending: Mutex::new(std::collections::VecDeque::new()),
            derived: RwLock::new(derived),
            applying: std::sync::atomic::AtomicUsize::new(0),
            site_id: cfg.site_id.clone(),
            epoch: RwLock::new(epoch),
            pseudonym_key,
            log_retention: cfg.log_retention.max(1),
            durable: watch::Sender::new(last_seq),
            ring: ring::Ring::new(ring::RING_RECORDS, ring::SITE_RING_BYTES, last_seq),
            first_retained: AtomicU64::new(first_seq),
            poisoned: AtomicBool::new(false),
        });
        // Capacity: enough to keep the writer fed with full batches while it flushes, small
        // enough that a stalled disk pushes back on clients instead of growing memory.
        let (queue, rx) = mpsc::channel(writer::MAX_BATCH * 4);
        let index = index::WriterIndex { tickets, requests };
        let handle = writer::start(&inner, rx, index)?;
        Ok(Store {
            inner,
            queue,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// Applies `cmd` under `request_id` and answers once its change is durable. A retry
    /// with the same id (and the same command) gets the first answer again.
    ///
    /// `ForgetParticipant` leaves the person's data in older log records and stored
    /// answers until [`Store::scrub_erased`] (or the next open): [`Store::forget`] does both.
    pub async fn submit(&self, request_id: &str, cmd: Command) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = writer::Job::new(request_id, cmd, reply)?;
        self.queue
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Applies the commands in the order given, as [`Store::submit`] does each, but sends
    /// them all to the writer before waiting for the first answer, so that they share write
    /// batches (one fdatasync for many rather than one each); one answer per command.
    pub async fn submit_all(
        &self,
        cmds: Vec<(String, Command)>,
    ) -> Vec<Result<Outcome, StoreError>> {
        let mut sent = Vec::with_capacity(cmds.len());
        for (request_id, cmd) in cmds {
            let (reply, answer) = oneshot::channel();
            let queued = match writer::Job::new(&request_id, cmd, reply) {
                Ok(job) => self
                    .queue
                    .send(Msg::Job(job))
                    .await
                    .map(|()| answer)
                    .map_err(|_| StoreError::Closed),
                Err(e) => Err(e),
            };
            sent.push(queued);
        }
        let mut answers = Vec::with_capacity(sent.len());
        for queued in sent {
            answers.push(match queued {
                Ok(answer) => answer.await.unwrap_or(Err(StoreError::Closed)),
                Err(e) => Err(e),
            });
        }
        answers
    }

    /// `ForgetParticipant`, then [`Store::scrub_erased`]: answers once the person's data
    /// is gone from every row, log record and stored answer (the files follow at the next
    /// open).
    pub async fn forget(&self, request_id: &str, id: ParticipantId) -> Result<Outcome, StoreError> {
        // The name as it is before the erasure, for the free-text fields that hold it.
        let name = self
            .participant(id)?
            .map(|p| p.display_name)
            .filter(|n| !n.is_empty());
        let outcome = self
            .submit(request_id, Command::ForgetParticipant(id))
            .await?;
        self.scrub_erased(name.into_iter().collect()).await?;
        Ok(outcome)
    }

    /// Rewrites the log records and stored answers that still carry personal data of an
    /// erased participant (one pass over the log and the answers, however many were
    /// erased since the last open), and the feedback authors and next-action owners that
    /// are one of `names` (the erased participants' names, read before the erasure);
    /// returns how many rows it rewrote.
    pub async fn scrub_erased(&self, names: Vec<String>) -> Result<usize, StoreError> {
        self.exclusive(move |inner| {
            let ids = privacy::pending(inner.tree(T::Meta))?;
            let rewrote = privacy::scrub(&inner.trees, &inner.disk, &ids, &names)?;
            if rewrote > 0 {
                // The records held in memory may hold what was just removed.
                inner.ring.reset(*inner.durable.borrow());
            }
            Ok(rewrote)
        })
        .await
    }

    /// What retention needs: the latest end of the event's program items and conferences
    /// (none without either), and the participants not erased yet.
    pub fn retention_facts(&self) -> Result<(Option<i64>, Vec<Participant>), StoreError> {
        let _batch = self.inner.read_gate();
        let items: Vec<agora_model::ProgramItem> =
            scan(self.inner.tree(T::Program), T::Program, &[])?;
        let conferences: Vec<agora_model::Conference> =
            scan(self.inner.tree(T::Conferences), T::Conferences, &[])?;
        let last_end = items
            .iter()
            .map(|i| i.fields.end_ms)
            .chain(conferences.iter().map(|c| c.fields.end_ms))
            .max();
        let participants: Vec<Participant> =
            scan(self.inner.tree(T::Participants), T::Participants, &[])?;
        let live = participants
            .into_iter()
            .filter(|p| !p.is_erased())
            .collect();
        Ok((last_end, live))
    }

    /// Whether erased participants' bytes wait for the next open to leave the files.
    pub fn purge_pending(&self) -> Result<bool, StoreError> {
        let _batch = self.inner.read_gate();
        Ok(!privacy::pending(self.inner.tree(T::Meta))?.is_empty())
    }

    /// Stops accepting writes, lets the writer finish what it has, flushes, and waits for it.
    pub fn close(&self) {
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            // `try_send` can only fail if the queue is full or closed; then the writer sees
            // the channel close when this store is dropped.
            let _ = self.queue.try_send(Msg::Close);
            if handle.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }

    pub fn site_id(&self) -> &SiteId {
        &self.inner.site_id
    }

    /// Whether a write could be made now: refused after a failed write to disk (see the
    /// log), or while the disk's free space is below the reserve.
    pub fn writable(&self) -> Result<(), StoreError> {
        if self
            .inner
            .poisoned
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(StoreError::Poisoned("a write to disk failed".into()));
        }
        self.inner.disk.check_space()
    }

    /// Free bytes on the data directory's file system, for the node's metrics.
    pub fn free_disk_bytes(&self) -> Result<u64, StoreError> {
        self.inner.disk.free_bytes()
    }

    pub fn epoch(&self) -> String {
        self.inner.epoch()
    }

    /// Runs `f` on the writer thread between two batches: it sees the database with no
    /// write in progress, so what it reads is consistent with the durable log position.
    async fn exclusive<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply, answer) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let run: batch::Exclusive = Box::new(move || {
            let _ = reply.send(f(&inner));
        });
        self.queue
            .send(Msg::Exclusive(run))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The credential the national node issued to this site, if any.
    pub fn national_credential(&self) -> Result<Option<String>, StoreError> {
        let _batch = self.inner.read_gate();
        get(self.inner.tree(T::Meta), T::Meta, meta::NATIONAL_CREDENTIAL)
    }

    /// Keeps the credential the national node issued, durably.
    pub async fn set_national_credential(&self, credential: String) -> Result<(), StoreError> {
        self.exclusive(move |inner| {
            let v = encode(&credential)?;
            inner.write_now(|tx| {
                tx.insert(T::Meta as usize, meta::NATIONAL_CREDENTIAL, &v);
                Ok(())
            })
        })
        .await
    }

    /// The national directory position this site durably applied.
    pub fn downlink_position(&self) -> Result<u64, StoreError> {
        let _batch = self.inner.read_gate();
        self.downlink_position_row()
    }

    fn downlink_position_row(&self) -> Result<u64, StoreError> {
        match self.inner.tree(T::Meta).get(meta::DOWNLINK_POSITION)? {
            Some(v) => u64_of("meta", meta::DOWNLINK_POSITION, &v),
            None => Ok(0),
        }
    }

    /// Applies a downlink message from the national node, durably: with `reset`, the
    /// directory is replaced; otherwise entries are upserted in order.
    pub async fn apply_downlink(
        &self,
        position: u64,
        reset: bool,
        entries: Vec<DirectoryEntry>,
    ) -> Result<(), StoreError> {
        self.exclusive(move |inner| {
            let tree = inner.tree(T::Directory);
            let dir = T::Directory as usize;
            inner.write_now(|tx| {
                if reset {
                    for k in tree.iter().keys() {
                        tx.remove(dir, &k?);
                    }
                }
                // Remote asks and answers are commands for this site (the uplink submits
                // them before this), not directory data.
                for e in entries.iter().filter(|e| e.addressed_to().is_none()) {
                    match e {
                        DirectoryEntry::DropSiteChallenges(site) => {
                            for kind in [3, 8] {
                                let prefix =
                                    codec::join(&[kind], &codec::join(site.as_bytes(), &[0]));
                                for k in tree.scan_prefix(&prefix).keys() {
                                    tx.remove(dir, &k?);
                                }
                            }
                        }
                        DirectoryEntry::RemoteChallenge { remote: false, .. } => {
                            tx.remove(dir, &directory_key(e));
                        }
                        other => tx.insert(dir, &directory_key(other), &encode(other)?),
                    }
                }
                tx.insert(
                    T::Meta as usize,
                    meta::DOWNLINK_POSITION,
                    &u64_key(position),
                );
                Ok(())
            })
        })
        .await
    }

    /// The national directory as last received, with its position.
    pub fn directory(&self) -> Result<(u64, Vec<DirectoryEntry>), StoreError> {
        let _batch = self.inner.read_gate();
        Ok((
            self.downlink_position_row()?,
            scan(self.inner.tree(T::Directory), T::Directory, &[])?,
        ))
    }

    /// The directory's entry for `site`'s défi `number`, if listed: one key read (a desk's
    /// remote registration checks it on every call).
    pub fn directory_challenge(
        &self,
        site: &str,
        number: u32,
    ) -> Result<Option<agora_model::shared::ReplicaChallenge>, StoreError> {
        let _batch = self.inner.read_gate();
        let key = challenge_key(site, number);
        let entry: Option<DirectoryEntry> = get(self.inner.tree(T::Directory), T::Directory, &key)?;
        match entry {
            Some(DirectoryEntry::Challenge { challenge, .. }) => Ok(Some(challenge)),
            Some(_) => Err(StoreError::Inconsistent {
                what: "directory",
                key: format!("{site}/{number}"),
            }),
            None => Ok(None),
        }
    }

    /// Starts a new log epoch, durably: for a site whose data was restored from an old copy
    /// (its log is behind what it once published), so that downstream replicas rebuild it
    /// instead of mixing two histories. The log itself keeps its sequence numbers.
    pub async fn rotate_epoch(&self) -> Result<String, StoreError> {
        self.exclusive(|inner| {
            let epoch = Uuid::new_v4().to_string();
            let v = encode(&epoch)?;
            inner.write_now(|tx| {
                tx.insert(T::Meta as usize, meta::EPOCH, &v);
                Ok(())
            })?;
            if let Ok(mut e) = inner.epoch.write() {
                e.clone_from(&epoch);
            }
            tracing::warn!(site = %inner.site_id, %epoch, "started a new log epoch");
            Ok(epoch)
        })
        .await
    }

    /// The site's shareable state (as federation sends it) at one log position, read
    /// between two write batches.
    pub async fn shared_state(&self) -> Result<SharedState, StoreError> {
        self.exclusive(|inner| inner.shared_state()).await
    }

    /// A consistent copy of the database into `to` (which must not exist), taken between
    /// two write batches (writes wait while it is made): a data directory a node opens as
    /// it is, holding every answered write up to the returned state's position, whose
    /// digest the state gives.
    pub async fn backup_into(&self, to: PathBuf) -> Result<SharedState, StoreError> {
        self.exclusive(move |inner| {
            if to.exists() {
                return Err(StoreError::io(
                    format!("backing up into {}", to.display()),
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
            privacy::copy_trees(&inner.disk.db, &to, 4 << 20)?;
            inner.shared_state()
        })
        .await
    }
}

impl Inner {
    /// What the site shares, read as it is now (callers hold the writer: `exclusive`).
    fn shared_state(&self) -> Result<SharedState, StoreError> {
        let inner = self;
        {
            let key = inner.pseudonym_key;
            let challenges: Vec<Challenge> = scan(inner.tree(T::Challenges), T::Challenges, &[])?;
            let challenges = challenges
                .into_iter()
                .map(|c| {
                    let pool: SeatPool = get(
                        inner.tree(T::Pools),
                        T::Pools,
                        &target_key(Target::Challenge(c.number)),
                    )?
                    .unwrap_or_default();
                    Ok((shared::share_challenge(&c), pool))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let registrations: Vec<Registration> =
                scan(inner.tree(T::Registrations), T::Registrations, &[])?;
            let participants: Vec<Participant> =
                scan(inner.tree(T::Participants), T::Participants, &[])?;
            let conferences: Vec<agora_model::Conference> =
                scan(inner.tree(T::Conferences), T::Conferences, &[])?;
            Ok(SharedState {
                program: scan(inner.tree(T::Program), T::Program, &[])?,
                conferences: conferences
                    .iter()
                    .map(|c| shared::share_conference(&key, c))
                    .collect(),
                seq: *inner.durable.borrow(),
                epoch: inner.epoch(),
                challenges,
                registrations: registrations
                    .iter()
                    .filter(|r| shared::is_shared(r))
                    .map(|r| shared::share_registration(&key, r))
                    .collect(),
                participants: participants
                    .iter()
                    .map(|p| shared::share_participant(&key, p))
                    .collect(),
            })
        }
    }
}

impl Store {
    /// Up to `limit` durable change records after `after`, as they may leave the site
    /// (`shared::share_change`): the uplink gets nothing else. Same errors as
    /// [`Store::read_log`].
    pub fn read_shared_log(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SharedChange>, StoreError> {
        if let Some(recent) = self.recent_shared_log(after, limit) {
            return Ok(recent);
        }
        let key = self.inner.pseudonym_key;
        Ok(self
            .read_log(after, limit)?
            .iter()
            .map(|c| shared::share_change(&key, c))
            .collect())
    }

    /// [`Store::read_shared_log`] from memory only (never blocks on the disk); `None` when
    /// `after` is older than what memory holds.
    pub fn recent_shared_log(&self, after: u64, limit: usize) -> Option<Vec<SharedChange>> {
        let key = self.inner.pseudonym_key;
        let recent = self.recent_log(after, limit)?;
        Some(
            recent
                .iter()
                .map(|c| shared::share_change(&key, c))
                .collect(),
        )
    }

    /// Up to `limit` durable change records after `after` from memory, shared; `None`
    /// when `after` is older than what memory holds: [`Store::read_log`] reads the disk.
    /// Never blocks on the disk. Each record is a [`ring::Entry`], whose bytes on the wire
    /// every watcher shares.
    pub fn recent_log(&self, after: u64, limit: usize) -> Option<Vec<Arc<ring::Entry<Change>>>> {
        self.inner.ring.after(after, limit)
    }

    /// Follows the sequence number of the last durable change.
    pub fn durable_seq(&self) -> watch::Receiver<u64> {
        self.inner.durable.subscribe()
    }

    pub fn info(&self) -> Result<StoreInfo, StoreError> {
        let _batch = self.inner.read_gate();
        let tree = self.inner.tree(T::Meta);
        let stats = match tree.get(rows::STATS_KEY)? {
            Some(v) => decode("meta", rows::STATS_KEY, &v)?,
            None => Stats::default(),
        };
        Ok(StoreInfo {
            site_id: self.inner.site_id.clone(),
            epoch: self.inner.epoch(),
            last_seq: *self.inner.durable.borrow(),
            first_retained_seq: self.inner.first_retained.load(Ordering::Acquire),
            stats,
        })
    }

    /// A request this site made for another site's défi, by its request id.
    pub fn remote_request(&self, request_id: &str) -> Result<Option<RemoteRequest>, StoreError> {
        let _batch = self.inner.read_gate();
        get(
            self.inner.tree(T::RemoteRequests),
            T::RemoteRequests,
            request_id.as_bytes(),
        )
    }

    /// The lease a remote request of this site was confirmed from.
    pub fn leased_request(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        let _batch = self.inner.read_gate();
        get(
            self.inner.tree(T::Leases),
            T::Leases,
            &codec::join(b"r", request_id.as_bytes()),
        )
    }

    /// Seats the leases this site granted on its défi `challenge` hold at `now_ms`.
    pub fn held(&self, challenge: u32, now_ms: i64) -> Result<u32, StoreError> {
        let _batch = self.inner.read_gate();
        let prefix = rows::lease_prefix("", challenge);
        let leases: Vec<agora_model::lease::Lease> =
            scan(self.inner.tree(T::Leases), T::Leases, &prefix)?;
        Ok(agora_model::lease::held(&leases, now_ms))
    }

    /// Every seat lease this site holds or granted.
    pub fn leases(&self) -> Result<Vec<agora_model::lease::Lease>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(self.inner.tree(T::Leases), T::Leases, b"l")
    }

    /// The request once its owner's answer is here, or as it stands after `wait`.
    pub async fn remote_answer(
        &self,
        request_id: &str,
        wait: std::time::Duration,
    ) -> Result<Option<RemoteRequest>, StoreError> {
        self.settled(
            wait,
            |s| s.remote_request(request_id),
            |r| r.state == RemoteState::Pending,
        )
        .await
    }

    /// What `read` finds once `pending` no longer holds for it, or as it stands after
    /// `wait` (`None` if it is not there): an answer that arrives from another node (a
    /// remote request's, a seat lease's) comes in a write batch of this store, and every
    /// batch wakes the wait once it is applied, so no answer is missed and none polled for.
    pub async fn settled<T>(
        &self,
        wait: std::time::Duration,
        read: impl Fn(&Store) -> Result<Option<T>, StoreError>,
        pending: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut durable = self.durable_seq();
        loop {
            // Marked seen before the read: a batch applied after it wakes `changed`.
            durable.borrow_and_update();
            let found = read(self)?;
            if found.as_ref().is_none_or(|v| !pending(v)) {
                return Ok(found);
            }
            tokio::select! {
                changed = durable.changed() => if changed.is_err() { return Ok(found) },
                () = tokio::time::sleep_until(deadline) => return Ok(found),
            }
        }
    }

    /// The participant's latest request for another site's défi, if any.
    pub fn remote_request_of(
        &self,
        participant: ParticipantId,
    ) -> Result<Option<RemoteRequest>, StoreError> {
        let _batch = self.inner.read_gate();
        let id: Option<String> = get(
            self.inner.tree(T::RemoteOf),
            T::RemoteOf,
            participant.as_bytes(),
        )?;
        match id {
            Some(id) => get(
                self.inner.tree(T::RemoteRequests),
                T::RemoteRequests,
                id.as_bytes(),
            ),
            None => Ok(None),
        }
    }

    /// Whether the challenge takes registrations from other sites.
    pub fn is_remote(&self, challenge: u32) -> Result<bool, StoreError> {
        let _batch = self.inner.read_gate();
        Ok(self
            .inner
            .tree(T::RemoteChallenges)
            .contains_key(challenge.to_be_bytes())?)
    }

    pub fn themes(&self) -> Result<Vec<Theme>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(self.inner.tree(T::Themes), T::Themes, &[])
    }

    pub fn challenge(&self, number: u32) -> Result<Option<(Challenge, SeatPool)>, StoreError> {
        let _batch = self.inner.read_gate();
        match get(
            self.inner.tree(T::Challenges),
            T::Challenges,
            &number.to_be_bytes(),
        )? {
            Some(c) => Ok(Some((c, self.pool_row(Target::Challenge(number))?))),
            None => Ok(None),
        }
    }

    /// Every challenge, by number, with its seats.
    pub fn challenges(&self) -> Result<Vec<(Challenge, SeatPool)>, StoreError> {
        let _batch = self.inner.read_gate();
        let all: Vec<Challenge> = scan(self.inner.tree(T::Challenges), T::Challenges, &[])?;
        all.into_iter()
            .map(|c| {
                let pool = self.pool_row(Target::Challenge(c.number))?;
                Ok((c, pool))
            })
            .collect()
    }

    pub fn pool(&self, t: Target) -> Result<SeatPool, StoreError> {
        let _batch = self.inner.read_gate();
        self.pool_row(t)
    }

    pub(crate) fn pool_row(&self, t: Target) -> Result<SeatPool, StoreError> {
        get(self.inner.tree(T::Pools), T::Pools, &target_key(t))?.ok_or_else(|| {
            StoreError::Inconsistent {
                what: "seat pool of",
                key: t.to_string(),
            }
        })
    }

    pub fn participant(&self, id: ParticipantId) -> Result<Option<Participant>, StoreError> {
        let _batch = self.inner.read_gate();
        get(
            self.inner.tree(T::Participants),
            T::Participants,
            id.as_bytes(),
        )
    }

    /// Participants whose name, organisation or email holds every word of `query` (folded:
    /// accents and case ignored), by creation order, at most `limit`: the desk's search. A
    /// scan of the participants (a site has a few thousand); run it off the async threads.
    pub fn find_participants(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Participant>, StoreError> {
        let words: Vec<String> = agora_model::text::fold(query)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let _batch = self.inner.read_gate();
        let mut out = Vec::new();
        for kv in self.inner.tree(T::Participants).iter() {
            let (k, v) = kv?;
            let p: Participant = decode(T::Participants.name(), &k, &v)?;
            let text = agora_model::text::fold(&format!(
                "{} {} {}",
                p.display_name,
                p.organisation,
                p.email.as_deref().unwrap_or_default()
            ));
            if words.iter().all(|w| text.contains(w.as_str())) {
                out.push(p);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The 1-based place of a waitlisted registration in its waiting list; `None` when it
    /// is not waiting.
    pub fn position_of(&self, r: &Registration) -> Result<Option<u32>, StoreError> {
        r.wait_slot
            .map(|slot| self.waitlist_position(r.target, slot))
            .transpose()
    }

    pub fn registration(&self, id: RegistrationId) -> Result<Option<Registration>, StoreError> {
        let _batch = self.inner.read_gate();
        self.registration_row(id)
    }

    fn registration_row(&self, id: RegistrationId) -> Result<Option<Registration>, StoreError> {
        get(
            self.inner.tree(T::Registrations),
            T::Registrations,
            id.as_bytes(),
        )
    }

    /// The participant's active (confirmed or waitlisted) challenge registration.
    pub fn active_registration(
        &self,
        p: ParticipantId,
    ) -> Result<Option<Registration>, StoreError> {
        let _batch = self.inner.read_gate();
        let active = index::read(&self.inner.derived).active(p);
        match active {
            Some(id) => {
                let r = self.registration_row(id)?;
                r.map(Some).ok_or_else(|| StoreError::Inconsistent {
                    what: "active registration",
                    key: id.to_string(),
                })
            }
            None => Ok(None),
        }
    }

    /// Every registration of a target, cancelled ones included, in creation order.
    pub fn registrations_of(&self, t: Target) -> Result<Vec<Registration>, StoreError> {
        let _batch = self.inner.read_gate();
        self.registrations_of_rows(t)
    }

    pub(crate) fn registrations_of_rows(&self, t: Target) -> Result<Vec<Registration>, StoreError> {
        let ids = index::read(&self.inner.derived).of_target(t).to_vec();
        ids.into_iter()
            .map(|id| {
                self.registration_row(id)?
                    .ok_or_else(|| StoreError::Inconsistent {
                        what: "registration",
                        key: id.to_string(),
                    })
            })
            .collect()
    }

    /// 1-based place in the waiting list of the registration waiting at `slot`.
    pub fn waitlist_position(&self, t: Target, slot: u64) -> Result<u32, StoreError> {
        let _batch = self.inner.read_gate();
        let prefix = target_key(t);
        let ahead = self
            .inner
            .tree(T::Waiters)
            .range(
                codec::join(&prefix, &0u64.to_be_bytes())
                    ..codec::join(&prefix, &slot.to_be_bytes()),
            )
            .count();
        Ok(u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1))
    }

    /// Whether reading from `after` is possible: [`StoreError::LogTruncated`] if the
    /// records after it are no longer retained.
    pub fn check_position(&self, after: u64) -> Result<(), StoreError> {
        let first_retained = self.inner.first_retained.load(Ordering::Acquire);
        if after + 1 < first_retained {
            return Err(StoreError::LogTruncated {
                after,
                first_retained,
            });
        }
        Ok(())
    }

    /// Up to `limit` (at least one) durable change records with `seq > after`, in order.
    /// Fails with [`StoreError::LogTruncated`] if `after + 1` is no longer retained: never
    /// a gap.
    pub fn read_log(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let _batch = self.inner.read_gate();
        let durable = *self.inner.durable.borrow();
        let truncated = || StoreError::LogTruncated {
            after,
            first_retained: self.inner.first_retained.load(Ordering::Acquire),
        };
        self.check_position(after)?;
        let mut out = Vec::new();
        if after >= durable {
            return Ok(out);
        }
        let limit = limit.max(1);
        let range = u64_key(after + 1)..=u64_key(durable);
        for kv in self.inner.tree(T::Log).range(range).take(limit) {
            let (k, v) = kv?;
            let change = codec::decode_change(&k, &v)?;
            // Pruning may run between the check above and this scan: the first record
            // read must be exactly the next one, and every later one must follow it.
            if change.seq != after + 1 + out.len() as u64 {
                return Err(truncated());
            }
            out.push(change);
        }
        if out.is_empty() {
            return Err(truncated());
        }
        Ok(out)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

/// Key of a directory entry: kind byte, then its id.
fn directory_key(e: &DirectoryEntry) -> Vec<u8> {
    match e {
        DirectoryEntry::Site(s) => codec::join(&[1], s.id.as_bytes()),
        DirectoryEntry::Theme(t) => codec::join(&[2], t.id.as_bytes()),
        DirectoryEntry::Challenge { site, challenge } => {
            challenge_key(site, challenge.challenge.number)
        }
        DirectoryEntry::Announcement(a) => codec::join(&[4], &a.id.to_be_bytes()),
        DirectoryEntry::DropSiteChallenges(site) => codec::join(&[5], site.as_bytes()),
        // Never stored (`Store::apply_downlink` skips them): keyed for completeness.
        DirectoryEntry::RemoteAsk { ask, .. } => codec::join(&[6], ask.request_id.as_bytes()),
        DirectoryEntry::RemoteAnswer { answer, .. } => {
            codec::join(&[7], answer.request_id.as_bytes())
        }
        DirectoryEntry::Lease { msg, .. } => codec::join(&[9], msg.lease.lease_id.as_bytes()),
        DirectoryEntry::RemoteChallenge {
            site, challenge, ..
        } => codec::join(
            &[8],
            &codec::join(
                &codec::join(site.as_bytes(), &[0]),
                &challenge.to_be_bytes(),
            ),
        ),
    }
}

/// A listed défi's directory key: by site, then number.
fn challenge_key(site: &str, number: u32) -> Vec<u8> {
    codec::join(
        &[3],
        &codec::join(&codec::join(site.as_bytes(), &[0]), &number.to_be_bytes()),
    )
}

/// Writes what a new database starts with: identity, the default themes, and change 1
/// recording them.
fn init(trees: &[sled::Tree], site_id: &SiteId) -> Result<(), StoreError> {
    let themes = default_themes();
    let epoch = uuid::Uuid::new_v4().to_string();
    let mut first = Change {
        seq: 1,
        at_ms: writer::now_ms(),
        request_id: "init".into(),
        events: themes.iter().cloned().map(Event::ThemeAdded).collect(),
        hash: None,
    };
    let mut batch = sled::Batch::default();
    for t in &themes {
        batch.insert(t.id.as_bytes(), encode(t)?);
    }
    trees[T::Themes as usize].apply_batch(batch)?;
    trees[T::Log as usize].insert(u64_key(1), codec::chain_change(None, &mut first)?)?;
    let m = &trees[T::Meta as usize];
    m.insert(meta::SITE_ID, encode(&site_id.to_string())?)?;
    m.insert(meta::EPOCH, encode(&epoch)?)?;
    m.insert(meta::LAST_SEQ, &u64_key(1))?;
    m.insert(meta::FIRST_SEQ, &u64_key(1))?;
    m.insert(meta::PSEUDONYM_KEY, Uuid::new_v4().as_bytes())?;
    m.insert(meta::REGISTRATION_PSEUDONYMS, &[1])?;
    // Written last: a database without it is re-initialised on the next open.
    m.insert(meta::FORMAT, &[FORMAT])?;
    Ok(())
}

fn get<V: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    t: T,
    key: &[u8],
) -> Result<Option<V>, StoreError> {
    match tree.get(key)? {
        Some(v) => decode(t.name(), key, &v).map(Some),
        None => Ok(None),
    }
}

fn scan<V: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    t: T,
    prefix: &[u8],
) -> Result<Vec<V>, StoreError> {
    tree.scan_prefix(prefix)
        .map(|kv| {
            let (k, v) = kv?;
            decode(t.name(), &k, &v)
        })
        .collect()
}

fn get_meta<V: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: &'static [u8],
) -> Result<V, StoreError> {
    get(tree, T::Meta, key)?.ok_or_else(|| StoreError::Inconsistent {
        what: "meta",
        key: String::from_utf8_lossy(key).into_owned(),
    })
}

fn get_u64(tree: &sled::Tree, key: &'static [u8]) -> Result<u64, StoreError> {
    match tree.get(key)? {
        Some(v) => u64_of("meta", key, &v),
        None => Err(StoreError::Inconsistent {
            what: "meta",
            key: String::from_utf8_lossy(key).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;
