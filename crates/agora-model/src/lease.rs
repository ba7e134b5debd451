//! Seats held by a partner desk: a block of seats of another site's défi that one site (the
//! holder) holds until a time, granted by the défi's owner; the holder's desk registers into
//! it at once, even offline, and the uses reach the owner later. The messages travel the
//! road of [`crate::remote`]: up the sender's log, routed by the national node down the one
//! site they name.
//!
//! The owner's rule: its confirmed registrations plus the seats its leases still hold never
//! exceed the capacity ([`within_capacity`]). A seat a lease holds is free for nobody else
//! until the owner knows it is unused: the holder closes the lease with its final count
//! once its own clock passes `until` (uses are all made before, and travel before the close
//! in the same log), and the owner frees the rest when the close arrives; a lease whose
//! close never came holds nothing [`LEASE_BACKSTOP_MS`] after its `until`.

use serde::{Deserialize, Serialize};

use crate::remote::{self, Guest};
use crate::{DomainError, ParticipantId, SeatPool, SiteId, check_number, text};

/// How long past `until` the owner keeps a lease's unused seats if the holder's close never
/// arrives (a holder gone for good): long, since a use made before `until` may still be
/// on its way from a site that is offline.
pub const LEASE_BACKSTOP_MS: i64 = 24 * 3600 * 1000;

/// Longest lease: `until` at most this far ahead.
pub const MAX_LEASE_MS: i64 = 7 * 24 * 3600 * 1000;

/// Most seats one lease asks for.
pub const MAX_LEASE_SEATS: u32 = 10_000;

/// Which side of a lease this site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseSide {
    /// This site asked for the seats and registers into them.
    Holder,
    /// This site owns the défi and granted the seats.
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseState {
    /// Asked, the owner has not answered yet (holder only).
    Pending,
    /// `seats` held until `until_ms`.
    Granted,
    /// The owner's rules refused it (in its words).
    Refused { reason: String },
    /// Closed by the holder past `until_ms`: the unused seats are the owner's again.
    Closed,
}

/// A block of seats of the owner's défi `challenge` held by `holder`, as either side keeps
/// it. `lease_id` is the request id the holder's organiser asked with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub lease_id: String,
    pub side: LeaseSide,
    pub holder: String,
    pub owner: String,
    pub challenge: u32,
    /// Seats asked for.
    pub asked: u32,
    /// Seats granted (0 until granted).
    pub seats: u32,
    /// Seats taken by registrations (at the holder: confirmed there; at the owner: the
    /// guests it recorded against the lease).
    pub used: u32,
    pub until_ms: i64,
    pub created_at_ms: i64,
    pub state: LeaseState,
}

impl Lease {
    /// At the owner: the seats it keeps from everyone else at `now` (granted and unused,
    /// until the holder's close or the backstop).
    pub fn held(&self, now_ms: i64) -> u32 {
        if self.counts_at_owner(now_ms) {
            self.seats.saturating_sub(self.used)
        } else {
            0
        }
    }

    /// At the owner: whether a use that arrives now is taken from the lease.
    pub fn counts_at_owner(&self, now_ms: i64) -> bool {
        self.state == LeaseState::Granted && now_ms <= self.until_ms + LEASE_BACKSTOP_MS
    }

    /// At the holder: whether its desk may confirm one more registration from it now.
    pub fn usable(&self, now_ms: i64) -> bool {
        self.state == LeaseState::Granted && now_ms < self.until_ms && self.used < self.seats
    }

    /// At the holder: granted and past `until`, so it is to be closed.
    pub fn due(&self, now_ms: i64) -> bool {
        self.side == LeaseSide::Holder
            && self.state == LeaseState::Granted
            && now_ms >= self.until_ms
    }
}

/// Seats the owner's leases hold at `now`.
pub fn held(leases: &[Lease], now_ms: i64) -> u32 {
    leases.iter().map(|l| l.held(now_ms)).sum()
}

/// The owner's invariant: confirmed registrations plus held seats within the capacity.
pub fn within_capacity(pool: &SeatPool, held: u32) -> bool {
    u64::from(pool.confirmed) + u64::from(held) <= u64::from(pool.capacity)
}

