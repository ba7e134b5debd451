//! Indexes of a site's registrations held in memory instead of in sled, rebuilt from the
//! registrations tree each time the store opens (after the write-ahead log's replay, so
//! from every acknowledged registration).
//!
//! Each row kept in sled costs an insert on the applier and, for keys that land anywhere
//! in a large tree, page reads and leaf splits; three indexes per registration were a
//! quarter of a site's CPU at 64 clients (docs/BENCHMARKS.md items 12 and 13). Nothing in
//! them is not already in the registration rows: a registration's ticket code, target
//! and state never leave it, and registrations are never deleted.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use agora_model::{ParticipantId, Registration, RegistrationId, Target, TicketCode};
use uuid::Uuid;

use crate::codec::{decode, hex, target_of};
use crate::wal::{TreeSet, Writes};
use crate::{StoreError, T};

/// Ticket code → registration, for every registration ever made (codes are never reused).
/// Only the writer reads it, to draw a free code and to find the registration a check-in
/// or a cancellation names, so the writer owns it and extends it once a batch is durable.
/// Each entry is 22 bytes of code and id plus the hash table's slack.
pub type TicketIndex = HashMap<TicketCode, RegistrationId>;

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
    Uuid::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        tree: t.name(),
        key: hex(key),
        reason: format!("expected a 16-byte id, found {} bytes", bytes.len()),
    })
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
