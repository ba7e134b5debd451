//! The model's `Rows` port over one sled transaction: typed gets and puts on the trees.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use agora_model::{
    Challenge, Participant, ParticipantId, Registration, RegistrationId, Rows, SeatPool, Stats,
    Target, Theme, TicketCode,
};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::codec::{decode, encode, join, target_key};
use crate::{StoreError, T};

pub type TxError = ConflictableTransactionError<StoreError>;

pub const STATS_KEY: &[u8] = b"stats";

pub struct TxRows<'a> {
    pub trees: &'a [TransactionalTree],
}

fn abort(e: StoreError) -> TxError {
    ConflictableTransactionError::Abort(e)
}

impl TxRows<'_> {
    pub fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>, TxError> {
        Ok(self.trees[t as usize].get(key)?)
    }

    pub fn get<V: DeserializeOwned>(&self, t: T, key: &[u8]) -> Result<Option<V>, TxError> {
        match self.raw(t, key)? {
            Some(bytes) => decode(t.name(), key, &bytes).map(Some).map_err(abort),
            None => Ok(None),
        }
    }

    pub fn put<V: Serialize>(&self, t: T, key: &[u8], value: &V) -> Result<(), TxError> {
        let bytes = encode(value).map_err(abort)?;
        self.trees[t as usize].insert(key, bytes)?;
        Ok(())
    }

    pub fn put_raw(&self, t: T, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.trees[t as usize].insert(key, value)?;
        Ok(())
    }

    pub fn remove(&self, t: T, key: &[u8]) -> Result<(), TxError> {
        self.trees[t as usize].remove(key)?;
        Ok(())
    }

    fn id(&self, t: T, key: &[u8]) -> Result<Option<Uuid>, TxError> {
        match self.raw(t, key)? {
            None => Ok(None),
            Some(v) => Uuid::from_slice(&v).map(Some).map_err(|_| {
                abort(StoreError::Corrupt {
                    tree: t.name(),
                    key: crate::codec::hex(key),
                    reason: format!("expected a 16-byte id, found {} bytes", v.len()),
                })
            }),
        }
    }

    fn set_id(&self, t: T, key: &[u8], id: Option<Uuid>) -> Result<(), TxError> {
        match id {
            Some(id) => self.put_raw(t, key, id.as_bytes()),
            None => self.remove(t, key),
        }
    }
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
        self.put_raw(
            T::ByTarget,
            &join(&target_key(r.target), r.id.as_bytes()),
            &[],
        )
    }
    fn active(&self, p: ParticipantId) -> Result<Option<RegistrationId>, TxError> {
        Ok(self.id(T::Active, p.as_bytes())?.map(RegistrationId))
    }
    fn set_active(&mut self, p: ParticipantId, r: Option<RegistrationId>) -> Result<(), TxError> {
        self.set_id(T::Active, p.as_bytes(), r.map(|r| r.0))
    }
    fn ticket(&self, code: TicketCode) -> Result<Option<RegistrationId>, TxError> {
        Ok(self.id(T::Tickets, code.as_bytes())?.map(RegistrationId))
    }
    fn put_ticket(&mut self, code: TicketCode, r: RegistrationId) -> Result<(), TxError> {
        self.set_id(T::Tickets, code.as_bytes(), Some(r.0))
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
}
