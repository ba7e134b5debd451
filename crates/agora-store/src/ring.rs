//! The recent records of a log in memory, shared by every watcher of a node: the writer
//! appends a batch's records once they are durable (before it publishes the new position),
//! so nothing unanswered is ever served; a watcher reads from its own position and falls
//! back to the disk only when that position is older than the ring holds. A record may be
//! held as an [`Entry`], with a slot for its form on the wire that the first watcher to send
//! it fills and every other reuses.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;

/// Most records a node's ring holds, however small: a few seconds of the highest rates
/// measured (docs/BENCHMARKS.md).
pub const RING_RECORDS: usize = 8192;

/// Most bytes of records a site's ring holds, counted as each record's encoding in the
/// log: a record held in memory takes two to three times that (its decoded form, then its
/// bytes on the wire once a watcher sent it). Records differ a hundredfold in size (a
/// registration, a défi with its whole text), so a count alone bounds nothing: 8,192
/// registrations held about 10 MiB of a site's memory (docs/BENCHMARKS.md).
pub const SITE_RING_BYTES: usize = 1 << 20;

/// The same for the national node, whose ring serves every national watcher and the
/// fan-in of every site: its records are smaller and its memory target larger.
pub const NATIONAL_RING_BYTES: usize = 4 << 20;

/// Positions `first ..= first + records.len() - 1`, contiguous, each with its weight;
/// `bytes` is the sum of the weights.
#[derive(Debug)]
struct Held<T> {
    first: u64,
    records: VecDeque<(Arc<T>, usize)>,
    bytes: usize,
}

/// A record and the bytes a node sends for it, made once and shared by every stream
/// that sends it (the national `Watch`, a site's `WatchChanges`: converting and encoding
/// each record once per watcher was two thirds of the national node's CPU,
/// docs/BENCHMARKS.md, issue 18). The
/// store only holds the slot: what the bytes are is the node's business, one form per
/// ring. The bytes live as long as the entry, so a ring emptied by an erasure drops them
/// with the records.
#[derive(Debug)]
pub struct Entry<T> {
    record: T,
    wire: OnceLock<Bytes>,
}

impl<T> Entry<T> {
    pub fn new(record: T) -> Self {
        Entry {
            record,
            wire: OnceLock::new(),
        }
    }

    /// The record's bytes: made by `encode` the first time they are asked for (other
    /// callers meanwhile wait for them), the same bytes, shared, every time after.
    pub fn wire(&self, encode: impl FnOnce(&T) -> Bytes) -> Bytes {
        self.wire.get_or_init(|| encode(&self.record)).clone()
    }
}

impl<T> Deref for Entry<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.record
    }
}

/// The recent records of a log, bounded both in records and in bytes: the oldest go first
/// once either bound is passed (the newest record always stays, however large).
#[derive(Debug)]
pub struct Ring<T> {
    held: RwLock<Held<T>>,
    max_records: usize,
    max_bytes: usize,
}

impl<T> Ring<T> {
    /// An empty ring whose next record is `last + 1` (the log's last durable position),
    /// holding at most `max_records` records and `max_bytes` of their weights.
    pub fn new(max_records: usize, max_bytes: usize, last: u64) -> Self {
        Ring {
            held: RwLock::new(Held {
                first: last + 1,
                records: VecDeque::new(),
                bytes: 0,
            }),
            max_records: max_records.max(1),
            max_bytes,
        }
    }

    /// Appends the records at positions `first, first + 1, …`, each with its weight (its
    /// size in bytes as the log stores it); the oldest ones go past the bounds. Records
    /// that do not follow the ones held replace them (never a gap).
    pub fn extend(&self, first: u64, records: impl IntoIterator<Item = (T, usize)>) {
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        if first != held.first + held.records.len() as u64 {
            held.records.clear();
            held.bytes = 0;
            held.first = first;
        }
        for (r, weight) in records {
            held.bytes += weight;
            held.records.push_back((Arc::new(r), weight));
            while held.records.len() > self.max_records
                || (held.bytes > self.max_bytes && held.records.len() > 1)
            {
                let Some((_, w)) = held.records.pop_front() else {
                    break;
                };
                held.bytes -= w;
                held.first += 1;
            }
        }
    }

    /// Forgets every record held (the log was rewritten): readers go to the disk until
    /// the next records after `last` come.
    pub fn reset(&self, last: u64) {
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        held.records.clear();
        held.bytes = 0;
        held.first = last + 1;
    }

