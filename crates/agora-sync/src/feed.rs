//! One change-feed stream (a national `Watch`, a site's `WatchChanges`): a cursor over the
//! node's log that reads the recent records every stream shares in memory (the store's
//! ring), the disk only when it is behind them, and sends into its own buffer, bounded in
//! answers and in bytes; a `batched` stream sends the changes ready together, as one
//! answer (`wire::together`), not one answer each. A stream whose buffer stays full while
//! the log grows by `max_lag` records is cut with `RESOURCE_EXHAUSTED` naming the position
//! to resume from (everything up to it was queued before the status): a client that does
//! not read holds its buffer and nothing else, and never slows the others.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc, watch};
use tonic::Status;

use agora_store::StoreError;

use crate::uplink::stopped;
use crate::wire;

/// Records taken per step, from memory or the disk.
const READ_CHUNK: usize = 128;
/// The most bytes of changes one answer of a `batched` stream holds (a single change
/// may be larger, and goes alone), well under the 4 MiB a gRPC client takes by default.
const BATCH_BYTES: usize = 32 * 1024;
/// The most bytes of answers one stream holds queued for its client (see [`Room`]).
const STREAM_BYTES: usize = 4 * BATCH_BYTES;
/// A quiet stream is told its position this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// A stream whose buffer is full looks this often whether the log grew past its
/// `max_lag` (so it is cut at most this late).
const LAG_CHECK_EVERY: Duration = Duration::from_millis(50);
/// Metadata key of the cut status: the position to resume after.
pub const RESUME_AFTER: &str = "agora-resume-after";
/// Stream wake-ups a node makes in a second at most, its streams together (see
/// [`Wakeups`]).
const WAKEUPS_PER_SECOND: f64 = 20_000.0;
/// Below this, a pause between two wake-ups is not worth a timer: the streams are woken
/// at each batch.
const MIN_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two wake-ups, however many streams are open (the delay it
/// adds stays well under the 50 ms a watcher is promised, issue 18).
const MAX_PAUSE: Duration = Duration::from_millis(15);

/// A node's log position as its streams watch it: the writer's position, passed on at
/// most once per pause, the pause growing with the number of streams open so that the
/// node wakes its streams about [`WAKEUPS_PER_SECOND`] times a second at most, however
/// many there are. A change after a quiet spell is passed on at once; the changes during
/// a pause go out together at its end. A wake-up costs a stream a task switch and a
/// socket write whether it carries one record or fifty: at a site, where each write is
/// its own batch, 50 reading streams woken by every registration took the site's two
/// cores from its desks (docs/BENCHMARKS.md, issue 18). Up to
/// `WAKEUPS_PER_SECOND × MIN_PAUSE` streams (20), nothing waits.
#[derive(Debug)]
struct Wakeups {
    source: watch::Receiver<u64>,
    /// Started with the first stream (on the node's runtime).
    paced: OnceLock<watch::Receiver<u64>>,
}

impl Wakeups {
    /// Paces `source`, a store's durable position.
    fn new(source: watch::Receiver<u64>) -> Self {
        Wakeups {
            source,
            paced: OnceLock::new(),
        }
    }

    /// The paced position, for one more stream. Ends (an error on `changed`) when the
    /// store's position does.
    fn subscribe(&self) -> watch::Receiver<u64> {
        self.paced.get_or_init(|| pace(self.source.clone())).clone()
    }
}

fn pace(mut source: watch::Receiver<u64>) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(*source.borrow_and_update());
    tokio::spawn(async move {
        while source.changed().await.is_ok() {
            let position = *source.borrow_and_update();
            tx.send_replace(position);
            // The streams' receivers and the one `Wakeups` keeps.
            let pause = pause_for(tx.receiver_count().saturating_sub(1));
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    });
    rx
}

/// The pause after a wake-up with `streams` open.
fn pause_for(streams: usize) -> Duration {
    let pause = Duration::from_secs_f64(streams as f64 / WAKEUPS_PER_SECOND);
    if pause < MIN_PAUSE {
        Duration::ZERO
    } else {
        pause.min(MAX_PAUSE)
    }
}

/// A node's log as one stream reads it.
pub trait Feed: Send + Sync + 'static {
    /// What the store's ring holds, shared by every stream: both nodes' are
    /// `agora_store::ring::Entry`s, where the first stream to send a record leaves the
    /// encoded message for the others (see the national `WatchFeed`, the site's
    /// `ChangeFeed`).
    type Record: Send + Sync + 'static;
    /// The node, as messages name it ("the national node").
    const NODE: &'static str;
    /// Up to `limit` records after `after` from memory; `None` when behind it.
    fn recent(&self, after: u64, limit: usize) -> Option<Vec<Arc<Self::Record>>>;
    /// Up to `limit` records after `after` from the disk (blocking).
    fn read(&self, after: u64, limit: usize) -> Result<Vec<Self::Record>, StoreError>;
    fn position(r: &Self::Record) -> u64;
    /// The answer for a record, encoded, or `None` when this stream does not want it.
    fn message(&self, r: &Self::Record) -> Option<Bytes>;
    /// Whether this stream asked for the changes ready together (`batched`): the answers
    /// of [`Feed::message`] are then put together with [`wire::together`] at
    /// [`wire::CHANGES_FIELD`]. Otherwise one answer per record.
    fn batched(&self) -> bool {
        false
    }
    /// The answer saying the stream has everything up to `position`.
    fn caught_up(&self, position: u64) -> Bytes;
    /// The status ending the stream on a read error.
    fn error(&self, e: StoreError) -> Status;
    /// The stream reached `position` (for the metrics).
    fn moved(&self, _position: u64) {}
}

