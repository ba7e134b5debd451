//! Indexes of a site's registrations held in memory instead of in sled, rebuilt from the
//! registrations tree each time the store opens (after the write-ahead log's replay, so
//! from every acknowledged registration).
//!
//! Each row kept in sled costs an insert on the applier and, for keys that land anywhere
//! in a large tree, page reads and leaf splits: holding the ticket codes here cut the
//! site's CPU per registration at 64 clients by about a third, the other two indexes by
//! another 12–15 % (docs/BENCHMARKS.md items 12 and 13). Nothing in them is not already in
//! the registration rows: a registration's ticket code, target and state never leave it,
//! and registrations are never deleted. The request index (the last one here) is built
//! from the answers the same way.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use agora_model::{ParticipantId, Registration, RegistrationId, Target, TicketCode};
use uuid::Uuid;

use crate::codec::{decode, hex, target_of, u64_of, uuid_of};
use crate::wal::{TreeSet, Writes};
use crate::{StoreError, T};

/// Ticket code → registration, for every registration ever made (codes are never reused).
/// Only the writer reads it, to draw a free code and to find the registration a check-in
/// or a cancellation names, so the writer owns it and extends it once a batch is durable.
/// Each entry is 22 bytes of code and id plus the hash table's slack.
pub type TicketIndex = HashMap<TicketCode, RegistrationId>;

/// The indexes only the writer reads, and extends once a batch is durable.
pub struct WriterIndex {
    pub tickets: TicketIndex,
    pub requests: RequestIndex,
}

/// What a batch added to the [`WriterIndex`], merged once the batch is durable.
#[derive(Default)]
pub struct Added {
    pub tickets: Vec<(TicketCode, RegistrationId)>,
    pub answers: Vec<NewAnswer>,
}

/// An answer a batch stored: its request id's hash, its number, its job in the batch.
pub struct NewAnswer {
    pub hash: u64,
    pub number: u64,
    pub job: usize,
}

impl WriterIndex {
    /// Merges what a durable batch added; `request_id` names each job's request id.
    pub fn extend<'a>(&mut self, added: Added, request_id: impl Fn(usize) -> &'a str) {
        self.tickets.extend(added.tickets);
        for a in added.answers {
            self.requests.add(a.hash, request_id(a.job), a.number);
        }
    }
}

/// The trees whose writes go to [`Derived`] rather than to the log and sled. The writer's
/// rules write them like any other row (and read `Active` back through the batches not yet
/// applied); the applier applies them to [`Derived`] with the batch.
pub const IN_MEMORY: TreeSet = TreeSet((1 << T::Active as u32) | (1 << T::ByTarget as u32));

/// The indexes the readers use, and the writer's rules for the active registration:
/// changed only by the applier, under the readers' gate, so that a reader sees them as of
/// the same batch as the rows.
#[derive(Debug, Default)]
pub struct Derived {
    /// Participant → their active (confirmed or waitlisted) challenge registration.
    active: HashMap<ParticipantId, RegistrationId>,
    /// Target → its registrations, cancelled ones included, in id order (ids are
    /// time-ordered: the order in which they were made).
    by_target: HashMap<Target, Vec<RegistrationId>>,
}

impl Derived {
    pub fn active(&self, p: ParticipantId) -> Option<RegistrationId> {
        self.active.get(&p).copied()
    }

    pub fn of_target(&self, t: Target) -> &[RegistrationId] {
        self.by_target.get(&t).map_or(&[], Vec::as_slice)
    }

    fn add(&mut self, t: Target, id: RegistrationId) {
        let ids = self.by_target.entry(t).or_default();
        // New ids come last but for a clock step back; a rewritten registration is there.
        if ids.last().is_none_or(|last| *last < id) {
            ids.push(id);
        } else if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
        }
    }

    /// Applies a durable batch's writes to the `Active` and `ByTarget` trees: participant
    /// id → registration id (or a removal), and registration id → target key.
    pub fn apply(&mut self, w: &Writes) -> Result<(), StoreError> {
        for (key, value) in w.of(T::Active as usize) {
            let p = ParticipantId(uuid(T::Active, key, key)?);
            match value {
                Some(v) => self
                    .active
                    .insert(p, RegistrationId(uuid(T::Active, key, v)?)),
                None => self.active.remove(&p),
            };
        }
        for (key, value) in w.of(T::ByTarget as usize) {
            let id = RegistrationId(uuid(T::ByTarget, key, key)?);
            let t = value
                .and_then(target_of)
                .ok_or_else(|| StoreError::Corrupt {
                    tree: T::ByTarget.name(),
                    key: hex(key),
                    reason: "not a target key".into(),
                })?;
            self.add(t, id);
        }
        Ok(())
    }
}

fn uuid(t: T, key: &[u8], bytes: &[u8]) -> Result<Uuid, StoreError> {
    uuid_of(t.name(), key, bytes)
}