    /// Up to `limit` records after position `after`, in order; empty when the ring holds
    /// none after it yet; `None` when `after + 1` is older than what the ring holds (read
    /// the disk).
    pub fn after(&self, after: u64, limit: usize) -> Option<Vec<Arc<T>>> {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        let start = after.checked_add(1)?;
        if start < held.first {
            return None;
        }
        let skip = usize::try_from(start - held.first).unwrap_or(usize::MAX);
        Some(
            held.records
                .iter()
                .skip(skip)
                .take(limit.max(1))
                .map(|(r, _)| Arc::clone(r))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(v: &[Arc<u64>]) -> Vec<u64> {
        v.iter().map(|r| **r).collect()
    }

    /// Records of one byte each: only the count bounds them.
    fn light<T>(records: impl IntoIterator<Item = T>) -> impl Iterator<Item = (T, usize)> {
        records.into_iter().map(|r| (r, 1))
    }

    #[test]
    fn wraps_around_keeping_the_newest_in_order() {
        let ring = Ring::new(4, 1 << 20, 0);
        ring.extend(1, light(1..=3));
        ring.extend(4, light(4..=7));
        // 1..=3 went past the capacity: positions 4..=7 remain.
        assert_eq!(positions(&ring.after(3, 10).unwrap()), vec![4, 5, 6, 7]);
        assert_eq!(positions(&ring.after(5, 10).unwrap()), vec![6, 7]);
        assert_eq!(positions(&ring.after(4, 2).unwrap()), vec![5, 6]);
        assert!(ring.after(7, 10).unwrap().is_empty(), "caught up");
        assert!(ring.after(9, 10).unwrap().is_empty(), "ahead");
    }

    #[test]
    fn large_records_are_bounded_by_their_bytes() {
        let ring = Ring::new(100, 1000, 0);
        // Ten records of 100 bytes fill it; the eleventh pushes out the first.
        ring.extend(1, (1..=11).map(|p| (p, 100)));
        assert!(ring.after(0, 20).is_none(), "1 went past the bytes");
        assert_eq!(
            positions(&ring.after(1, 20).unwrap()),
            (2..=11).collect::<Vec<_>>()
        );
        // One record of 950 bytes leaves room for none but itself.
        ring.extend(12, [(12, 950)]);
        assert_eq!(positions(&ring.after(11, 20).unwrap()), vec![12]);
        assert!(ring.after(10, 20).is_none());
        // A record larger than the whole budget is still held, alone.
        ring.extend(13, [(13, 5000)]);
        assert_eq!(positions(&ring.after(12, 20).unwrap()), vec![13]);
        // Small records after it push it out once they need its room.
        ring.extend(14, (14..=16).map(|p| (p, 10)));
        assert_eq!(positions(&ring.after(13, 20).unwrap()), vec![14, 15, 16]);
        assert!(ring.after(12, 20).is_none());
    }

    #[test]
    fn a_cursor_behind_the_ring_is_sent_to_the_disk() {
        let ring = Ring::new(4, 1 << 20, 10);
        assert!(ring.after(10, 5).unwrap().is_empty());
        assert!(
            ring.after(9, 5).is_none(),
            "11 is the first the ring may hold"
        );
        ring.extend(11, light(11..=20));
        assert!(ring.after(15, 5).is_none(), "16 went past the capacity");
        assert_eq!(positions(&ring.after(16, 5).unwrap()), vec![17, 18, 19, 20]);
    }

    #[test]
    fn records_that_do_not_follow_start_it_over_without_a_gap() {
        let ring = Ring::new(8, 1 << 20, 0);
        ring.extend(1, light(1..=3));
        ring.extend(6, light(6..=7));
        assert!(ring.after(3, 5).is_none(), "4 and 5 were never held");
        assert_eq!(positions(&ring.after(5, 5).unwrap()), vec![6, 7]);
        ring.reset(7);
        assert!(
            ring.after(6, 5).is_none(),
            "a rewritten log is read from the disk"
        );
        assert!(ring.after(7, 5).unwrap().is_empty());
        ring.extend(8, light([8]));
        assert_eq!(positions(&ring.after(7, 5).unwrap()), vec![8]);
    }

    #[test]
    fn an_entry_is_encoded_once_and_its_bytes_shared() {
        let ring = Ring::new(4, 1 << 20, 0);
        ring.extend(1, light([Entry::new(1u64)]));
        let made = std::sync::atomic::AtomicUsize::new(0);
        let encode = |r: &u64| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Bytes::from(r.to_be_bytes().to_vec())
        };
        // Two readers, each with its own copy of the ring's records.
        let (a, b) = (ring.after(0, 1).unwrap(), ring.after(0, 1).unwrap());
        let (x, y) = (a[0].wire(encode), b[0].wire(encode));
        assert_eq!(made.into_inner(), 1, "encoded once");
        assert_eq!(x.as_ptr(), y.as_ptr(), "the same bytes, not a copy");
        assert_eq!(**a[0], 1, "the record reads through the entry");
    }
}