/// How a stream is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Answers queued for the client at most (and at most 128 KiB of them, whatever their
    /// number).
    pub buffer: usize,
    /// Records the log may grow by while the buffer stays full, before the stream is cut.
    pub max_lag: u64,
}

type Tx = mpsc::UnboundedSender<Result<Bytes, Status>>;

/// A node's change-feed streams: how each is bounded, and the pace they are woken at.
#[derive(Debug)]
pub struct Streams {
    budget: Budget,
    wakeups: Wakeups,
}

impl Streams {
    /// Streams of the log whose durable position is `durable`.
    pub fn new(budget: Budget, durable: watch::Receiver<u64>) -> Self {
        Streams {
            budget,
            wakeups: Wakeups::new(durable),
        }
    }

    /// Starts a stream after `after`; the task ends with the stream (client gone, cut,
    /// read error or shutdown).
    pub fn open<F: Feed>(&self, feed: F, after: u64, stopping: watch::Receiver<bool>) -> Queued {
        open(feed, after, self.budget, self.wakeups.subscribe(), stopping)
    }
}

fn open<F: Feed>(
    feed: F,
    after: u64,
    budget: Budget,
    durable: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
) -> Queued {
    // Unbounded in messages: the room below bounds what is queued, and the status that
    // ends the stream always finds its place behind it.
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Room::new(budget.buffer);
    let cursor = Cursor {
        feed: Arc::new(feed),
        tx: tx.clone(),
        room: room.clone(),
        durable,
        stopping,
        max_lag: budget.max_lag.max(1),
    };
    tokio::spawn(async move {
        if let Some(end) = cursor.run(after).await {
            let _ = tx.send(Err(end));
        }
    });
    Queued { rx, room }
}

/// What one stream may hold queued for its client: [`STREAM_BYTES`], each answer
/// weighing its bytes but at least a `buffer`th of them, so that at most `buffer`
/// answers wait (`Budget::buffer`), and at most [`STREAM_BYTES`] whatever their size: a
/// `batched` answer is the stream's own copy of up to [`BATCH_BYTES`], where an answer of
/// one change shares its bytes with every stream.
#[derive(Debug, Clone)]
struct Room {
    bytes: Arc<Semaphore>,
    /// The least an answer weighs.
    unit: usize,
}

