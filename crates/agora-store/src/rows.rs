//! The model's `Rows` port over one writer batch: typed gets and puts on the trees.

use std::sync::RwLock;

use agora_model::{
    Challenge, ChallengeProposal, Conference, Counters, Feedback, LearningTeam, NextAction,
    NotebookEntry, Participant, ParticipantId, ProgramItem, QuestionRef, Registration,
    RegistrationId, Rows, SeatPool, Slot, SlotKey, Stats, Target, Theme, TicketCode,
    lease::{Lease, LeaseSide},
    remote::RemoteRequest,
};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::codec::{decode, encode, i64_key, join, slot_key, target_key, uuid_of};
use crate::index::{self, Derived, TicketIndex};
use crate::wal::TxTrees;
use crate::{StoreError, T};

pub type TxError = StoreError;

pub const STATS_KEY: &[u8] = b"stats";
/// Next ids of the event's other entities (`Counters`).
pub const COUNTERS_KEY: &[u8] = b"event_counters";

pub struct TxRows<'a> {
    pub tx: &'a TxTrees<'a>,
    /// The indexes as of the last batch applied; `tx` holds the later batches' writes.
    pub derived: &'a RwLock<Derived>,
    /// The tickets of the batches committed before this one.
    pub tickets: &'a TicketIndex,
    /// The tickets this batch handed out, for [`TicketIndex`] once the batch is durable.
    pub new_tickets: Vec<(TicketCode, RegistrationId)>,
}

