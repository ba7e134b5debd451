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

/// Records held by a node's ring: at a few hundred bytes each (about twice that once an
/// entry holds its bytes on the wire), a few MiB, and several seconds of the highest rates
/// measured (docs/BENCHMARKS.md).
pub const RING_RECORDS: usize = 8192;

/// Positions `first ..= first + records.len() - 1`, contiguous.
#[derive(Debug)]
struct Held<T> {
    first: u64,
    records: VecDeque<Arc<T>>,
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

#[derive(Debug)]
pub struct Ring<T> {
    held: RwLock<Held<T>>,
    capacity: usize,
}

impl<T> Ring<T> {
    /// An empty ring whose next record is `last + 1` (the log's last durable position).
    pub fn new(capacity: usize, last: u64) -> Self {
        Ring {
            held: RwLock::new(Held {
                first: last + 1,
                records: VecDeque::with_capacity(capacity.max(1)),
            }),
            capacity: capacity.max(1),
        }
    }

    /// Appends the records at positions `first, first + 1, …`; the oldest ones go past
    /// the capacity. Records that do not follow the ones held replace them (never a gap).
    pub fn extend(&self, first: u64, records: impl IntoIterator<Item = T>) {
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        if first != held.first + held.records.len() as u64 {
            held.records.clear();
            held.first = first;
        }
        for r in records {
            if held.records.len() == self.capacity {
                held.records.pop_front();
                held.first += 1;
            }
            held.records.push_back(Arc::new(r));
        }
    }

    /// Forgets every record held (the log was rewritten): readers go to the disk until
    /// the next records after `last` come.
    pub fn reset(&self, last: u64) {
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        held.records.clear();
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
                .cloned()
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

    #[test]
    fn wraps_around_keeping_the_newest_in_order() {
        let ring = Ring::new(4, 0);
        ring.extend(1, 1..=3);
        ring.extend(4, 4..=7);
        // 1..=3 went past the capacity: positions 4..=7 remain.
        assert_eq!(positions(&ring.after(3, 10).unwrap()), vec![4, 5, 6, 7]);
        assert_eq!(positions(&ring.after(5, 10).unwrap()), vec![6, 7]);
        assert_eq!(positions(&ring.after(4, 2).unwrap()), vec![5, 6]);
        assert!(ring.after(7, 10).unwrap().is_empty(), "caught up");
        assert!(ring.after(9, 10).unwrap().is_empty(), "ahead");
    }

    #[test]
    fn a_cursor_behind_the_ring_is_sent_to_the_disk() {
        let ring = Ring::new(4, 10);
        assert!(ring.after(10, 5).unwrap().is_empty());
        assert!(
            ring.after(9, 5).is_none(),
            "11 is the first the ring may hold"
        );
        ring.extend(11, 11..=20);
        assert!(ring.after(15, 5).is_none(), "16 went past the capacity");
        assert_eq!(positions(&ring.after(16, 5).unwrap()), vec![17, 18, 19, 20]);
    }

    #[test]
    fn records_that_do_not_follow_start_it_over_without_a_gap() {
        let ring = Ring::new(8, 0);
        ring.extend(1, 1..=3);
        ring.extend(6, 6..=7);
        assert!(ring.after(3, 5).is_none(), "4 and 5 were never held");
        assert_eq!(positions(&ring.after(5, 5).unwrap()), vec![6, 7]);
        ring.reset(7);
        assert!(
            ring.after(6, 5).is_none(),
            "a rewritten log is read from the disk"
        );
        assert!(ring.after(7, 5).unwrap().is_empty());
        ring.extend(8, [8]);
        assert_eq!(positions(&ring.after(7, 5).unwrap()), vec![8]);
    }

    #[test]
    fn an_entry_is_encoded_once_and_its_bytes_shared() {
        let ring = Ring::new(4, 0);
        ring.extend(1, [Entry::new(1u64)]);
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