impl Room {
    fn new(buffer: usize) -> Self {
        Room {
            bytes: Arc::new(Semaphore::new(STREAM_BYTES)),
            unit: (STREAM_BYTES / buffer.max(1)).max(1),
        }
    }

    /// What an answer of `len` bytes takes of the room.
    fn weight(&self, len: usize) -> u32 {
        // At most STREAM_BYTES, which fits a u32.
        u32::try_from(len.clamp(self.unit, STREAM_BYTES)).unwrap_or(u32::MAX)
    }
}

/// A stream's answers as tonic sends them: each gives its room back as it is taken.
#[derive(Debug)]
pub struct Queued {
    rx: mpsc::UnboundedReceiver<Result<Bytes, Status>>,
    room: Room,
}

impl tokio_stream::Stream for Queued {
    type Item = Result<Bytes, Status>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.rx.poll_recv(cx));
        if let Some(Ok(answer)) = &item {
            let w = self.room.weight(answer.len());
            self.room.bytes.add_permits(w as usize);
        }
        std::task::Poll::Ready(item)
    }
}

struct Cursor<F: Feed> {
    feed: Arc<F>,
    tx: Tx,
    room: Room,
    durable: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    max_lag: u64,
}

impl<F: Feed> Cursor<F> {
    /// Streams until the end; the status to end with, `None` when the client went away.
    async fn run(mut self, pos: u64) -> Option<Status> {
        self.stream(pos).await.err().flatten()
    }

    async fn stream(&mut self, mut pos: u64) -> Result<(), Option<Status>> {
        let mut told = false;
        loop {
            // Seen before reading: a batch made durable after this wakes the wait below.
            self.durable.borrow_and_update();
            let records = match self.feed.recent(pos, READ_CHUNK) {
                Some(r) => r,
                None => self.read_disk(pos).await.map_err(Some)?,
            };
            if !records.is_empty() {
                pos = self.send_records(&records, pos).await?;
                self.feed.moved(pos);
                told = false;
                continue;
            }
            if !told {
                let m = self.feed.caught_up(pos);
                self.send(m, pos).await?;
                told = true;
            }
            tokio::select! {
                changed = self.durable.changed() => if changed.is_err() {
                    return Err(Some(shutting_down::<F>()));
                },
                () = tokio::time::sleep(PROGRESS_EVERY) => told = false,
                () = self.tx.closed() => return Err(None),
                () = stopped(&mut self.stopping) => return Err(Some(shutting_down::<F>())),
            }
        }
    }

    /// Queues the messages of `records` (read after `pos`): one each, or together when
    /// the stream asked for that, in answers of up to [`BATCH_BYTES`]. Returns the
    /// position of the last record.
    async fn send_records(
        &mut self,
        records: &[Arc<F::Record>],
        mut pos: u64,
    ) -> Result<u64, Option<Status>> {
        if !self.feed.batched() {
            for r in records {
                if let Some(m) = self.feed.message(r) {
                    self.send(m, pos).await?;
                }
                pos = F::position(r);
            }
            return Ok(pos);
        }
        // The batch's parts, their bytes, and where the stream stood before the first.
        let (mut parts, mut bytes, mut from) = (Vec::new(), 0usize, pos);
        for r in records {
            if let Some(m) = self.feed.message(r) {
                if !parts.is_empty() && bytes + m.len() > BATCH_BYTES {
                    self.send(wire::together(wire::CHANGES_FIELD, &parts), from)
                        .await?;
                    (bytes, from) = (0, pos);
                    parts.clear();
                }
                bytes += m.len();
                parts.push(m);
            }
            pos = F::position(r);
        }
        if !parts.is_empty() {
            self.send(wire::together(wire::CHANGES_FIELD, &parts), from)
                .await?;
        }
        Ok(pos)
    }

