//! Agora's domain model: challenges, participants, registrations, the change records that
//! describe them, and the rules that govern them.
//!
//! Pure: no IO, no async, no storage engine, no wire format. The store runs [`apply`] inside
//! its transactions; the nodes convert these types to and from protobuf at their edges.

mod challenge;
mod change;
mod command;
pub mod compat;
mod conference;
pub mod erasure;
mod error;
mod exhibition;
pub mod i18n;
mod ids;
pub mod import;
pub mod lease;
mod participant;
mod program;
mod proposal;
mod registration;
pub mod remote;
pub mod schedule;
mod team;
pub mod text;
mod theme;

pub use challenge::{
    Alternative, Challenge, ChallengeFields, ChallengeStatus, Holder, Person, Translation,
    alternatives, check_number,
};
pub use change::{Change, Event, RegistrationEventKind};
pub use command::{
    ApplyError, Command, Counters, Fresh, Outcome, RegistrationKey, Rows, Stats, apply,
};
pub use conference::{Conference, ConferenceFields};
pub use error::{DomainError, ErrorKind};
pub use exhibition::{ActionStatus, Feedback, NextAction, NextActionFields};
pub use i18n::Lang;
pub use ids::{ParticipantId, RegistrationId, SiteId, TicketCode};
pub use participant::{NewParticipant, OrganisationType, Participant, retention_due};
pub use program::{ProgramItem, ProgramItemFields, ProgramKind, default_program};
pub use proposal::{
    ChallengeProposal, ProposalFields, ProposalStatus, QuestionRef, Review, question_key,
};
pub use registration::{Admission, Registration, RegistrationState, SeatPool, Target};
pub use schedule::{Slot, SlotKey};
pub use team::{LearningTeam, Moment, NotebookEntry, TeamFields};
pub use theme::{GRANDES_MUTATIONS, Theme, default_themes};

/// Limits on every text and number field, part of the API contract.
pub mod limits {
    pub use crate::challenge::limits as challenge;
    pub use crate::conference::limits as conference;
    pub use crate::exhibition::limits as exhibition;
    pub use crate::participant::limits as participant;
    pub use crate::program::limits as program;
    pub use crate::proposal::limits as proposal;
    pub use crate::team::limits as team;
    pub use crate::theme::Theme;
    /// Longest accepted `request_id`.
    pub const MAX_REQUEST_ID: usize = 128;
}

pub mod national;
pub mod shared;

/// FNV-1a, 64 bits: a stable fingerprint (the same across Rust versions and machines,
/// unlike `DefaultHasher`), for request fingerprints and state digests. Not cryptographic.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_continue(0xcbf2_9ce4_8422_2325, bytes)
}

/// The running hash of a log after one more record: each record's hash covers every record
/// before it, so two logs with the same hash at a position hold the same history.
pub fn log_hash(previous: Option<u64>, record: &[u8]) -> u64 {
    let h = fnv1a_continue(fnv1a(&[]), &previous.unwrap_or(0).to_be_bytes());
    fnv1a_continue(h, record)
}

/// Continues an FNV-1a hash with more bytes.
pub fn fnv1a_continue(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
