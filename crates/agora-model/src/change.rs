//! Change records: what one mutation did, in domain terms, as shipped by the change log.

use serde::{Deserialize, Serialize};

use crate::{
    Challenge, ChallengeProposal, Conference, Feedback, LearningTeam, NextAction, NotebookEntry,
    Participant, ParticipantId, ProgramItem, Registration, Theme,
    lease::{Lease, LeaseMsg},
    remote::{Guest, RemoteAnswer, RemoteRequest},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationEventKind {
    Confirmed,
    Waitlisted,
    /// Moved from the waiting list to a seat.
    Promoted,
    Cancelled,
    CheckedIn,
}

/// One fact; replaying a log's events in order rebuilds the site's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    ThemeAdded(Theme),
    ChallengeUpserted(Challenge),
    ParticipantUpserted(Participant),
    Registration {
        kind: RegistrationEventKind,
        /// The registration as it is after the event.
        registration: Registration,
    },
    ProposalUpserted(ChallengeProposal),
    ConferenceUpserted(Conference),
    TeamUpserted(LearningTeam),
    NotebookEntryAdded(NotebookEntry),
    ProgramItemAdded(ProgramItem),
    FeedbackAdded(Feedback),
    NextActionUpserted(NextAction),
    /// The participant's personal data was erased (`ForgetParticipant`): the row is now
    /// [`Participant::erased`], and earlier records no longer carry their data. Appended
    /// last: postcard stores variant indexes.
    ParticipantErased(ParticipantId),
    /// A desk asked another site for a seat (`RequestRemote`): goes up as a
    /// [`crate::shared::SharedEvent::RemoteAsk`] under the participant's pseudonym.
    RemoteRequested {
        request: RemoteRequest,
        guest: Guest,
    },
    /// The owner's answer reached the requesting site (stays on the site).
    RemoteRequestUpdated(RemoteRequest),
    /// The owner decided a remote request: goes back to the requesting site.
    RemoteAnswered(RemoteAnswer),
    /// A défi opened to (or closed for) registrations from other sites.
    ChallengeRemoteSet {
        challenge: u32,
        remote: bool,
    },
    /// A program item as edited (`UpdateProgramItem`): replaces the one with its id.
    ProgramItemUpdated(ProgramItem),
    /// A program item cancelled (`CancelProgramItem`): it is no longer in the program.
    ProgramItemCancelled(u32),
    /// A message of a seat lease to the other side ([`crate::lease`]): goes up as a
    /// [`crate::shared::SharedEvent::Lease`], a use under the participant's pseudonym.
    LeaseSent(LeaseMsg),
    /// A lease as this site now holds it, when no message says so (stays on the site).
    LeaseChanged(Lease),
}

/// One record of the change log: every event of one mutation, under one sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub seq: u64,
    pub at_ms: i64,
    pub request_id: String,
    pub events: Vec<Event>,
    /// Running hash of the log up to and including this change ([`crate::log_hash`] of
    /// the previous one's and this change's encoding); `None` for a change written before
    /// the hash existed. Stored after the change's own encoding, not inside it.
    #[serde(skip)]
    pub hash: Option<u64>,
}