    async fn read_disk(&self, pos: u64) -> Result<Vec<Arc<F::Record>>, Status> {
        let feed = Arc::clone(&self.feed);
        match tokio::task::spawn_blocking(move || feed.read(pos, READ_CHUNK)).await {
            Ok(Ok(r)) => Ok(r.into_iter().map(Arc::new).collect()),
            Ok(Err(e)) => Err(self.feed.error(e)),
            Err(_) => Err(Status::internal("the log read failed")),
        }
    }

    /// Queues one answer; `Err` ends the stream: with a status (cut, shutdown) or `None`
    /// (the client went away). `pos` is where the stream stands before this answer.
    ///
    /// A full room is waited on with the log's growth looked at every
    /// [`LAG_CHECK_EVERY`], not at each of its batches: a hundred streams that do not read
    /// would otherwise each be woken by every batch the writer makes durable, for nothing
    /// (the writer itself wakes every one of them), which took the two cores from the
    /// streams that do read (docs/BENCHMARKS.md, issue 18).
    async fn send(&mut self, msg: Bytes, pos: u64) -> Result<(), Option<Status>> {
        let need = self.room.weight(msg.len());
        let taken = self.room.bytes.try_acquire_many(need).map(|t| t.forget());
        if taken.is_err() {
            self.wait_for_room(need, pos).await?;
        }
        self.tx.send(Ok(msg)).map_err(|_| None)
    }

    async fn wait_for_room(&mut self, need: u32, pos: u64) -> Result<(), Option<Status>> {
        let start = *self.durable.borrow();
        let mut check = tokio::time::interval(LAG_CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                taken = self.room.bytes.acquire_many(need) => {
                    // The room is never closed.
                    taken.map_err(|_| None)?.forget();
                    return Ok(());
                }
                () = self.tx.closed() => return Err(None),
                _ = check.tick() => {
                    if self.durable.has_changed().is_err() {
                        return Err(Some(shutting_down::<F>()));
                    }
                    if self.durable.borrow().saturating_sub(start) >= self.max_lag {
                        return Err(Some(cut::<F>(self.max_lag, pos)));
                    }
                }
                () = stopped(&mut self.stopping) => return Err(Some(shutting_down::<F>())),
            }
        }
    }
}

/// The status of a stream cut for not reading: resume after `pos`.
fn cut<F: Feed>(max_lag: u64, pos: u64) -> Status {
    let mut s = Status::resource_exhausted(format!(
        "watch: the log grew by {max_lag} records while this stream's buffer stayed full; \
         resume after position {pos}"
    ));
    if let Ok(v) = pos.to_string().parse() {
        s.metadata_mut().insert(RESUME_AFTER, v);
    }
    tracing::info!(
        node = F::NODE,
        resume_after = pos,
        "a watcher that did not read was cut"
    );
    s
}

