//! Domain errors: every way a command can be refused, with the facts needed to say why.

use crate::schedule::Utc;
use crate::{
    ChallengeStatus, ParticipantId, ProposalStatus, RegistrationState, Target, TicketCode,
};

/// How a client should read an error; each node maps it to its transport's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is malformed: fix the named field.
    InvalidArgument,
    /// Something the request names does not exist.
    NotFound,
    /// What the request would create already exists.
    AlreadyExists,
    /// The request is well formed but the current state refuses it.
    FailedPrecondition,
    /// The caller is known but may not do this (a revoked site, a wrong credential).
    PermissionDenied,
}

/// A command refused by the domain rules. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    #[error("challenge {0} not found")]
    ChallengeNotFound(u32),
    #[error("participant {0} not found")]
    ParticipantNotFound(ParticipantId),
    #[error("registration {0} not found")]
    RegistrationNotFound(String),
    #[error("ticket {0} not found")]
    TicketNotFound(TicketCode),
    #[error("challenge {0} already exists")]
    ChallengeExists(u32),
    #[error("theme {0:?} already exists")]
    ThemeExists(String),
    #[error("no challenge number left below {max}")]
    NoChallengeNumberLeft { max: u32 },
    #[error("participant {participant} is already registered to {target} (ticket {ticket})")]
    AlreadyRegistered {
        participant: ParticipantId,
        target: Target,
        ticket: TicketCode,
    },
    #[error("participant {participant} is already registered to conference {conference}")]
    AlreadyRegisteredConference {
        participant: ParticipantId,
        conference: u32,
    },
    #[error("proposal {0} not found")]
    ProposalNotFound(u32),
    #[error("proposal {proposal} is already {status}: it can no longer change")]
    ProposalClosed {
        proposal: u32,
        status: ProposalStatus,
    },
    #[error("conference {0} not found")]
    ConferenceNotFound(u32),
    #[error("learning team {0} not found")]
    TeamNotFound(u32),
    #[error("program item {0} not found")]
    ProgramItemNotFound(u32),
    #[error("next action {0} not found")]
    NextActionNotFound(u32),
    #[error("room {room:?} is taken by {by} from {start} to {end}")]
    RoomTaken {
        room: String,
        by: String,
        start: Utc,
        end: Utc,
    },
    #[error("speaker {speaker} already gives conference {conference} from {start} to {end}")]
    SpeakerBusy {
        speaker: ParticipantId,
        conference: u32,
        start: Utc,
        end: Utc,
    },
    #[error(
        "participant {participant} is registered to conference {conference}, which overlaps it ({start} to {end})"
    )]
    AttendeeBusy {
        participant: ParticipantId,
        conference: u32,
        start: Utc,
        end: Utc,
    },
    #[error("learning team {team} is full ({max} members)")]
    TeamFull { team: u32, max: u32 },
    #[error("participant {participant} is already in learning team {team}")]
    InTeam {
        participant: ParticipantId,
        team: u32,
    },
    #[error("participant {participant} is not a member of learning team {team}")]
    NotTeamMember {
        participant: ParticipantId,
        team: u32,
    },
    #[error(
        "participant {participant} is registered to challenge {challenge}; set move to release that seat and register here"
    )]
    RegisteredElsewhere {
        participant: ParticipantId,
        challenge: u32,
    },
    #[error("challenge {challenge} is not open for registration (status {status})")]
    NotOpen {
        challenge: u32,
        status: ChallengeStatus,
    },
    #[error(
        "challenge {challenge} is at version {current}, not {expected}: read it again and retry"
    )]
    StaleVersion {
        challenge: u32,
        current: u64,
        expected: u64,
    },
    #[error(
        "capacity {capacity} is below the {confirmed} confirmed registrations of challenge {challenge}"
    )]
    CapacityBelowConfirmed {
        challenge: u32,
        capacity: u32,
        confirmed: u32,
    },
    #[error("ticket {ticket} is {state}, not confirmed: it cannot be checked in")]
    NotConfirmed {
        ticket: TicketCode,
        state: RegistrationState,
    },
    #[error("registration {0} is already cancelled")]
    AlreadyCancelled(String),
    #[error("no free ticket code found after {attempts} attempts")]
    TicketSpaceExhausted { attempts: usize },
    #[error("participant {0} was erased: their data is gone and they can take no part")]
    ParticipantErased(ParticipantId),
    #[error(
        "participant {participant} is registered (or waiting) for challenge {challenge} at {site}"
    )]
    RegisteredRemotely {
        participant: ParticipantId,
        site: String,
        challenge: u32,
    },
    #[error("challenge {0} does not take registrations from other sites")]
    NotRemote(u32),
    #[error("remote request {0} not found")]
    RemoteRequestNotFound(String),
    #[error("the request from {site} expired before it arrived")]
    RemoteExpired { site: String },
    #[error(
        "capacity {capacity} is below the {confirmed} confirmed registrations and {held} seats held by leases of challenge {challenge}"
    )]
    CapacityBelowHeld {
        challenge: u32,
        capacity: u32,
        confirmed: u32,
        held: u32,
    },
    #[error(
        "challenge {challenge} has no seat free to lease ({confirmed} confirmed, {held} held, capacity {capacity})"
    )]
    NoSeatToLease {
        challenge: u32,
        capacity: u32,
        confirmed: u32,
        held: u32,
    },
    #[error("remote request {0} took no seat of a lease: only a leased seat is cancelled here")]
    NotLeased(String),
    #[error("seat lease {0} not found")]
    LeaseNotFound(String),
}

impl DomainError {
    /// Shorthand for an invalid field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        use DomainError::*;
        match self {
            Invalid { .. } => ErrorKind::InvalidArgument,
            ChallengeNotFound(_)
            | ParticipantNotFound(_)
            | RegistrationNotFound(_)
            | TicketNotFound(_)
            | ProposalNotFound(_)
            | ConferenceNotFound(_)
            | TeamNotFound(_)
            | ProgramItemNotFound(_)
            | NextActionNotFound(_)
            | RemoteRequestNotFound(_)
            | LeaseNotFound(_) => ErrorKind::NotFound,
            ChallengeExists(_)
            | ThemeExists(_)
            | AlreadyRegistered { .. }
            | AlreadyRegisteredConference { .. }
            | InTeam { .. } => ErrorKind::AlreadyExists,
            NoChallengeNumberLeft { .. }
            | RegisteredElsewhere { .. }
            | NotOpen { .. }
            | StaleVersion { .. }
            | CapacityBelowConfirmed { .. }
            | NotConfirmed { .. }
            | AlreadyCancelled(_)
            | TicketSpaceExhausted { .. }
            | ProposalClosed { .. }
            | RoomTaken { .. }
            | SpeakerBusy { .. }
            | AttendeeBusy { .. }
            | TeamFull { .. }
            | NotTeamMember { .. }
            | ParticipantErased(_)
            | RegisteredRemotely { .. }
            | NotRemote(_)
            | RemoteExpired { .. }
            | CapacityBelowHeld { .. }
            | NoSeatToLease { .. }
            | NotLeased(_) => ErrorKind::FailedPrecondition,
        }
    }
}
