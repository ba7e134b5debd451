//! The single writer: drains a batch of requests, computes their writes in memory,
//! appends them to the write-ahead log and fdatasyncs once, applies them to sled, then
//! answers each request (group commit).
//!
//! Why one thread: the rules read what they change (seats, waiting lists, counters), so
//! concurrent writers would conflict on every hot row; one writer with batches checks them
//! in order with one device wait per batch, and the hottest challenge costs what any other
//! does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};

use agora_model::{
    ApplyError, Change, Command, DomainError, Fresh, Outcome, TicketCode, apply, limits,
};

use crate::batch::{self, Msg};
use crate::codec::{self, encode, u64_key, u64_of};
use crate::index::{self, Added, NewAnswer, RequestIndex, WriterIndex};
use crate::rows::{TxError, TxRows};
use crate::wal::{TxTrees, Writes};
use crate::{Answer, Inner, StoreError, StoredAnswer, T, meta};

/// Most requests applied in one transaction: bounds the transaction's memory and the wait
/// of the first request in a batch.
pub const MAX_BATCH: usize = 512;

/// Most log records pruned per batch, so pruning never makes one batch slow.
const PRUNE_PER_BATCH: u64 = 1024;

/// Ticket codes drawn per registration; all of them colliding with existing tickets is
/// vanishingly unlikely (22^6 ≈ 113 million codes).
const TICKET_CANDIDATES: usize = 4;

type Reply = oneshot::Sender<Result<Outcome, StoreError>>;

pub struct Job {
    request_id: String,
    fingerprint: u64,
    cmd: Command,
    reply: Reply,
}

impl Job {
    pub fn new(request_id: &str, cmd: Command, reply: Reply) -> Result<Job, StoreError> {
        check_request_id(request_id)?;
        // Under the format byte the fingerprints were made with, so that a retry across the
        // upgrade to format 3 still matches its stored answer (a command naming people, whose
        // layout changed, does not).
        let mut bytes = encode(&cmd)?;
        bytes[0] = codec::FORMAT_2;
        let fingerprint = agora_model::fnv1a(&bytes);
        Ok(Job {
            request_id: request_id.to_owned(),
            fingerprint,
            cmd,
            reply,
        })
    }
}

fn check_request_id(id: &str) -> Result<(), StoreError> {
    let rule = if id.is_empty() {
        "is required on every mutating request (any unique string, e.g. a UUID)".to_owned()
    } else if id.len() > limits::MAX_REQUEST_ID {
        format!("must hold at most {} characters", limits::MAX_REQUEST_ID)
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        "must be printable ASCII without spaces".to_owned()
    } else {
        return Ok(());
    };
    Err(DomainError::invalid("request_id", rule).into())
}

/// Wall-clock time in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Batches durable in the log but not yet applied to sled, at most: the writer waits for
/// the applier beyond this.
const APPLY_QUEUE: usize = 2;

/// Work for the applier thread, in commit order.
enum Apply {
    Batch(Durable),
    /// Answered once every batch before it is applied.
    Barrier(std::sync::mpsc::SyncSender<()>),
}

/// A batch that is durable in the write-ahead log.
struct Durable {
    writes: Option<Arc<Writes>>,
    replies: Vec<(Reply, Result<Outcome, StoreError>)>,
    last_seq: u64,
    first_seq: u64,
    /// The batch's change records, for the watchers' ring, each with its size in the log.
    changes: Vec<(Change, usize)>,
}

/// Starts the writer and applier threads; the writer's handle returns once both stopped.
///
/// Two threads share the work of a batch: the writer runs the rules (reading through the
/// batches not yet applied) and makes the batch durable in the write-ahead log; the
/// applier answers the requests and applies the writes to sled, while the writer goes on
/// with the next batch.
pub fn start(
    inner: &Arc<Inner>,
    rx: mpsc::Receiver<Msg<Job>>,
    index: WriterIndex,
) -> Result<JoinHandle<()>, StoreError> {
    let (to_applier, applier_rx) = std::sync::mpsc::sync_channel(APPLY_QUEUE);
    let a = Arc::clone(inner);
    let applier = std::thread::Builder::new()
        .name("agora-store-apply".into())
        .spawn(move || {
            for work in applier_rx {
                match work {
                    Apply::Batch(d) => {
                        a.apply(d);
                        a.applying.fetch_sub(1, Ordering::Release);
                    }
                    Apply::Barrier(done) => drop(done.send(())),
                }
            }
        })
        .map_err(|e| StoreError::io("starting the applier thread", e))?;
    let w = Arc::clone(inner);
    std::thread::Builder::new()
        .name("agora-store-writer".into())
        .spawn(move || run(&w, rx, to_applier, applier, index))
        .map_err(|e| StoreError::io("starting the writer thread", e))
}