fn shutting_down<F: Feed>() -> Status {
    Status::unavailable(format!(
        "{} is shutting down; resume from your last position",
        F::NODE
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_streams_are_woken_at_each_batch_and_a_crowd_less_often() {
        assert_eq!(pause_for(0), Duration::ZERO);
        assert_eq!(pause_for(19), Duration::ZERO, "under a millisecond");
        assert_eq!(pause_for(20), Duration::from_millis(1));
        assert_eq!(pause_for(200), Duration::from_millis(10));
        assert_eq!(pause_for(5_000), MAX_PAUSE);
    }

    /// Paused time: the runtime's clock moves only when every task waits.
    #[tokio::test(start_paused = true)]
    async fn a_crowd_gets_the_changes_of_a_pause_together_and_never_misses_the_last() {
        let (position, source) = watch::channel(0u64);
        let wakeups = Wakeups::new(source);
        let mut streams: Vec<_> = (0..200).map(|_| wakeups.subscribe()).collect();
        let mut watched = streams.pop().unwrap();
        tokio::task::yield_now().await;
        position.send_replace(1);
        watched.changed().await.unwrap();
        assert_eq!(*watched.borrow_and_update(), 1, "the first change at once");
        let start = tokio::time::Instant::now();
        // Nine changes during the 10 ms pause that 200 streams make.
        for p in 2..=10 {
            position.send_replace(p);
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(
                !watched.has_changed().unwrap(),
                "woken during the pause at {p}"
            );
        }
        watched.changed().await.unwrap();
        assert_eq!(*watched.borrow_and_update(), 10, "all of them at its end");
        assert_eq!(start.elapsed(), Duration::from_millis(10));
        drop(streams);
        drop(wakeups);
        drop(position);
        assert!(
            watched.changed().await.is_err(),
            "ends with the store's position"
        );
    }

    /// A log of `last` records of `size` bytes each, all in memory.
    struct Fake {
        last: u64,
        size: usize,
        batched: bool,
    }

    impl Feed for Fake {
        type Record = u64;
        const NODE: &'static str = "the test node";

        fn recent(&self, after: u64, limit: usize) -> Option<Vec<Arc<u64>>> {
            Some((after + 1..=self.last).take(limit).map(Arc::new).collect())
        }
        fn read(&self, _: u64, _: usize) -> Result<Vec<u64>, StoreError> {
            unreachable!("every record is in memory")
        }
        fn position(r: &u64) -> u64 {
            *r
        }
        fn message(&self, _: &u64) -> Option<Bytes> {
            Some(Bytes::from(vec![7u8; self.size]))
        }
        fn batched(&self) -> bool {
            self.batched
        }
        fn caught_up(&self, _: u64) -> Bytes {
            Bytes::new()
        }
        fn error(&self, _: StoreError) -> Status {
            Status::internal("read")
        }
    }

    /// What a stream holds queued while its client reads nothing stays within its
    /// answers and its bytes, one change to an answer or batched; once read, every record
    /// is there.
    #[tokio::test(start_paused = true)]
    async fn a_stream_not_read_holds_its_buffer_in_answers_and_in_bytes() {
        use tokio_stream::StreamExt;
        let (last, size) = (2_000u64, 1_000usize);
        for (batched, answers) in [(false, 128), (true, 4)] {
            let (_position, durable) = watch::channel(last);
            let (_stop, stopping) = watch::channel(false);
            let budget = Budget {
                buffer: 128,
                max_lag: 1_000_000,
            };
            let feed = Fake {
                last,
                size,
                batched,
            };
            let mut stream = open(feed, 0, budget, durable, stopping);
            // The clock is paused: this sleep ends only once every task waits, so the
            // cursor has queued all it may and waits for room (not a wait on the clock).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let queued = stream.rx.len();
            assert_eq!(queued, answers, "batched {batched}: answers queued");
            // Read: every record's bytes arrive, as many answers as needed; the first
            // `queued` were what the stream held.
            let (mut records, mut read, mut held) = (0, 0, 0);
            while records < last as usize {
                let answer = stream.next().await.expect("open").expect("an answer");
                if read < queued {
                    held += answer.len();
                }
                read += 1;
                // A batch's header (a tag, a length) is under a record's size.
                records += answer.len() / size;
            }
            assert!(held <= STREAM_BYTES, "batched {batched}: {held} bytes held");
            assert_eq!(records, last as usize, "batched {batched}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_few_streams_see_every_batch_at_once() {
        let (position, source) = watch::channel(0u64);
        let wakeups = Wakeups::new(source);
        let mut watched = wakeups.subscribe();
        let start = tokio::time::Instant::now();
        for p in 1..=5 {
            position.send_replace(p);
            watched.changed().await.unwrap();
            assert_eq!(*watched.borrow_and_update(), p);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
