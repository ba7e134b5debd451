//! Seat leases ([`agora_model::lease`]) on the wire: the lease as a site shows it, and the
//! messages between holder and owner that travel the remote requests' road.

use agora_model::lease::{Lease, LeaseMsg, LeaseSide, LeaseState, LeaseStep};
use agora_model::remote::Guest;
use agora_model::{DomainError, ParticipantId};
use agora_proto::v1 as pb;

use super::{bad, organisation, organisation_from};

pub fn seat_lease(l: &Lease) -> pb::SeatLease {
    let (state, reason) = match &l.state {
        LeaseState::Pending => (pb::LeaseState::Pending, String::new()),
        LeaseState::Granted => (pb::LeaseState::Granted, String::new()),
        LeaseState::Refused { reason } => (pb::LeaseState::Refused, reason.clone()),
        LeaseState::Closed => (pb::LeaseState::Closed, String::new()),
    };
    pb::SeatLease {
        lease_id: l.lease_id.clone(),
        holder_site_id: l.holder.clone(),
        owner_site_id: l.owner.clone(),
        challenge_number: l.challenge,
        asked: l.asked,
        seats: l.seats,
        used: l.used,
        until_ms: l.until_ms,
        state: state.into(),
        reason,
        created_at_ms: l.created_at_ms,
        held_here: l.side == LeaseSide::Holder,
    }
}

fn seat_lease_from(l: pb::SeatLease, side: LeaseSide) -> Result<Lease, DomainError> {
    let state = match pb::LeaseState::try_from(l.state) {
        Ok(pb::LeaseState::Pending) => LeaseState::Pending,
        Ok(pb::LeaseState::Granted) => LeaseState::Granted,
        Ok(pb::LeaseState::Refused) => LeaseState::Refused { reason: l.reason },
        Ok(pb::LeaseState::Closed) => LeaseState::Closed,
        _ => {
            return Err(bad(
                "lease.state",
                "must be PENDING, GRANTED, REFUSED or CLOSED",
            ));
        }
    };
    Ok(Lease {
        lease_id: l.lease_id,
        side,
        holder: l.holder_site_id,
        owner: l.owner_site_id,
        challenge: l.challenge_number,
        asked: l.asked,
        seats: l.seats,
        used: l.used,
        until_ms: l.until_ms,
        created_at_ms: l.created_at_ms,
        state,
    })
}

/// A lease message on the wire; `from` is set in a Downlink (empty upstream).
pub fn lease_message(from: &str, m: &LeaseMsg) -> pb::LeaseMessage {
    let mut out = pb::LeaseMessage {
        lease: Some(seat_lease(&m.lease)),
        from_site_id: from.to_owned(),
        ..Default::default()
    };
    let step = match &m.step {
        LeaseStep::Ask => pb::LeaseStep::Ask,
        LeaseStep::Answer => pb::LeaseStep::Answer,
        LeaseStep::Use {
            request_id,
            participant,
            guest,
        } => {
            out.request_id = request_id.clone();
            out.participant_id = participant.to_string();
            out.organisation_type = organisation(guest.organisation_type).into();
            out.language = guest.language.clone();
            pb::LeaseStep::Use
        }
        LeaseStep::Release { request_id } => {
            out.request_id = request_id.clone();
            pb::LeaseStep::Release
        }
        LeaseStep::Close => pb::LeaseStep::Close,
    };
    out.step = step.into();
    out
}

/// A lease message from the wire, with the site it came from (empty upstream).
pub fn lease_message_from(m: pb::LeaseMessage) -> Result<(String, LeaseMsg), DomainError> {
    let step = match pb::LeaseStep::try_from(m.step) {
        Ok(pb::LeaseStep::Ask) => LeaseStep::Ask,
        Ok(pb::LeaseStep::Answer) => LeaseStep::Answer,
        Ok(pb::LeaseStep::Use) => LeaseStep::Use {
            request_id: m.request_id,
            participant: ParticipantId::parse("lease.participant_id", &m.participant_id)?,
            guest: Guest {
                organisation_type: organisation_from(m.organisation_type)?,
                language: m.language,
            },
        },
        Ok(pb::LeaseStep::Release) => LeaseStep::Release {
            request_id: m.request_id,
        },
        Ok(pb::LeaseStep::Close) => LeaseStep::Close,
        _ => {
            return Err(bad(
                "lease.step",
                "must be ASK, ANSWER, USE, RELEASE or CLOSE",
            ));
        }
    };
    // The lease as its sender holds it: the owner answers, the holder sends the rest.
    let side = match step {
        LeaseStep::Answer => LeaseSide::Owner,
        _ => LeaseSide::Holder,
    };
    let lease = seat_lease_from(
        m.lease.ok_or_else(|| bad("lease.lease", "is required"))?,
        side,
    )?;
    Ok((m.from_site_id, LeaseMsg { step, lease }))
}