/// The writer thread's loop; returns when the store closes.
fn run(
    inner: &Inner,
    rx: mpsc::Receiver<Msg<Job>>,
    to_applier: std::sync::mpsc::SyncSender<Apply>,
    applier: JoinHandle<()>,
    mut index: WriterIndex,
) {
    let mut entropy = Entropy::new();
    let settle = || {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if to_applier.send(Apply::Barrier(done)).is_ok() {
            let _ = wait.recv();
        }
    };
    batch::run_batches(
        rx,
        MAX_BATCH,
        |jobs| inner.process(jobs, &to_applier, &mut entropy, &mut index),
        settle,
        |j| {
            let _ = j.reply.send(Err(StoreError::Closed));
        },
    );
    drop(to_applier);
    if applier.join().is_err() {
        error!("the applier thread panicked");
    }
    if let Err(e) = inner.disk.sync() {
        error!(error = %e, "final flush failed");
    }
    debug!("store writer stopped");
}

/// What one committed batch did.
struct Committed {
    answers: Vec<Result<Outcome, StoreError>>,
    /// The writes, for the write-ahead log and then sled.
    writes: Option<Writes>,
    last_seq: u64,
    first_seq: u64,
    /// What the batch adds to the writer's index once it is durable.
    added: Added,
    /// The change records appended, in order, each with its size in the log.
    changes: Vec<(Change, usize)>,
}