/// Builds the [`TicketIndex`] and [`Derived`] from the registrations tree in one pass; a
/// ticket code held by two registrations, or two active challenge registrations of one
/// participant, is an inconsistency, named.
pub fn build(registrations: &sled::Tree) -> Result<(TicketIndex, Derived), StoreError> {
    let mut tickets = TicketIndex::with_capacity(registrations.len());
    let mut derived = Derived::default();
    for kv in registrations.iter() {
        let (k, v) = kv?;
        let r: Registration = decode(T::Registrations.name(), &k, &v)?;
        if let Some(other) = tickets.insert(r.ticket, r.id) {
            return Err(StoreError::Inconsistent {
                what: "ticket code held by two registrations",
                key: format!("{} ({other} and {})", r.ticket, r.id),
            });
        }
        let active = r.is_active() && matches!(r.target, Target::Challenge(_));
        if let Some(other) = active
            .then(|| derived.active.insert(r.participant, r.id))
            .flatten()
        {
            return Err(StoreError::Inconsistent {
                what: "participant with two active challenge registrations",
                key: format!("{} ({other} and {})", r.participant, r.id),
            });
        }
        derived.add(r.target, r.id);
    }
    Ok((tickets, derived))
}

pub fn read(d: &RwLock<Derived>) -> RwLockReadGuard<'_, Derived> {
    d.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write(d: &RwLock<Derived>) -> RwLockWriteGuard<'_, Derived> {
    d.write().unwrap_or_else(|e| e.into_inner())
}

/// Request id → number of its answer in the `Answers` tree, for every answered request.
/// Only the writer reads it, to give a retry its first answer. Request ids are whatever the
/// clients send, UUIDs most often: as sled keys, random ids put every new answer (and the
/// check before it) on a random page, a page read each once the tree outgrew the cache
/// (docs/BENCHMARKS.md item 14). Answers are numbered in the order answered instead, and
/// this map finds them: by a 64-bit keyed hash of the id, the answer row confirming the id
/// itself (two ids sharing a hash are told apart by their rows).
pub struct RequestIndex {
    hasher: RandomState,
    /// Hash → number of the first answer whose id has that hash.
    first: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
    /// Ids whose hash an earlier answer's id already had, by id: almost always empty.
    collided: HashMap<String, u64>,
    /// Number of the next answer.
    next: u64,
    /// Whether the legacy `Requests` tree holds answers too (a database made before).
    pub legacy: bool,
}

/// The keys of [`RequestIndex::first`] are hashes already.
#[derive(Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What opening reads of an answer: its id (the first field).
#[derive(serde::Deserialize)]
struct AnswerHead {
    request_id: String,
}

impl RequestIndex {
    /// Builds the index from the `Answers` tree.
    pub fn build(answers: &sled::Tree, legacy: bool) -> Result<RequestIndex, StoreError> {
        let mut index = RequestIndex {
            hasher: RandomState::new(),
            first: HashMap::with_capacity_and_hasher(answers.len(), Default::default()),
            collided: HashMap::new(),
            next: 1,
            legacy,
        };
        for kv in answers.iter() {
            let (k, v) = kv?;
            let n = u64_of(T::Answers.name(), &k, &k)?;
            let head: AnswerHead = decode(T::Answers.name(), &k, &v)?;
            let h = index.hash(&head.request_id);
            index.add(h, &head.request_id, n);
        }
        Ok(index)
    }

    pub fn hash(&self, request_id: &str) -> u64 {
        self.hasher.hash_one(request_id)
    }

    /// Numbers of the answers that may be `request_id`'s (hash `h`), to check by their rows.
    pub fn candidates(&self, h: u64, request_id: &str) -> impl Iterator<Item = u64> {
        let collided = match self.collided.is_empty() {
            true => None,
            false => self.collided.get(request_id).copied(),
        };
        self.first.get(&h).copied().into_iter().chain(collided)
    }

    /// Records answer `n` (numbers only grow) of `request_id` (hash `h`).
    pub fn add(&mut self, h: u64, request_id: &str, n: u64) {
        match self.first.entry(h) {
            Entry::Occupied(_) => drop(self.collided.insert(request_id.to_owned(), n)),
            Entry::Vacant(v) => drop(v.insert(n)),
        }
        self.next = self.next.max(n + 1);
    }

    /// Number of the next answer.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// How many answers it holds.
    pub fn count(&self) -> usize {
        self.first.len() + self.collided.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids sharing a hash: each finds its own answer among at most two candidates.
    #[test]
    fn ids_sharing_a_hash_keep_their_own_answers() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut index = RequestIndex::build(&db.open_tree("answers").unwrap(), false).unwrap();
        assert_eq!((index.next(), index.count()), (1, 0));
        index.add(7, "a", 1);
        index.add(7, "b", 2);
        index.add(9, "c", 3);
        let of = |h, id| index.candidates(h, id).collect::<Vec<_>>();
        assert_eq!(of(7, "a"), [1]);
        assert_eq!(of(7, "b"), [1, 2]);
        assert_eq!(
            of(7, "z"),
            [1],
            "an unknown id sharing the hash: checked by its row"
        );
        assert_eq!(of(9, "c"), [3]);
        assert_eq!(of(8, "a"), Vec::<u64>::new());
        assert_eq!((index.next(), index.count()), (4, 3));
    }
}