impl TxRows<'_> {
    pub fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>, TxError> {
        self.tx.get(t as usize, key)
    }

    pub fn get<V: DeserializeOwned>(&self, t: T, key: &[u8]) -> Result<Option<V>, TxError> {
        match self.raw(t, key)? {
            Some(bytes) => decode(t.name(), key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn put<V: Serialize>(&self, t: T, key: &[u8], value: &V) -> Result<(), TxError> {
        self.tx.insert(t as usize, key, &encode(value)?);
        Ok(())
    }

    pub fn put_raw(&self, t: T, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.tx.insert(t as usize, key, value);
        Ok(())
    }

    pub fn remove(&self, t: T, key: &[u8]) -> Result<(), TxError> {
        self.tx.remove(t as usize, key);
        Ok(())
    }

    fn id(&self, t: T, key: &[u8]) -> Result<Option<Uuid>, TxError> {
        id_of(t, key, self.raw(t, key)?)
    }

    fn set_id(&self, t: T, key: &[u8], id: Option<Uuid>) -> Result<(), TxError> {
        match id {
            Some(id) => self.put_raw(t, key, id.as_bytes()),
            None => self.remove(t, key),
        }
    }
}

fn id_of(t: T, key: &[u8], value: Option<sled::IVec>) -> Result<Option<Uuid>, TxError> {
    value.map(|v| uuid_of(t.name(), key, &v)).transpose()
}

impl Rows for TxRows<'_> {
    type Error = TxError;

    fn stats(&self) -> Result<Stats, TxError> {
        Ok(self.get(T::Meta, STATS_KEY)?.unwrap_or_default())
    }
    fn put_stats(&mut self, s: &Stats) -> Result<(), TxError> {
        self.put(T::Meta, STATS_KEY, s)
    }
    fn theme(&self, id: &str) -> Result<Option<Theme>, TxError> {
        self.get(T::Themes, id.as_bytes())
    }
    fn put_theme(&mut self, t: &Theme) -> Result<(), TxError> {
        self.put(T::Themes, t.id.as_bytes(), t)
    }
    fn challenge(&self, number: u32) -> Result<Option<Challenge>, TxError> {
        self.get(T::Challenges, &number.to_be_bytes())
    }
    fn put_challenge(&mut self, c: &Challenge) -> Result<(), TxError> {
        self.put(T::Challenges, &c.number.to_be_bytes(), c)
    }
    fn pool(&self, t: Target) -> Result<Option<SeatPool>, TxError> {
        self.get(T::Pools, &target_key(t))
    }
    fn put_pool(&mut self, t: Target, p: &SeatPool) -> Result<(), TxError> {
        self.put(T::Pools, &target_key(t), p)
    }
    fn participant(&self, id: ParticipantId) -> Result<Option<Participant>, TxError> {
        self.get(T::Participants, id.as_bytes())
    }
    fn put_participant(&mut self, p: &Participant) -> Result<(), TxError> {
        self.put(T::Participants, p.id.as_bytes(), p)
    }
    fn registration(&self, id: RegistrationId) -> Result<Option<Registration>, TxError> {
        self.get(T::Registrations, id.as_bytes())
    }
    fn put_registration(&mut self, r: &Registration) -> Result<(), TxError> {
        self.put(T::Registrations, r.id.as_bytes(), r)?;
        // For the applier's in-memory index (crate::index): id → target.
        self.put_raw(T::ByTarget, r.id.as_bytes(), &target_key(r.target))
    }
    fn active(&self, p: ParticipantId) -> Result<Option<RegistrationId>, TxError> {
        let key = p.as_bytes();
        let id = match self.tx.overlay(T::Active as usize, key) {
            Some(v) => id_of(T::Active, key, v)?.map(RegistrationId),
            None => index::read(self.derived).active(p),
        };
        Ok(id)
    }
    fn set_active(&mut self, p: ParticipantId, r: Option<RegistrationId>) -> Result<(), TxError> {
        self.set_id(T::Active, p.as_bytes(), r.map(|r| r.0))
    }
    fn ticket(&self, code: TicketCode) -> Result<Option<RegistrationId>, TxError> {
        let new = self.new_tickets.iter().find(|(c, _)| *c == code);
        Ok(new
            .map(|(_, r)| *r)
            .or_else(|| self.tickets.get(&code).copied()))
    }
    fn put_ticket(&mut self, code: TicketCode, r: RegistrationId) -> Result<(), TxError> {
        // The registration row (written with it) holds the code durably.
        self.new_tickets.push((code, r));
        Ok(())
    }
    fn waiter(&self, t: Target, slot: u64) -> Result<Option<RegistrationId>, TxError> {
        Ok(self
            .id(T::Waiters, &join(&target_key(t), &slot.to_be_bytes()))?
            .map(RegistrationId))
    }
    fn set_waiter(
        &mut self,
        t: Target,
        slot: u64,
        r: Option<RegistrationId>,
    ) -> Result<(), TxError> {
        self.set_id(
            T::Waiters,
            &join(&target_key(t), &slot.to_be_bytes()),
            r.map(|r| r.0),
        )
    }
    fn counters(&self) -> Result<Counters, TxError> {
        Ok(self.get(T::Meta, COUNTERS_KEY)?.unwrap_or_default())
    }
    fn put_counters(&mut self, c: &Counters) -> Result<(), TxError> {
        self.put(T::Meta, COUNTERS_KEY, c)
    }
    fn proposal(&self, id: u32) -> Result<Option<ChallengeProposal>, TxError> {
        self.get(T::Proposals, &id.to_be_bytes())
    }
    fn put_proposal(&mut self, p: &ChallengeProposal) -> Result<(), TxError> {
        self.put(T::Proposals, &p.id.to_be_bytes(), p)
    }
    fn question_refs(&self, key: &str) -> Result<Vec<QuestionRef>, TxError> {
        Ok(self.get(T::Questions, key.as_bytes())?.unwrap_or_default())
    }
    fn put_question_refs(&mut self, key: &str, refs: &[QuestionRef]) -> Result<(), TxError> {
        if refs.is_empty() {
            self.remove(T::Questions, key.as_bytes())
        } else {
            self.put(T::Questions, key.as_bytes(), &refs)
        }
    }
    fn set_challenge_proposal(&mut self, challenge: u32, proposal: u32) -> Result<(), TxError> {
        self.put_raw(
            T::ChallengeProposal,
            &challenge.to_be_bytes(),
            &proposal.to_be_bytes(),
        )
    }
    fn conference(&self, id: u32) -> Result<Option<Conference>, TxError> {
        self.get(T::Conferences, &id.to_be_bytes())
    }
    fn put_conference(&mut self, c: &Conference) -> Result<(), TxError> {
        self.put(T::Conferences, &c.id.to_be_bytes(), c)
    }
    fn slots(&self, key: &SlotKey) -> Result<Vec<Slot>, TxError> {
        Ok(self.get(T::Slots, &slot_key(key))?.unwrap_or_default())
    }
    fn put_slots(&mut self, key: &SlotKey, slots: &[Slot]) -> Result<(), TxError> {
        if slots.is_empty() {
            self.remove(T::Slots, &slot_key(key))
        } else {
            self.put(T::Slots, &slot_key(key), &slots)
        }
    }
    fn team(&self, id: u32) -> Result<Option<LearningTeam>, TxError> {
        self.get(T::Teams, &id.to_be_bytes())
    }
    fn put_team(&mut self, t: &LearningTeam) -> Result<(), TxError> {
        self.put(T::Teams, &t.id.to_be_bytes(), t)
    }
    fn team_of(&self, p: ParticipantId) -> Result<Option<u32>, TxError> {
        self.get(T::TeamOf, p.as_bytes())
    }
    fn set_team_of(&mut self, p: ParticipantId, team: Option<u32>) -> Result<(), TxError> {
        match team {
            Some(t) => self.put(T::TeamOf, p.as_bytes(), &t),
            None => self.remove(T::TeamOf, p.as_bytes()),
        }
    }
    fn put_notebook_entry(&mut self, e: &NotebookEntry) -> Result<(), TxError> {
        let key = crate::codec::notebook_key(e.team, Some(e.moment), Some(e.id));
        self.put(T::Notebook, &key, e)
    }
    fn put_program_item(&mut self, i: &ProgramItem) -> Result<(), TxError> {
        let key = join(&i64_key(i.fields.start_ms), &i.id.to_be_bytes());
        self.put(T::Program, &key, i)
    }
    /// A scan: the program is keyed by start time, and an organiser's edit is rare.
    fn program_item(&self, id: u32) -> Result<Option<ProgramItem>, TxError> {
        let suffix = id.to_be_bytes();
        for (k, v) in self.tx.scan_prefix(T::Program as usize, &[])? {
            if k.ends_with(&suffix) {
                return decode(T::Program.name(), &k, &v).map(Some);
            }
        }
        Ok(None)
    }
    fn remove_program_item(&mut self, i: &ProgramItem) -> Result<(), TxError> {
        let key = join(&i64_key(i.fields.start_ms), &i.id.to_be_bytes());
        self.remove(T::Program, &key)
    }
    fn put_feedback(&mut self, f: &Feedback) -> Result<(), TxError> {
        let key = join(&f.challenge.to_be_bytes(), f.id.as_bytes());
        self.put(T::Feedback, &key, f)
    }
    fn next_action(&self, id: u32) -> Result<Option<NextAction>, TxError> {
        self.get(T::NextActions, &id.to_be_bytes())
    }
    fn put_next_action(&mut self, a: &NextAction) -> Result<(), TxError> {
        self.put(T::NextActions, &a.id.to_be_bytes(), a)
    }
    fn remote_request(&self, request_id: &str) -> Result<Option<RemoteRequest>, TxError> {
        self.get(T::RemoteRequests, request_id.as_bytes())
    }
    fn put_remote_request(&mut self, r: &RemoteRequest) -> Result<(), TxError> {
        self.put(T::RemoteRequests, r.request_id.as_bytes(), r)
    }
    fn remote_of(&self, p: ParticipantId) -> Result<Option<String>, TxError> {
        self.get(T::RemoteOf, p.as_bytes())
    }
    fn set_remote_of(&mut self, p: ParticipantId, request_id: &str) -> Result<(), TxError> {
        self.put(T::RemoteOf, p.as_bytes(), &request_id)
    }
    fn is_remote(&self, challenge: u32) -> Result<bool, TxError> {
        Ok(self
            .raw(T::RemoteChallenges, &challenge.to_be_bytes())?
            .is_some())
    }
    fn leases(&self, owner: Option<&str>, challenge: u32) -> Result<Vec<Lease>, TxError> {
        let prefix = lease_prefix(owner.unwrap_or(""), challenge);
        self.tx
            .scan_prefix(T::Leases as usize, &prefix)?
            .iter()
            .map(|(k, v)| decode(T::Leases.name(), k, v))
            .collect()
    }
    fn put_lease(&mut self, l: &Lease) -> Result<(), TxError> {
        let owner = match l.side {
            LeaseSide::Owner => "",
            LeaseSide::Holder => &l.owner,
        };
        let key = join(
            &lease_prefix(owner, l.challenge),
            &join(&join(l.holder.as_bytes(), &[0]), l.lease_id.as_bytes()),
        );
        self.put(T::Leases, &key, l)
    }
    fn leased_request(&self, request_id: &str) -> Result<Option<String>, TxError> {
        self.get(T::Leases, &join(b"r", request_id.as_bytes()))
    }
    fn set_leased_request(&mut self, request_id: &str, lease_id: &str) -> Result<(), TxError> {
        self.put(T::Leases, &join(b"r", request_id.as_bytes()), &lease_id)
    }
    fn lease_guest(
        &self,
        holder: &str,
        request_id: &str,
    ) -> Result<Option<RegistrationId>, TxError> {
        self.get(T::Leases, &guest_key(holder, request_id))
    }
    fn set_lease_guest(
        &mut self,
        holder: &str,
        request_id: &str,
        registration: RegistrationId,
    ) -> Result<(), TxError> {
        self.put(T::Leases, &guest_key(holder, request_id), &registration)
    }
    fn set_remote(&mut self, challenge: u32, remote: bool) -> Result<(), TxError> {
        if remote {
            self.put(T::RemoteChallenges, &challenge.to_be_bytes(), &())
        } else {
            self.remove(T::RemoteChallenges, &challenge.to_be_bytes())
        }
    }
}

/// Key prefix of the leases on défi `challenge` of `owner` (empty: this site's).
pub(crate) fn lease_prefix(owner: &str, challenge: u32) -> Vec<u8> {
    join(
        &join(b"l", &join(owner.as_bytes(), &[0])),
        &challenge.to_be_bytes(),
    )
}

fn guest_key(holder: &str, request_id: &str) -> Vec<u8> {
    join(
        b"g",
        &join(&join(holder.as_bytes(), &[0]), request_id.as_bytes()),
    )
}
