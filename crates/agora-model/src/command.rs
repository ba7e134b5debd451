//! Commands: every mutation of a site, applied to its rows by the rules.
//!
//! [`apply`] reads and writes through the [`Rows`] port, which the store implements over
//! one storage transaction. A command returns a [`DomainError`] only before its first
//! write, so a refused command leaves nothing behind even when it shares a transaction with
//! others; errors after the first write come from storage and abort the whole transaction.

use serde::{Deserialize, Serialize};

use crate::{
    ActionStatus, Admission, Challenge, ChallengeFields, ChallengeProposal, ChallengeStatus,
    Conference, ConferenceFields, DomainError, Event, Feedback, LearningTeam, Moment,
    NewParticipant, NextAction, NextActionFields, NotebookEntry, Participant, ParticipantId,
    ProgramItem, ProgramItemFields, ProposalFields, QuestionRef, Registration,
    RegistrationEventKind as Kind, RegistrationId, RegistrationState, Review, SeatPool, Slot,
    SlotKey, Target, TeamFields, Theme, TicketCode, challenge,
    lease::{Lease, LeaseMsg},
    remote::{RemoteAnswer, RemoteAsk, RemoteRequest},
};

mod event;
mod lease;
mod remote;

/// Site-wide counters, kept in the same transaction as the rows they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub challenges: u32,
    pub participants: u32,
    /// Confirmed or waitlisted registrations.
    pub active_registrations: u32,
    /// Highest challenge number in use, for "take the next number".
    pub max_challenge_number: u32,
}

/// Counters of the event's other entities (their next ids), kept apart from [`Stats`] so
/// that stored `Stats` keep their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    pub proposals: u32,
    pub conferences: u32,
    pub teams: u32,
    pub program_items: u32,
    pub next_actions: u32,
}

/// A mutation of site-owned data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    AddTheme {
        label: String,
    },
    CreateChallenge {
        /// `None` takes the next free number.
        number: Option<u32>,
        fields: ChallengeFields,
    },
    UpdateChallenge {
        number: u32,
        expected_version: u64,
        fields: ChallengeFields,
    },
    CreateParticipant(NewParticipant),
    Register {
        participant: ParticipantId,
        challenge: u32,
        /// Release the participant's other registration, if any, in the same command.
        move_: bool,
    },
    Cancel(RegistrationKey),
    CheckIn(TicketCode),
    SubmitProposal(ProposalFields),
    /// Rewrites a proposal still open (submitted or needing changes); it is submitted again.
    UpdateProposal {
        id: u32,
        fields: ProposalFields,
    },
    ReviewProposal {
        id: u32,
        review: Review,
        comment: String,
    },
    CreateConference(ConferenceFields),
    /// Same path as [`Command::Register`]: seats, waiting list, ticket, check-in.
    RegisterConference {
        participant: ParticipantId,
        conference: u32,
    },
    CreateTeam(TeamFields),
    JoinTeam {
        team: u32,
        participant: ParticipantId,
    },
    LeaveTeam {
        team: u32,
        participant: ParticipantId,
    },
    AddNotebookEntry {
        team: u32,
        moment: Moment,
        author: ParticipantId,
        text: String,
    },
    /// Adds items to the program, all or none.
    AddProgramItems(Vec<ProgramItemFields>),
    /// Adds the seed's three-day sequence starting at this local midnight (UTC ms).
    CreateDefaultProgram {
        first_day_ms: i64,
    },
    AddFeedback {
        challenge: u32,
        author: String,
        text: String,
    },
    AddNextAction {
        challenge: u32,
        fields: NextActionFields,
    },
    SetNextActionStatus {
        id: u32,
        status: ActionStatus,
    },
    /// Rewrites a participant's fields and consent (withdrawing consent takes the name out
    /// of what goes up).
    UpdateParticipant {
        id: ParticipantId,
        fields: NewParticipant,
    },
    /// Erases a participant's personal data (GDPR art. 17): see [`Participant::erased`].
    ForgetParticipant(ParticipantId),
    /// Asks another site for a seat at its défi ([`crate::remote`]); the desk's request id
    /// names the request end to end. Appended last, like every later variant.
    RequestRemote {
        request_id: String,
        participant: ParticipantId,
        site: String,
        challenge: u32,
    },
    /// At the owner: the ask of site `from` (named by the national node, which routed it),
    /// decided under this site's rules; a refusal is an answer too.
    ApplyRemoteAsk {
        from: String,
        ask: RemoteAsk,
    },
    /// At the requesting site: the answer of the owner `from`.
    ApplyRemoteAnswer {
        from: String,
        answer: RemoteAnswer,
    },
    /// Opens a défi to registrations from other sites (or closes it again).
    SetChallengeRemote {
        challenge: u32,
        remote: bool,
    },
    /// Replaces a program item's fields (checked like a new item's, against its room).
    UpdateProgramItem {
        id: u32,
        fields: ProgramItemFields,
    },
    /// Removes a program item from the program (and frees its room).
    CancelProgramItem(u32),
    /// Asks the owner `site` for `seats` seats of its défi until `until_ms`
    /// ([`crate::lease`]); `lease_id` (the organiser's request id) names the lease end to
    /// end, `holder` is this site.
    RequestSeatLease {
        lease_id: String,
        holder: String,
        site: String,
        challenge: u32,
        seats: u32,
        until_ms: i64,
    },
    /// A lease message of site `from` (named by the national node, which routed it).
    ApplyLease {
        from: String,
        msg: LeaseMsg,
    },
    /// At the holder, past `until`: closes the lease with its final count.
    CloseSeatLease {
        site: String,
        challenge: u32,
        lease_id: String,
    },
    /// At the holder: cancels a registration confirmed from a lease; the seat is the
    /// lease's again and the owner is told.
    CancelRemote {
        request_id: String,
    },
}