impl Inner {
    fn process(
        &self,
        jobs: &mut Vec<Job>,
        applier: &std::sync::mpsc::SyncSender<Apply>,
        entropy: &mut Entropy,
        index: &mut WriterIndex,
    ) {
        if self.poisoned.load(Ordering::Acquire) {
            for j in jobs.drain(..) {
                let _ = j.reply.send(Err(StoreError::Poisoned(
                    "see the first error in the log".into(),
                )));
            }
            return;
        }
        let now = now_ms();
        let fresh: Vec<Fresh> = jobs
            .iter()
            .map(|j| fresh_for(&j.cmd, now, entropy))
            .collect();
        if let Some(o) = self.disk.observer() {
            o.batch(jobs.len());
        }
        let pending: Vec<Arc<Writes>> = self.pending().iter().cloned().collect();
        let result = self.disk.next_batch().and_then(|batch| {
            let mut c = self.commit(jobs, &fresh, batch, &pending, index)?;
            let writes = match c.writes.take() {
                Some(w) => {
                    self.disk.commit(&w)?;
                    let added = std::mem::take(&mut c.added);
                    index.extend(added, |job| &jobs[job].request_id);
                    let w = Arc::new(w);
                    self.pending().push_back(Arc::clone(&w));
                    Some(w)
                }
                None => None,
            };
            Ok((c, writes))
        });
        match result {
            Ok((c, writes)) => {
                let durable = Durable {
                    writes,
                    replies: jobs.drain(..).map(|j| j.reply).zip(c.answers).collect(),
                    last_seq: c.last_seq,
                    first_seq: c.first_seq,
                    changes: c.changes,
                };
                if self.applying.load(Ordering::Acquire) == 0 {
                    // The applier has nothing to do: applying here spares a lone request
                    // one thread wake-up (docs/BENCHMARKS.md item 15).
                    self.apply(durable);
                    return;
                }
                self.applying.fetch_add(1, Ordering::AcqRel);
                if let Err(std::sync::mpsc::SendError(Apply::Batch(d))) =
                    applier.send(Apply::Batch(durable))
                {
                    // Only if the applier died: the batch is durable and replays on restart.
                    self.poisoned.store(true, Ordering::Release);
                    for (reply, _) in d.replies {
                        let _ = reply.send(Err(StoreError::Poisoned("the applier stopped".into())));
                    }
                }
            }
            Err(e) => {
                match e {
                    StoreError::Io { .. } | StoreError::Sled(_) => {
                        error!(error = %e, "writing to disk failed; refusing further writes");
                        self.poisoned.store(true, Ordering::Release);
                    }
                    // Nothing written; writes resume once space is back.
                    StoreError::DiskFull { .. } => warn!(error = %e, "write refused"),
                    _ => error!(error = %e, "batch aborted"),
                }
                for j in jobs.drain(..) {
                    let _ = j.reply.send(Err(e.clone()));
                }
            }
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Arc<Writes>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// On the applier thread: answers a durable batch and applies it to sled. Readers wait
    /// at the gate meanwhile, so that a client that got its answer reads its own write.
    fn apply(&self, d: Durable) {
        let gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        for (reply, answer) in d.replies {
            // The client may have gone; its change stays committed.
            let _ = reply.send(answer);
        }
        if let Some(w) = &d.writes {
            if let Err(e) = self
                .disk
                .apply(w, &self.trees)
                .and_then(|()| index::write(&self.derived).apply(w))
            {
                // The batch is in the log and replays when the store opens again; until
                // then readers keep seeing what sled holds, and the published position
                // stays there (the feed and `last_seq` agree).
                error!(error = %e, "applying a durable batch to sled failed; refusing further writes until a restart");
                self.poisoned.store(true, Ordering::Release);
                return;
            }
            self.pending().pop_front();
        }
        self.first_retained.store(d.first_seq, Ordering::Release);
        if let Some(first) = d.changes.first().map(|(c, _)| c.seq) {
            // Before the position moves: a watcher woken by it finds them here.
            self.ring.extend(
                first,
                d.changes
                    .into_iter()
                    .map(|(c, weight)| (crate::ring::Entry::new(c), weight)),
            );
        }
        self.durable.send_if_modified(|seq| {
            let changed = *seq != d.last_seq;
            *seq = d.last_seq;
            changed
        });
        drop(gate);
    }

    /// Applies the batch in one transaction. Refused commands get their error in
    /// `answers` and write nothing; a storage error aborts the whole batch.
    fn commit(
        &self,
        jobs: &[Job],
        fresh: &[Fresh],
        batch: u64,
        pending: &[Arc<Writes>],
        index: &WriterIndex,
    ) -> Result<Committed, StoreError> {
        let requests = &index.requests;
        {
            let tx = TxTrees::new(&self.trees, pending, index::IN_MEMORY);
            let mut rows = TxRows {
                tx: &tx,
                derived: &self.derived,
                tickets: &index.tickets,
                new_tickets: Vec::new(),
            };
            let meta_u64 = |key: &'static [u8]| -> Result<u64, TxError> {
                let v = rows.raw(T::Meta, key)?.unwrap_or_default();
                u64_of("meta", key, &v)
            };
            let mut last_seq = meta_u64(meta::LAST_SEQ)?;
            let mut first_seq = meta_u64(meta::FIRST_SEQ)?;
            let mut answers = Vec::with_capacity(jobs.len());
            let mut changes = Vec::new();
            let mut new_answers: Vec<NewAnswer> = Vec::new();
            let mut wrote = false;
            // The log hash of the last change appended, once read or made in this batch.
            let mut chain: Option<Option<u64>> = None;
            for (i, (job, fresh)) in jobs.iter().zip(fresh).enumerate() {
                let hash = requests.hash(&job.request_id);
                let in_batch = new_answers.iter().filter(|a| a.hash == hash);
                let numbers = in_batch.map(|a| a.number);
                let numbers = numbers.chain(requests.candidates(hash, &job.request_id));
                if let Some(prev) = answer_of(&rows, requests, numbers, &job.request_id)? {
                    answers.push(if prev.0 == job.fingerprint {
                        Ok(prev.1)
                    } else {
                        Err(StoreError::RequestIdReused(job.request_id.clone()))
                    });
                    continue;
                }
                match apply(&mut rows, &job.cmd, fresh) {
                    Ok((outcome, events)) => {
                        for e in &events {
                            if let agora_model::Event::ParticipantErased(id) = e {
                                // Same batch as the erasure: the purge is never forgotten.
                                let key = crate::privacy::PURGE_PENDING;
                                let mut ids: Vec<agora_model::ParticipantId> =
                                    rows.get(T::Meta, key)?.unwrap_or_default();
                                if !ids.contains(id) {
                                    ids.push(*id);
                                }
                                rows.put(T::Meta, key, &ids)?;
                            }
                        }
                        if !events.is_empty() {
                            last_seq += 1;
                            let mut change = Change {
                                seq: last_seq,
                                at_ms: fresh.now_ms,
                                request_id: job.request_id.clone(),
                                events,
                                hash: None,
                            };
                            let previous = match chain {
                                Some(h) => h,
                                None => previous_hash(&rows, last_seq - 1)?,
                            };
                            let value = codec::chain_change(previous, &mut change)?;
                            chain = Some(change.hash);
                            rows.put_raw(T::Log, &u64_key(last_seq), &value)?;
                            // The change goes on to the watchers' ring: without the room
                            // its list grew into (four events' worth for one), 8,192
                            // registrations held 6 MiB more of a site's memory
                            // (docs/BENCHMARKS.md).
                            change.events.shrink_to_fit();
                            changes.push((change, value.len()));
                        }
                        let number = requests.next() + new_answers.len() as u64;
                        let answer = Answer {
                            request_id: job.request_id.clone(),
                            fingerprint: job.fingerprint,
                            outcome,
                        };
                        rows.put(T::Answers, &u64_key(number), &answer)?;
                        new_answers.push(NewAnswer {
                            hash,
                            number,
                            job: i,
                        });
                        answers.push(Ok(answer.outcome));
                        wrote = true;
                    }
                    Err(ApplyError::Domain(e)) => answers.push(Err(e.into())),
                    Err(ApplyError::Storage(e)) => return Err(e),
                    Err(ApplyError::Inconsistent { what, key }) => {
                        return Err(StoreError::Inconsistent { what, key });
                    }
                }
            }
            if wrote {
                rows.put_raw(T::Meta, meta::LAST_SEQ, &u64_key(last_seq))?;
                // Retention: drop the oldest records beyond the horizon, a bounded number
                // per batch.
                let horizon = (last_seq + 1).saturating_sub(self.log_retention);
                let new_first = horizon.min(first_seq + PRUNE_PER_BATCH).max(first_seq);
                for seq in first_seq..new_first {
                    rows.remove(T::Log, &u64_key(seq))?;
                }
                if new_first != first_seq {
                    first_seq = new_first;
                    rows.put_raw(T::Meta, meta::FIRST_SEQ, &u64_key(first_seq))?;
                }
            }
            let added = Added {
                tickets: std::mem::take(&mut rows.new_tickets),
                answers: new_answers,
            };
            let writes = match wrote {
                true => Some(tx.finish(T::Meta as usize, batch)?),
                false => None,
            };
            Ok(Committed {
                answers,
                writes,
                last_seq,
                first_seq,
                added,
                changes,
            })
        }
    }
}

/// The answer (fingerprint and outcome) already given to `request_id`: among the answers
/// numbered `candidates`, the one whose row holds that id, else in the legacy tree.
fn answer_of(
    rows: &TxRows<'_>,
    requests: &RequestIndex,
    candidates: impl Iterator<Item = u64>,
    request_id: &str,
) -> Result<Option<(u64, Outcome)>, StoreError> {
    for n in candidates {
        let key = u64_key(n);
        let a: Answer = rows
            .get(T::Answers, &key)?
            .ok_or_else(|| StoreError::Inconsistent {
                what: "answer indexed but not stored, number",
                key: n.to_string(),
            })?;
        if a.request_id == request_id {
            return Ok(Some((a.fingerprint, a.outcome)));
        }
    }
    if requests.legacy {
        let old: Option<StoredAnswer> = rows.get(T::Requests, request_id.as_bytes())?;
        return Ok(old.map(|a| (a.fingerprint, a.outcome)));
    }
    Ok(None)
}

/// Random bytes from the operating system, drawn a page at a time: a registration needs
/// 48 bytes for its ticket candidates, and one system call each was a measurable part of
/// the writer's time.
pub(crate) struct Entropy {
    buf: Vec<u8>,
    at: usize,
}

impl Entropy {
    pub(crate) fn new() -> Self {
        Entropy {
            buf: vec![0; 4096],
            at: 4096,
        }
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        if self.at + N > self.buf.len() {
            if getrandom::fill(&mut self.buf).is_err() {
                // Never seen on Linux; uuid's own draw is the fallback.
                for chunk in self.buf.chunks_mut(16) {
                    let b = uuid::Uuid::new_v4().into_bytes();
                    chunk.copy_from_slice(&b[..chunk.len()]);
                }
            }
            self.at = 0;
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.at..self.at + N]);
        self.at += N;
        out
    }
}

/// Fresh values for one command, drawn before its rules run.
fn fresh_for(cmd: &Command, now_ms: i64, entropy: &mut Entropy) -> Fresh {
    let tickets = match cmd {
        Command::Register { .. }
        | Command::RegisterConference { .. }
        | Command::ApplyRemoteAsk { .. }
        | Command::ApplyLease { .. } => (0..TICKET_CANDIDATES)
            .map(|_| {
                let b: [u8; 12] = entropy.take();
                let idx = |i: usize| u32::from(u16::from_be_bytes([b[2 * i], b[2 * i + 1]]));
                TicketCode::from_indexes([idx(0), idx(1), idx(2), idx(3), idx(4), idx(5)])
            })
            .collect(),
        _ => Vec::new(),
    };
    Fresh {
        now_ms,
        id: uuid::Uuid::now_v7(),
        tickets,
    }
}

/// The running hash of log record `seq` (`None` for none, or one written before the hash).
fn previous_hash(rows: &TxRows<'_>, seq: u64) -> Result<Option<u64>, StoreError> {
    match rows.raw(T::Log, &u64_key(seq))? {
        Some(v) => Ok(codec::decode_change(&u64_key(seq), &v)?.hash),
        None => Ok(None),
    }
}
