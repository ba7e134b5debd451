//! Registrations, tickets and seat pools: the rules that keep a room from being oversold.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ParticipantId, RegistrationId, TicketCode};

/// What a registration is for. Every target has one seat pool and one waiting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    Challenge(u32),
    /// A mini-conference, by id.
    Conference(u32),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Challenge(n) => write!(f, "challenge {n}"),
            Target::Conference(n) => write!(f, "conference {n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationState {
    Confirmed,
    Waitlisted,
    Cancelled,
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistrationState::Confirmed => "confirmed",
            RegistrationState::Waitlisted => "waitlisted",
            RegistrationState::Cancelled => "cancelled",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: RegistrationId,
    pub participant: ParticipantId,
    pub target: Target,
    pub state: RegistrationState,
    pub ticket: TicketCode,
    /// The registration's slot in its target's waiting list while it is waitlisted. Slots
    /// grow by one per waitlisted registration, so their order is the FIFO order.
    pub wait_slot: Option<u64>,
    pub registered_at_ms: i64,
    pub confirmed_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub checked_in_at_ms: Option<i64>,
}

impl Registration {
    pub fn is_active(&self) -> bool {
        self.state != RegistrationState::Cancelled
    }
}

/// Seats and waiting list of one target. Updated in the same transaction as the
/// registrations it counts; `confirmed <= capacity` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeatPool {
    pub capacity: u32,
    pub confirmed: u32,
    pub waitlisted: u32,
    pub checked_in: u32,
    /// Lowest waiting-list slot that may still be occupied.
    pub wait_head: u64,
    /// Next waiting-list slot to hand out.
    pub wait_tail: u64,
}

/// Where a new registration lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Confirmed,
    /// In the waiting list at `slot`, `position` people in line (1 = next to get a seat).
    Waitlisted {
        slot: u64,
        position: u32,
    },
}

impl SeatPool {
    pub fn new(capacity: u32) -> Self {
        SeatPool {
            capacity,
            ..SeatPool::default()
        }
    }

    pub fn seats_left(&self) -> u32 {
        self.capacity.saturating_sub(self.confirmed)
    }

    /// Seats neither confirmed nor held by a lease ([`crate::lease`]).
    pub fn free(&self, held: u32) -> u32 {
        self.capacity
            .saturating_sub(self.confirmed)
            .saturating_sub(held)
    }

    /// Takes a seat if one is left, else a place at the end of the waiting list.
    pub fn admit(&mut self) -> Admission {
        self.admit_holding(0)
    }

    /// [`SeatPool::admit`] with `held` seats kept by leases: a seat a lease holds is no
    /// one else's.
    pub fn admit_holding(&mut self, held: u32) -> Admission {
        if self.free(held) > 0 {
            self.confirmed += 1;
            Admission::Confirmed
        } else {
            let slot = self.wait_tail;
            self.wait_tail += 1;
            self.waitlisted += 1;
            Admission::Waitlisted {
                slot,
                position: self.waitlisted,
            }
        }
    }

    /// How many waiting people can get a seat now.
    pub fn promotable(&self) -> u32 {
        self.promotable_holding(0)
    }

    /// [`SeatPool::promotable`] with `held` seats kept by leases.
    pub fn promotable_holding(&self, held: u32) -> u32 {
        self.free(held).min(self.waitlisted)
    }
}