impl Command {
    /// The registration of `participant` to `target`: [`Command::Register`] for a challenge
    /// (`move_` releases their other challenge registration in the same command), and
    /// [`Command::RegisterConference`] for a conference, where `move_` has no meaning.
    /// Both edges (gRPC and web) build registrations here.
    pub fn register(
        participant: ParticipantId,
        target: Target,
        move_: bool,
    ) -> Result<Command, DomainError> {
        match target {
            Target::Challenge(challenge) => Ok(Command::Register {
                participant,
                challenge,
                move_,
            }),
            Target::Conference(_) if move_ => Err(DomainError::invalid(
                "move",
                "applies to challenges only: conference registrations do not exclude each other",
            )),
            Target::Conference(conference) => Ok(Command::RegisterConference {
                participant,
                conference,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationKey {
    Id(RegistrationId),
    Ticket(TicketCode),
}

/// What a command answered; stored with its request id so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    ThemeAdded(Theme),
    Challenge {
        challenge: Challenge,
        seats: SeatPool,
        promoted: Vec<Registration>,
    },
    Participant(Participant),
    Registered {
        registration: Registration,
        /// Place in the waiting list when waitlisted.
        position: Option<u32>,
        released: Option<Registration>,
        promoted: Vec<Registration>,
    },
    Cancelled {
        registration: Registration,
        promoted: Vec<Registration>,
    },
    CheckedIn {
        registration: Registration,
        already: bool,
        display_name: String,
    },
    Proposal(ChallengeProposal),
    ProposalReviewed {
        proposal: ChallengeProposal,
        /// The challenge made from it, when accepted.
        challenge: Option<(Challenge, SeatPool)>,
    },
    Conference {
        conference: Conference,
        seats: SeatPool,
    },
    Team(LearningTeam),
    NotebookEntry(NotebookEntry),
    ProgramItems(Vec<ProgramItem>),
    Feedback(Feedback),
    NextAction(NextAction),
    /// `ForgetParticipant`: the participant whose data is erased; `already` when an
    /// earlier request had erased it. Appended last: answers are stored with postcard.
    ParticipantForgotten {
        participant: ParticipantId,
        already: bool,
    },
    /// `RequestRemote`, `ApplyRemoteAnswer`: the request as the requesting site holds it.
    Remote(RemoteRequest),
    /// `ApplyRemoteAsk`: what the owner decided.
    RemoteAnswered(RemoteAnswer),
    ChallengeRemote {
        challenge: u32,
        remote: bool,
    },
    /// `CancelProgramItem`: the item as it was.
    ProgramItemCancelled(ProgramItem),
    /// `RequestSeatLease`, `ApplyLease`, `CloseSeatLease`: the lease as this site holds it.
    Lease(Lease),
}

/// Fresh values a command may need, drawn by the caller (the model has no randomness).
#[derive(Debug, Clone)]
pub struct Fresh {
    pub now_ms: i64,
    /// Id for a new participant or registration (time-ordered UUID).
    pub id: uuid::Uuid,
    /// Ticket codes to try in order; the first unused one is taken.
    pub tickets: Vec<TicketCode>,
}

/// Why [`apply`] failed: the rules refused it, or storage did.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<E> {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage: {0}")]
    Storage(E),
    /// A row another row points to is missing: the data is damaged.
    #[error("inconsistent data: {what} {key} is missing")]
    Inconsistent { what: &'static str, key: String },
}

/// Typed access to the site's rows inside one transaction.
pub trait Rows {
    type Error;
    fn stats(&self) -> Result<Stats, Self::Error>;
    fn put_stats(&mut self, s: &Stats) -> Result<(), Self::Error>;
    fn theme(&self, id: &str) -> Result<Option<Theme>, Self::Error>;
    fn put_theme(&mut self, t: &Theme) -> Result<(), Self::Error>;
    fn challenge(&self, number: u32) -> Result<Option<Challenge>, Self::Error>;
    fn put_challenge(&mut self, c: &Challenge) -> Result<(), Self::Error>;
    fn pool(&self, t: Target) -> Result<Option<SeatPool>, Self::Error>;
    fn put_pool(&mut self, t: Target, p: &SeatPool) -> Result<(), Self::Error>;
    fn participant(&self, id: ParticipantId) -> Result<Option<Participant>, Self::Error>;
    fn put_participant(&mut self, p: &Participant) -> Result<(), Self::Error>;
    fn registration(&self, id: RegistrationId) -> Result<Option<Registration>, Self::Error>;
    /// Writes a registration (and whatever index the implementation keeps by target).
    fn put_registration(&mut self, r: &Registration) -> Result<(), Self::Error>;
    /// The participant's active challenge registration.
    fn active(&self, p: ParticipantId) -> Result<Option<RegistrationId>, Self::Error>;
    fn set_active(
        &mut self,
        p: ParticipantId,
        r: Option<RegistrationId>,
    ) -> Result<(), Self::Error>;
    fn ticket(&self, code: TicketCode) -> Result<Option<RegistrationId>, Self::Error>;
    fn put_ticket(&mut self, code: TicketCode, r: RegistrationId) -> Result<(), Self::Error>;
    fn waiter(&self, t: Target, slot: u64) -> Result<Option<RegistrationId>, Self::Error>;
    fn set_waiter(
        &mut self,
        t: Target,
        slot: u64,
        r: Option<RegistrationId>,
    ) -> Result<(), Self::Error>;
    fn counters(&self) -> Result<Counters, Self::Error>;
    fn put_counters(&mut self, c: &Counters) -> Result<(), Self::Error>;
    fn proposal(&self, id: u32) -> Result<Option<ChallengeProposal>, Self::Error>;
    fn put_proposal(&mut self, p: &ChallengeProposal) -> Result<(), Self::Error>;
    /// Challenges and proposals whose question folds to `key` (see `question_key`).
    fn question_refs(&self, key: &str) -> Result<Vec<QuestionRef>, Self::Error>;
    /// Replaces the list; an empty list removes the row.
    fn put_question_refs(&mut self, key: &str, refs: &[QuestionRef]) -> Result<(), Self::Error>;
    /// Records the proposal a challenge was made from.
    fn set_challenge_proposal(&mut self, challenge: u32, proposal: u32) -> Result<(), Self::Error>;
    fn conference(&self, id: u32) -> Result<Option<Conference>, Self::Error>;
    fn put_conference(&mut self, c: &Conference) -> Result<(), Self::Error>;
    /// The occupied slots under `key` (a room, a speaker, an attendee).
    fn slots(&self, key: &SlotKey) -> Result<Vec<Slot>, Self::Error>;
    /// Replaces the list; an empty list removes the row.
    fn put_slots(&mut self, key: &SlotKey, slots: &[Slot]) -> Result<(), Self::Error>;
    fn team(&self, id: u32) -> Result<Option<LearningTeam>, Self::Error>;
    fn put_team(&mut self, t: &LearningTeam) -> Result<(), Self::Error>;
    /// The learning team a participant belongs to.
    fn team_of(&self, p: ParticipantId) -> Result<Option<u32>, Self::Error>;
    fn set_team_of(&mut self, p: ParticipantId, team: Option<u32>) -> Result<(), Self::Error>;
    fn put_notebook_entry(&mut self, e: &NotebookEntry) -> Result<(), Self::Error>;
    fn put_program_item(&mut self, i: &ProgramItem) -> Result<(), Self::Error>;
    /// The program item with this id.
    fn program_item(&self, id: u32) -> Result<Option<ProgramItem>, Self::Error>;
    /// Removes the item as stored (`i` as [`Rows::program_item`] returned it).
    fn remove_program_item(&mut self, i: &ProgramItem) -> Result<(), Self::Error>;
    fn put_feedback(&mut self, f: &Feedback) -> Result<(), Self::Error>;
    fn next_action(&self, id: u32) -> Result<Option<NextAction>, Self::Error>;
    fn put_next_action(&mut self, a: &NextAction) -> Result<(), Self::Error>;
    /// A remote request this site made, by its request id.
    fn remote_request(&self, request_id: &str) -> Result<Option<RemoteRequest>, Self::Error>;
    fn put_remote_request(&mut self, r: &RemoteRequest) -> Result<(), Self::Error>;
    /// The participant's latest remote request (its request id).
    fn remote_of(&self, p: ParticipantId) -> Result<Option<String>, Self::Error>;
    fn set_remote_of(&mut self, p: ParticipantId, request_id: &str) -> Result<(), Self::Error>;
    /// The leases this site granted on its défi `challenge` (`owner` None), or holds on
    /// the défi `challenge` of `owner`.
    fn leases(&self, owner: Option<&str>, challenge: u32) -> Result<Vec<Lease>, Self::Error>;
    /// Writes a lease where [`Rows::leases`] finds it (by its side, owner and challenge).
    fn put_lease(&mut self, l: &Lease) -> Result<(), Self::Error>;
    /// At the holder: the lease a remote request was confirmed from.
    fn leased_request(&self, request_id: &str) -> Result<Option<String>, Self::Error>;
    fn set_leased_request(&mut self, request_id: &str, lease_id: &str) -> Result<(), Self::Error>;
    /// At the owner: the registration made for `holder`'s request `request_id` on a lease.
    fn lease_guest(
        &self,
        holder: &str,
        request_id: &str,
    ) -> Result<Option<RegistrationId>, Self::Error>;
    fn set_lease_guest(
        &mut self,
        holder: &str,
        request_id: &str,
        registration: RegistrationId,
    ) -> Result<(), Self::Error>;
    /// Whether the challenge takes registrations from other sites.
    fn is_remote(&self, challenge: u32) -> Result<bool, Self::Error>;
    fn set_remote(&mut self, challenge: u32, remote: bool) -> Result<(), Self::Error>;
}

type Applied<E> = Result<(Outcome, Vec<Event>), ApplyError<E>>;

/// Applies one command; returns its answer and the events to log (none for a no-op).
pub fn apply<R: Rows>(rows: &mut R, cmd: &Command, fresh: &Fresh) -> Applied<R::Error> {
    let mut tx = Tx { rows, fresh };
    match cmd {
        Command::AddTheme { label } => tx.add_theme(label),
        Command::CreateChallenge { number, fields } => tx.create_challenge(*number, fields),
        Command::UpdateChallenge {
            number,
            expected_version,
            fields,
        } => tx.update_challenge(*number, *expected_version, fields),
        Command::CreateParticipant(new) => tx.create_participant(new),
        Command::Register {
            participant,
            challenge,
            move_,
        } => tx.register(*participant, Target::Challenge(*challenge), *move_),
        Command::Cancel(key) => tx.cancel(*key),
        Command::CheckIn(code) => tx.check_in(*code),
        Command::SubmitProposal(fields) => tx.submit_proposal(fields),
        Command::UpdateProposal { id, fields } => tx.update_proposal(*id, fields),
        Command::ReviewProposal {
            id,
            review,
            comment,
        } => tx.review_proposal(*id, review, comment),
        Command::CreateConference(fields) => tx.create_conference(fields),
        Command::RegisterConference {
            participant,
            conference,
        } => tx.register(*participant, Target::Conference(*conference), false),
        Command::CreateTeam(fields) => tx.create_team(fields),
        Command::JoinTeam { team, participant } => tx.join_team(*team, *participant),
        Command::LeaveTeam { team, participant } => tx.leave_team(*team, *participant),
        Command::AddNotebookEntry {
            team,
            moment,
            author,
            text,
        } => tx.add_notebook_entry(*team, *moment, *author, text),
        Command::AddProgramItems(items) => tx.add_program_items(items, "items"),
        Command::CreateDefaultProgram { first_day_ms } => {
            tx.add_program_items(&crate::default_program(*first_day_ms), "first_day")
        }
        Command::AddFeedback {
            challenge,
            author,
            text,
        } => tx.add_feedback(*challenge, author, text),
        Command::AddNextAction { challenge, fields } => tx.add_next_action(*challenge, fields),
        Command::SetNextActionStatus { id, status } => tx.set_next_action_status(*id, *status),
        Command::UpdateParticipant { id, fields } => tx.update_participant(*id, fields),
        Command::ForgetParticipant(id) => tx.forget_participant(*id),
        Command::RequestRemote {
            request_id,
            participant,
            site,
            challenge,
        } => tx.request_remote(request_id, *participant, site, *challenge),
        Command::ApplyRemoteAsk { from, ask } => tx.apply_remote_ask(from, ask),
        Command::ApplyRemoteAnswer { from, answer } => tx.apply_remote_answer(from, answer),
        Command::SetChallengeRemote { challenge, remote } => {
            tx.set_challenge_remote(*challenge, *remote)
        }
        Command::UpdateProgramItem { id, fields } => tx.update_program_item(*id, fields),
        Command::CancelProgramItem(id) => tx.cancel_program_item(*id),
        Command::RequestSeatLease {
            lease_id,
            holder,
            site,
            challenge,
            seats,
            until_ms,
        } => tx.request_seat_lease(lease_id, holder, site, *challenge, *seats, *until_ms),
        Command::ApplyLease { from, msg } => tx.apply_lease(from, msg),
        Command::CloseSeatLease {
            site,
            challenge,
            lease_id,
        } => tx.close_seat_lease(site, *challenge, lease_id),
        Command::CancelRemote { request_id } => tx.cancel_remote(request_id),
    }
}

struct Tx<'a, R: Rows> {
    rows: &'a mut R,
    fresh: &'a Fresh,
}

/// Lifts a storage result into an [`ApplyError`].
fn st<T, E>(r: Result<T, E>) -> Result<T, ApplyError<E>> {
    r.map_err(ApplyError::Storage)
}

fn missing<E>(what: &'static str, key: impl ToString) -> ApplyError<E> {
    ApplyError::Inconsistent {
        what,
        key: key.to_string(),
    }
}

impl<R: Rows> Tx<'_, R> {
    fn add_theme(&mut self, label: &str) -> Applied<R::Error> {
        let theme = Theme::from_label(label)?;
        if st(self.rows.theme(&theme.id))?.is_some() {
            return Err(DomainError::ThemeExists(theme.id).into());
        }
        st(self.rows.put_theme(&theme))?;
        Ok((
            Outcome::ThemeAdded(theme.clone()),
            vec![Event::ThemeAdded(theme)],
        ))
    }

    fn validated(
        &mut self,
        fields: &ChallengeFields,
    ) -> Result<ChallengeFields, ApplyError<R::Error>> {
        let mut storage_err = None;
        let mut exists = |id: &str| match self.rows.theme(id) {
            Ok(t) => t.is_some(),
            Err(e) => {
                storage_err.get_or_insert(e);
                true
            }
        };
        let checked = fields.validated(&mut exists);
        match storage_err {
            Some(e) => Err(ApplyError::Storage(e)),
            None => Ok(checked?),
        }
    }

    /// A challenge marked as the duplicate of another names an existing other challenge.
    fn check_duplicate_of(
        &mut self,
        number: u32,
        fields: &ChallengeFields,
    ) -> Result<(), ApplyError<R::Error>> {
        let Some(of) = fields.duplicate_of else {
            return Ok(());
        };
        if of == number {
            return Err(
                DomainError::invalid("duplicate_of", "a challenge cannot repeat itself").into(),
            );
        }
        if st(self.rows.challenge(of))?.is_none() {
            return Err(DomainError::invalid(
                "duplicate_of",
                format!("challenge {of} does not exist (create it first)"),
            )
            .into());
        }
        Ok(())
    }

    fn create_challenge(
        &mut self,
        number: Option<u32>,
        fields: &ChallengeFields,
    ) -> Applied<R::Error> {
        let fields = self.validated(fields)?;
        let mut stats = st(self.rows.stats())?;
        let number = match number {
            Some(n) => challenge::check_number("number", n)?,
            None => {
                let max = challenge::limits::MAX_NUMBER;
                if stats.max_challenge_number >= max {
                    return Err(DomainError::NoChallengeNumberLeft { max }.into());
                }
                stats.max_challenge_number + 1
            }
        };
        if st(self.rows.challenge(number))?.is_some() {
            return Err(DomainError::ChallengeExists(number).into());
        }
        self.check_duplicate_of(number, &fields)?;
        let now = self.fresh.now_ms;
        let pool = SeatPool::new(fields.capacity);
        let challenge = Challenge {
            number,
            fields,
            version: 1,
            created_at_ms: now,
            updated_at_ms: now,
        };
        stats.challenges += 1;
        stats.max_challenge_number = stats.max_challenge_number.max(number);
        st(self.rows.put_challenge(&challenge))?;
        st(self.rows.put_pool(Target::Challenge(number), &pool))?;
        st(self.rows.put_stats(&stats))?;
        self.index_question(&challenge.fields.title, QuestionRef::Challenge(number))?;
        Ok((
            Outcome::Challenge {
                challenge: challenge.clone(),
                seats: pool,
                promoted: vec![],
            },
            vec![Event::ChallengeUpserted(challenge)],
        ))
    }

    fn update_challenge(
        &mut self,
        number: u32,
        expected_version: u64,
        fields: &ChallengeFields,
    ) -> Applied<R::Error> {
        let number = challenge::check_number("number", number)?;
        if expected_version == 0 {
            return Err(DomainError::invalid(
                "expected_version",
                "is required: give the version you read (GetChallenge)",
            )
            .into());
        }
        let fields = self.validated(fields)?;
        let mut challenge =
            st(self.rows.challenge(number))?.ok_or(DomainError::ChallengeNotFound(number))?;
        self.check_duplicate_of(number, &fields)?;
        if challenge.version != expected_version {
            return Err(DomainError::StaleVersion {
                challenge: number,
                current: challenge.version,
                expected: expected_version,
            }
            .into());
        }
        let target = Target::Challenge(number);
        let mut pool =
            st(self.rows.pool(target))?.ok_or_else(|| missing("seat pool of", target))?;
        if fields.capacity < pool.confirmed {
            return Err(DomainError::CapacityBelowConfirmed {
                challenge: number,
                capacity: fields.capacity,
                confirmed: pool.confirmed,
            }
            .into());
        }
        let held = self.held(target)?;
        if !crate::lease::within_capacity(
            &SeatPool {
                capacity: fields.capacity,
                ..pool
            },
            held,
        ) {
            return Err(DomainError::CapacityBelowHeld {
                challenge: number,
                capacity: fields.capacity,
                confirmed: pool.confirmed,
                held,
            }
            .into());
        }
        // From here on, only writes.
        if crate::question_key(&fields.title) != crate::question_key(&challenge.fields.title) {
            self.unindex_question(&challenge.fields.title, QuestionRef::Challenge(number))?;
            self.index_question(&fields.title, QuestionRef::Challenge(number))?;
        }
        pool.capacity = fields.capacity;
        let mut fields = fields;
        keep_known_people(&mut fields.facilitators, &challenge.fields.facilitators);
        challenge.fields = fields;
        challenge.version += 1;
        challenge.updated_at_ms = self.fresh.now_ms;
        st(self.rows.put_challenge(&challenge))?;
        let mut events = vec![Event::ChallengeUpserted(challenge.clone())];
        let promoted = self.promote(target, &mut pool, &mut events)?;
        st(self.rows.put_pool(target, &pool))?;
        Ok((
            Outcome::Challenge {
                challenge,
                seats: pool,
                promoted,
            },
            events,
        ))
    }

    fn create_participant(&mut self, new: &NewParticipant) -> Applied<R::Error> {
        let p = new.validated(ParticipantId(self.fresh.id), self.fresh.now_ms)?;
        let mut stats = st(self.rows.stats())?;
        stats.participants += 1;
        st(self.rows.put_participant(&p))?;
        st(self.rows.put_stats(&stats))?;
        Ok((
            Outcome::Participant(p.clone()),
            vec![Event::ParticipantUpserted(p)],
        ))
    }

    /// A participant who exists and was not erased.
    fn live_participant(&mut self, id: ParticipantId) -> Result<Participant, ApplyError<R::Error>> {
        let p = st(self.rows.participant(id))?.ok_or(DomainError::ParticipantNotFound(id))?;
        if p.is_erased() {
            return Err(DomainError::ParticipantErased(id).into());
        }
        Ok(p)
    }

    fn update_participant(
        &mut self,
        id: ParticipantId,
        fields: &NewParticipant,
    ) -> Applied<R::Error> {
        let old = self.live_participant(id)?;
        let p = old.updated(fields)?;
        if p == old {
            return Ok((Outcome::Participant(p), vec![]));
        }
        st(self.rows.put_participant(&p))?;
        Ok((
            Outcome::Participant(p.clone()),
            vec![Event::ParticipantUpserted(p)],
        ))
    }

    /// Leaves an anonymous row under the same id: registrations, seats, waiting lists,
    /// teams and totals keep counting it. The store scrubs the person's data from its
    /// older records (log, stored answers) when it sees [`Event::ParticipantErased`].
    fn forget_participant(&mut self, id: ParticipantId) -> Applied<R::Error> {
        let p = st(self.rows.participant(id))?.ok_or(DomainError::ParticipantNotFound(id))?;
        let already = p.is_erased();
        let outcome = Outcome::ParticipantForgotten {
            participant: id,
            already,
        };
        if already {
            return Ok((outcome, vec![]));
        }
        st(self.rows.put_participant(&p.erased()))?;
        Ok((outcome, vec![Event::ParticipantErased(id)]))
    }

    /// Registers a participant to a challenge or a conference: one path for both, so seats,
    /// waiting list, tickets and check-in behave the same. Challenges allow one active
    /// registration per participant (`move_` releases the old one); conferences allow
    /// several, as long as their time slots do not overlap.
    fn register(
        &mut self,
        participant: ParticipantId,
        target: Target,
        move_: bool,
    ) -> Applied<R::Error> {
        self.register_as(participant, target, move_, false)
    }

    /// [`Tx::register`]; `leased`: the seat is one a lease held (the caller moved it from
    /// the lease to the registration), so it is confirmed whatever the free seats.
    fn register_as(
        &mut self,
        participant: ParticipantId,
        target: Target,
        move_: bool,
        leased: bool,
    ) -> Applied<R::Error> {
        let target = match target {
            Target::Challenge(n) => {
                Target::Challenge(challenge::check_number("challenge_number", n)?)
            }
            t @ Target::Conference(_) => t,
        };
        self.live_participant(participant)?;
        let (previous, attendee_slot) = match target {
            Target::Challenge(number) => {
                (self.challenge_precheck(participant, number, move_)?, None)
            }
            Target::Conference(id) => (None, Some(self.conference_precheck(participant, id)?)),
        };
        let ticket = self.free_ticket()?;
        let mut pool =
            st(self.rows.pool(target))?.ok_or_else(|| missing("seat pool of", target))?;

        // From here on, only writes.
        let mut events = Vec::new();
        let (released, promoted) = match previous {
            Some(old) => {
                let (old, promoted) = self.release(old, &mut events)?;
                (Some(old), promoted)
            }
            None => (None, vec![]),
        };
        let now = self.fresh.now_ms;
        let id = RegistrationId(self.fresh.id);
        let admission = if leased {
            pool.confirmed += 1;
            Admission::Confirmed
        } else {
            let held = self.held(target)?;
            pool.admit_holding(held)
        };
        let (state, wait_slot, position, kind) = match admission {
            Admission::Confirmed => (RegistrationState::Confirmed, None, None, Kind::Confirmed),
            Admission::Waitlisted { slot, position } => (
                RegistrationState::Waitlisted,
                Some(slot),
                Some(position),
                Kind::Waitlisted,
            ),
        };
        let registration = Registration {
            id,
            participant,
            target,
            state,
            ticket,
            wait_slot,
            registered_at_ms: now,
            confirmed_at_ms: (state == RegistrationState::Confirmed).then_some(now),
            cancelled_at_ms: None,
            checked_in_at_ms: None,
        };
        if let Some(slot) = wait_slot {
            st(self.rows.set_waiter(target, slot, Some(id)))?;
        }
        st(self.rows.put_registration(&registration))?;
        st(self.rows.put_ticket(ticket, id))?;
        match attendee_slot {
            None => st(self.rows.set_active(participant, Some(id)))?,
            Some(slot) => {
                let key = SlotKey::Attendee(participant);
                let mut slots = st(self.rows.slots(&key))?;
                slots.push(slot);
                st(self.rows.put_slots(&key, &slots))?;
            }
        }
        st(self.rows.put_pool(target, &pool))?;
        if released.is_none() {
            let mut stats = st(self.rows.stats())?;
            stats.active_registrations += 1;
            st(self.rows.put_stats(&stats))?;
        }
        events.push(Event::Registration {
            kind,
            registration: registration.clone(),
        });
        Ok((
            Outcome::Registered {
                registration,
                position,
                released,
                promoted,
            },
            events,
        ))
    }

    /// Challenge rules of [`Tx::register`]: the challenge is open, and the participant's
    /// other challenge registration (returned, to release) exists only with `move_`.
    fn challenge_precheck(
        &mut self,
        participant: ParticipantId,
        number: u32,
        move_: bool,
    ) -> Result<Option<Registration>, ApplyError<R::Error>> {
        let challenge =
            st(self.rows.challenge(number))?.ok_or(DomainError::ChallengeNotFound(number))?;
        if challenge.fields.status != ChallengeStatus::Open {
            return Err(DomainError::NotOpen {
                challenge: number,
                status: challenge.fields.status,
            }
            .into());
        }
        let target = Target::Challenge(number);
        self.not_held_remotely(participant)?;
        let Some(rid) = st(self.rows.active(participant))? else {
            return Ok(None);
        };
        let old = st(self.rows.registration(rid))?.ok_or_else(|| missing("registration", rid))?;
        if old.target == target {
            return Err(DomainError::AlreadyRegistered {
                participant,
                target,
                ticket: old.ticket,
            }
            .into());
        }
        if !move_ {
            let Target::Challenge(old_number) = old.target else {
                return Err(missing("challenge registration", rid));
            };
            return Err(DomainError::RegisteredElsewhere {
                participant,
                challenge: old_number,
            }
            .into());
        }
        Ok(Some(old))
    }

    fn cancel(&mut self, key: crate::RegistrationKey) -> Applied<R::Error> {
        let reg = match key {
            crate::RegistrationKey::Id(id) => st(self.rows.registration(id))?
                .ok_or_else(|| DomainError::RegistrationNotFound(id.to_string()))?,
            crate::RegistrationKey::Ticket(code) => {
                let id = st(self.rows.ticket(code))?.ok_or(DomainError::TicketNotFound(code))?;
                st(self.rows.registration(id))?.ok_or_else(|| missing("registration", id))?
            }
        };
        if reg.state == RegistrationState::Cancelled {
            return Err(DomainError::AlreadyCancelled(reg.id.to_string()).into());
        }
        // From here on, only writes.
        let participant = reg.participant;
        let mut events = Vec::new();
        let (reg, promoted) = self.release(reg, &mut events)?;
        if let Target::Challenge(_) = reg.target {
            st(self.rows.set_active(participant, None))?;
        }
        let mut stats = st(self.rows.stats())?;
        stats.active_registrations = stats.active_registrations.saturating_sub(1);
        st(self.rows.put_stats(&stats))?;
        Ok((
            Outcome::Cancelled {
                registration: reg,
                promoted,
            },
            events,
        ))
    }

    fn check_in(&mut self, code: TicketCode) -> Applied<R::Error> {
        let id = st(self.rows.ticket(code))?.ok_or(DomainError::TicketNotFound(code))?;
        let mut reg = st(self.rows.registration(id))?.ok_or_else(|| missing("registration", id))?;
        if reg.state != RegistrationState::Confirmed {
            return Err(DomainError::NotConfirmed {
                ticket: code,
                state: reg.state,
            }
            .into());
        }
        let display_name = st(self.rows.participant(reg.participant))?
            .ok_or_else(|| missing("participant", reg.participant))?
            .display_name;
        if reg.checked_in_at_ms.is_some() {
            return Ok((
                Outcome::CheckedIn {
                    registration: reg,
                    already: true,
                    display_name,
                },
                vec![],
            ));
        }
        let mut pool =
            st(self.rows.pool(reg.target))?.ok_or_else(|| missing("seat pool of", reg.target))?;
        reg.checked_in_at_ms = Some(self.fresh.now_ms);
        pool.checked_in += 1;
        st(self.rows.put_registration(&reg))?;
        st(self.rows.put_pool(reg.target, &pool))?;
        Ok((
            Outcome::CheckedIn {
                registration: reg.clone(),
                already: false,
                display_name,
            },
            vec![Event::Registration {
                kind: Kind::CheckedIn,
                registration: reg,
            }],
        ))
    }

    /// Cancels an active registration in place: frees its seat or its waiting-list slot and
    /// gives a freed seat to the next person waiting. Writes only.
    fn release(
        &mut self,
        mut reg: Registration,
        events: &mut Vec<Event>,
    ) -> Result<(Registration, Vec<Registration>), ApplyError<R::Error>> {
        let target = reg.target;
        let mut pool =
            st(self.rows.pool(target))?.ok_or_else(|| missing("seat pool of", target))?;
        match reg.state {
            RegistrationState::Confirmed => {
                pool.confirmed -= 1;
                if reg.checked_in_at_ms.is_some() {
                    pool.checked_in = pool.checked_in.saturating_sub(1);
                }
            }
            RegistrationState::Waitlisted => {
                if let Some(slot) = reg.wait_slot {
                    st(self.rows.set_waiter(target, slot, None))?;
                }
                pool.waitlisted -= 1;
            }
            RegistrationState::Cancelled => {}
        }
        if let Target::Conference(c) = target {
            let key = SlotKey::Attendee(reg.participant);
            let mut slots = st(self.rows.slots(&key))?;
            slots.retain(|s| s.id != c);
            st(self.rows.put_slots(&key, &slots))?;
        }
        reg.state = RegistrationState::Cancelled;
        reg.wait_slot = None;
        reg.cancelled_at_ms = Some(self.fresh.now_ms);
        st(self.rows.put_registration(&reg))?;
        events.push(Event::Registration {
            kind: Kind::Cancelled,
            registration: reg.clone(),
        });
        let promoted = self.promote(target, &mut pool, events)?;
        st(self.rows.put_pool(target, &pool))?;
        Ok((reg, promoted))
    }

    /// Gives free seats to the first people waiting, in order. The caller writes the pool.
    fn promote(
        &mut self,
        target: Target,
        pool: &mut SeatPool,
        events: &mut Vec<Event>,
    ) -> Result<Vec<Registration>, ApplyError<R::Error>> {
        let mut promoted = Vec::new();
        let held = self.held(target)?;
        for _ in 0..pool.promotable_holding(held) {
            // Slots of people who left the list are empty: skip them.
            let (slot, rid) = loop {
                if pool.wait_head >= pool.wait_tail {
                    return Err(missing("waiting-list entry of", target));
                }
                let slot = pool.wait_head;
                pool.wait_head += 1;
                if let Some(rid) = st(self.rows.waiter(target, slot))? {
                    break (slot, rid);
                }
            };
            let mut reg =
                st(self.rows.registration(rid))?.ok_or_else(|| missing("registration", rid))?;
            st(self.rows.set_waiter(target, slot, None))?;
            reg.state = RegistrationState::Confirmed;
            reg.wait_slot = None;
            reg.confirmed_at_ms = Some(self.fresh.now_ms);
            pool.confirmed += 1;
            pool.waitlisted -= 1;
            st(self.rows.put_registration(&reg))?;
            events.push(Event::Registration {
                kind: Kind::Promoted,
                registration: reg.clone(),
            });
            promoted.push(reg);
        }
        Ok(promoted)
    }

    fn free_ticket(&mut self) -> Result<TicketCode, ApplyError<R::Error>> {
        for code in &self.fresh.tickets {
            if st(self.rows.ticket(*code))?.is_none() {
                return Ok(*code);
            }
        }
        Err(DomainError::TicketSpaceExhausted {
            attempts: self.fresh.tickets.len(),
        }
        .into())
    }
}

#[cfg(test)]
mod tests;

/// When every facilitator is given by name only (what clients older than people with roles
/// send), one already on the challenge keeps the role and organisation recorded for them,
/// so that such a client's update does not wipe them. (A newer client that means to clear
/// every role and organisation at once must name the facilitators anew.)
fn keep_known_people(given: &mut [crate::Person], before: &[crate::Person]) {
    if given
        .iter()
        .any(|p| !p.role.is_empty() || !p.organisation.is_empty())
    {
        return;
    }
    for p in given.iter_mut() {
        if p.role.is_empty()
            && p.organisation.is_empty()
            && let Some(known) = before.iter().find(|b| b.name == p.name)
        {
            // Such a client does not know the flag either: a private name stays private.
            let private = p.private || known.private;
            *p = crate::Person {
                private,
                ..known.clone()
            };
        }
    }
}