/// How many of `asked` seats the owner grants: what is free, neither confirmed nor held.
pub fn grant(asked: u32, pool: &SeatPool, held: u32) -> u32 {
    asked.min(pool.free(held))
}

/// What travels between the holder and the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseStep {
    /// Holder → owner: asks for `lease.asked` seats until `lease.until_ms`.
    Ask,
    /// Owner → holder: granted (`lease.seats`) or refused.
    Answer,
    /// Holder → owner: a registration confirmed into the lease, under the request id the
    /// desk used and the participant's pseudonym.
    Use {
        request_id: String,
        participant: ParticipantId,
        guest: Guest,
    },
    /// Holder → owner: that registration was cancelled; its seat is the lease's again.
    Release { request_id: String },
    /// Holder → owner: past `until`, with the final count in `lease.used`.
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseMsg {
    pub step: LeaseStep,
    /// The lease as the sender holds it after this step.
    pub lease: Lease,
}

impl LeaseMsg {
    /// The one site the message is for.
    pub fn to(&self) -> &str {
        match self.step {
            LeaseStep::Answer => &self.lease.holder,
            _ => &self.lease.owner,
        }
    }

    /// A short name of the step, for request ids.
    pub fn step_name(&self) -> &'static str {
        match self.step {
            LeaseStep::Ask => "ask",
            LeaseStep::Answer => "answer",
            LeaseStep::Use { .. } => "use",
            LeaseStep::Release { .. } => "release",
            LeaseStep::Close => "close",
        }
    }
}

/// Checks the fields of a new lease request at the holder.
pub fn check_request(
    lease_id: &str,
    site: &str,
    challenge: u32,
    seats: u32,
    until_ms: i64,
    now_ms: i64,
) -> Result<(), DomainError> {
    remote::check_request(lease_id, site, challenge)?;
    if !(1..=MAX_LEASE_SEATS).contains(&seats) {
        return Err(DomainError::invalid(
            "seats",
            format!("must be between 1 and {MAX_LEASE_SEATS} (got {seats})"),
        ));
    }
    if until_ms <= now_ms {
        return Err(DomainError::invalid("until_ms", "must be in the future"));
    }
    if until_ms - now_ms > MAX_LEASE_MS {
        return Err(DomainError::invalid(
            "until_ms",
            format!(
                "must be within {} days from now",
                MAX_LEASE_MS / (24 * 3600 * 1000)
            ),
        ));
    }
    Ok(())
}

/// Checks a lease message as it reaches the national node (`path` names the event).
pub fn check_msg(path: &str, m: &LeaseMsg) -> Result<(), DomainError> {
    let l = &m.lease;
    let f = |name: &str| format!("{path}.lease.{name}");
    SiteId::parse(&f("holder_site_id"), &l.holder)?;
    SiteId::parse(&f("owner_site_id"), &l.owner)?;
    if l.holder == l.owner {
        return Err(DomainError::invalid(
            f("owner_site_id"),
            "is the holder: a site holds no lease on its own défi",
        ));
    }
    check_number(&f("challenge_number"), l.challenge)?;
    remote::check_request_id(&f("lease_id"), &l.lease_id)?;
    if l.asked > MAX_LEASE_SEATS || l.seats > MAX_LEASE_SEATS {
        return Err(DomainError::invalid(
            f("seats"),
            format!("must be at most {MAX_LEASE_SEATS}"),
        ));
    }
    if let LeaseState::Refused { reason } = &l.state {
        text::checked(&f("reason"), reason, 1, remote::MAX_REASON)?;
    }
    match &m.step {
        LeaseStep::Use {
            request_id, guest, ..
        } => {
            remote::check_request_id(&f("request_id"), request_id)?;
            crate::participant::check_language(&guest.language)
                .map_err(|_| DomainError::invalid(f("language"), "unknown"))?;
        }
        LeaseStep::Release { request_id } => {
            remote::check_request_id(&f("request_id"), request_id)?;
        }
        LeaseStep::Ask | LeaseStep::Answer | LeaseStep::Close => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
