//! The rules of the rest of the event: the call for défis, mini-conferences, learning teams
//! and their notebooks, the program, the exhibition's feedback and next actions.
//!
//! Same discipline as the registration rules: every check (and so every `DomainError`)
//! comes before the first write.

use std::collections::BTreeMap;

use super::{Applied, Tx, missing, st};
use crate::schedule::{Utc, room_key};
use crate::{
    ActionStatus, ApplyError, ChallengeFields, ChallengeProposal, ChallengeStatus, Conference,
    ConferenceFields, DomainError, Event, Feedback, LearningTeam, Moment, NextAction,
    NextActionFields, NotebookEntry, Outcome, ParticipantId, Person, ProgramItem,
    ProgramItemFields, ProposalFields, ProposalStatus, QuestionRef, Review, Rows, SeatPool, Slot,
    SlotKey, Target, TeamFields, challenge, exhibition, question_key, team,
};

impl<R: Rows> Tx<'_, R> {
    /// Adds `r` to the refs of `question`'s key. Writes only.
    pub(super) fn index_question(
        &mut self,
        question: &str,
        r: QuestionRef,
    ) -> Result<(), ApplyError<R::Error>> {
        let key = question_key(question);
        let mut refs = st(self.rows.question_refs(&key))?;
        if !refs.contains(&r) {
            refs.push(r);
            st(self.rows.put_question_refs(&key, &refs))?;
        }
        Ok(())
    }

    /// Removes `r` from the refs of `question`'s key. Writes only.
    pub(super) fn unindex_question(
        &mut self,
        question: &str,
        r: QuestionRef,
    ) -> Result<(), ApplyError<R::Error>> {
        let key = question_key(question);
        let mut refs = st(self.rows.question_refs(&key))?;
        refs.retain(|x| *x != r);
        st(self.rows.put_question_refs(&key, &refs))
    }

    fn theme_checked<T>(
        &mut self,
        check: impl FnOnce(&mut dyn FnMut(&str) -> bool) -> Result<T, DomainError>,
    ) -> Result<T, ApplyError<R::Error>> {
        let mut storage_err = None;
        let rows = &self.rows;
        let mut exists = |id: &str| match rows.theme(id) {
            Ok(t) => t.is_some(),
            Err(e) => {
                storage_err.get_or_insert(e);
                true
            }
        };
        let checked = check(&mut exists);
        match storage_err {
            Some(e) => Err(ApplyError::Storage(e)),
            None => Ok(checked?),
        }
    }

    pub(super) fn submit_proposal(&mut self, fields: &ProposalFields) -> Applied<R::Error> {
        let fields = self.theme_checked(|exists| fields.validated(exists))?;
        let mut counters = st(self.rows.counters())?;
        let id = counters.proposals + 1;
        let duplicates = st(self.rows.question_refs(&question_key(&fields.question)))?;
        // From here on, only writes.
        counters.proposals = id;
        let now = self.fresh.now_ms;
        let proposal = ChallengeProposal {
            id,
            fields,
            status: ProposalStatus::Submitted,
            review_comment: String::new(),
            challenge: None,
            duplicates,
            created_at_ms: now,
            updated_at_ms: now,
        };
        st(self.rows.put_counters(&counters))?;
        st(self.rows.put_proposal(&proposal))?;
        self.index_question(&proposal.fields.question, QuestionRef::Proposal(id))?;
        Ok((
            Outcome::Proposal(proposal.clone()),
            vec![Event::ProposalUpserted(proposal)],
        ))
    }

    /// A proposal that may still change: submitted or sent back.
    fn open_proposal(&mut self, id: u32) -> Result<ChallengeProposal, ApplyError<R::Error>> {
        let proposal = st(self.rows.proposal(id))?.ok_or(DomainError::ProposalNotFound(id))?;
        if matches!(
            proposal.status,
            ProposalStatus::Accepted | ProposalStatus::Declined
        ) {
            return Err(DomainError::ProposalClosed {
                proposal: id,
                status: proposal.status,
            }
            .into());
        }
        Ok(proposal)
    }

    pub(super) fn update_proposal(
        &mut self,
        id: u32,
        fields: &ProposalFields,
    ) -> Applied<R::Error> {
        let fields = self.theme_checked(|exists| fields.validated(exists))?;
        let mut proposal = self.open_proposal(id)?;
        let me = QuestionRef::Proposal(id);
        let mut duplicates = st(self.rows.question_refs(&question_key(&fields.question)))?;
        duplicates.retain(|r| *r != me);
        // From here on, only writes.
        self.unindex_question(&proposal.fields.question, me)?;
        self.index_question(&fields.question, me)?;
        proposal.fields = fields;
        proposal.duplicates = duplicates;
        proposal.status = ProposalStatus::Submitted;
        proposal.updated_at_ms = self.fresh.now_ms;
        st(self.rows.put_proposal(&proposal))?;
        Ok((
            Outcome::Proposal(proposal.clone()),
            vec![Event::ProposalUpserted(proposal)],
        ))
    }

    pub(super) fn review_proposal(
        &mut self,
        id: u32,
        review: &Review,
        comment: &str,
    ) -> Applied<R::Error> {
        let comment =
            crate::text::checked("comment", comment, 0, crate::limits::proposal::MAX_COMMENT)?;
        let mut proposal = self.open_proposal(id)?;
        let mut events = Vec::new();
        let mut made = None;
        proposal.status = match review {
            Review::Accept {
                number,
                facilitators,
                room,
                capacity,
            } => {
                let f = &proposal.fields;
                let fields = ChallengeFields {
                    title: f.question.clone(),
                    description: f.context.clone(),
                    themes: f.themes.clone(),
                    holders: vec![f.holder.clone()],
                    facilitators: facilitators.iter().map(|n| Person::named(n)).collect(),
                    room: room.clone(),
                    capacity: *capacity,
                    status: ChallengeStatus::Open,
                    ..ChallengeFields::default()
                };
                // Checks everything before its first write, like every command.
                let (outcome, mut ev) = self.create_challenge(*number, &fields)?;
                let Outcome::Challenge {
                    challenge, seats, ..
                } = outcome
                else {
                    return Err(missing("challenge made from proposal", id));
                };
                events.append(&mut ev);
                st(self.rows.set_challenge_proposal(challenge.number, id))?;
                proposal.challenge = Some(challenge.number);
                made = Some((challenge, seats));
                ProposalStatus::Accepted
            }
            Review::Decline => ProposalStatus::Declined,
            Review::NeedsChanges => ProposalStatus::NeedsChanges,
        };
        proposal.review_comment = comment;
        proposal.updated_at_ms = self.fresh.now_ms;
        st(self.rows.put_proposal(&proposal))?;
        events.push(Event::ProposalUpserted(proposal.clone()));
        Ok((
            Outcome::ProposalReviewed {
                proposal,
                challenge: made,
            },
            events,
        ))
    }

    pub(super) fn create_conference(&mut self, fields: &ConferenceFields) -> Applied<R::Error> {
        let fields = fields.validated()?;
        self.live_participant(fields.speaker)?;
        let (start, end) = (fields.start_ms, fields.end_ms);
        let room = SlotKey::ConferenceRoom(room_key(&fields.room));
        let mut room_slots = st(self.rows.slots(&room))?;
        if let Some(s) = room_slots.iter().find(|s| s.overlaps(start, end)) {
            return Err(DomainError::RoomTaken {
                room: fields.room.clone(),
                by: format!("conference {}", s.id),
                start: Utc(s.start_ms),
                end: Utc(s.end_ms),
            }
            .into());
        }
        let speaker = SlotKey::Speaker(fields.speaker);
        let mut speaker_slots = st(self.rows.slots(&speaker))?;
        if let Some(s) = speaker_slots.iter().find(|s| s.overlaps(start, end)) {
            return Err(DomainError::SpeakerBusy {
                speaker: fields.speaker,
                conference: s.id,
                start: Utc(s.start_ms),
                end: Utc(s.end_ms),
            }
            .into());
        }
        let mut counters = st(self.rows.counters())?;
        // From here on, only writes.
        counters.conferences += 1;
        let id = counters.conferences;
        let slot = Slot {
            start_ms: start,
            end_ms: end,
            id,
        };
        room_slots.push(slot);
        speaker_slots.push(slot);
        let seats = SeatPool::new(fields.capacity);
        let conference = Conference {
            id,
            fields,
            created_at_ms: self.fresh.now_ms,
        };
        st(self.rows.put_counters(&counters))?;
        st(self.rows.put_conference(&conference))?;
        st(self.rows.put_pool(Target::Conference(id), &seats))?;
        st(self.rows.put_slots(&room, &room_slots))?;
        st(self.rows.put_slots(&speaker, &speaker_slots))?;
        Ok((
            Outcome::Conference {
                conference: conference.clone(),
                seats,
            },
            vec![Event::ConferenceUpserted(conference)],
        ))
    }

    /// Conference rules of `register`: the conference exists, the participant is not
    /// registered to it yet nor to one at an overlapping time. Returns the slot to record.
    pub(super) fn conference_precheck(
        &mut self,
        participant: ParticipantId,
        id: u32,
    ) -> Result<Slot, ApplyError<R::Error>> {
        let conf = st(self.rows.conference(id))?.ok_or(DomainError::ConferenceNotFound(id))?;
        let (start, end) = (conf.fields.start_ms, conf.fields.end_ms);
        let slots = st(self.rows.slots(&SlotKey::Attendee(participant)))?;
        if slots.iter().any(|s| s.id == id) {
            return Err(DomainError::AlreadyRegisteredConference {
                participant,
                conference: id,
            }
            .into());
        }
        if let Some(s) = slots.iter().find(|s| s.overlaps(start, end)) {
            return Err(DomainError::AttendeeBusy {
                participant,
                conference: s.id,
                start: Utc(s.start_ms),
                end: Utc(s.end_ms),
            }
            .into());
        }
        Ok(Slot {
            start_ms: start,
            end_ms: end,
            id,
        })
    }

    pub(super) fn create_team(&mut self, fields: &TeamFields) -> Applied<R::Error> {
        let fields = fields.validated()?;
        let mut counters = st(self.rows.counters())?;
        counters.teams += 1;
        let team = LearningTeam {
            id: counters.teams,
            name: fields.name,
            min_members: fields.min_members,
            max_members: fields.max_members,
            members: vec![],
            created_at_ms: self.fresh.now_ms,
        };
        st(self.rows.put_counters(&counters))?;
        st(self.rows.put_team(&team))?;
        Ok((Outcome::Team(team.clone()), vec![Event::TeamUpserted(team)]))
    }

    fn existing_team(&mut self, id: u32) -> Result<LearningTeam, ApplyError<R::Error>> {
        Ok(st(self.rows.team(id))?.ok_or(DomainError::TeamNotFound(id))?)
    }

    pub(super) fn join_team(&mut self, id: u32, participant: ParticipantId) -> Applied<R::Error> {
        let mut team = self.existing_team(id)?;
        self.live_participant(participant)?;
        if let Some(t) = st(self.rows.team_of(participant))? {
            return Err(DomainError::InTeam {
                participant,
                team: t,
            }
            .into());
        }
        if team.members.len() >= team.max_members as usize {
            return Err(DomainError::TeamFull {
                team: id,
                max: team.max_members,
            }
            .into());
        }
        team.members.push(participant);
        st(self.rows.set_team_of(participant, Some(id)))?;
        st(self.rows.put_team(&team))?;
        Ok((Outcome::Team(team.clone()), vec![Event::TeamUpserted(team)]))
    }

    pub(super) fn leave_team(&mut self, id: u32, participant: ParticipantId) -> Applied<R::Error> {
        let mut team = self.existing_team(id)?;
        if !team.members.contains(&participant) {
            return Err(DomainError::NotTeamMember {
                participant,
                team: id,
            }
            .into());
        }
        team.members.retain(|p| *p != participant);
        st(self.rows.set_team_of(participant, None))?;
        st(self.rows.put_team(&team))?;
        Ok((Outcome::Team(team.clone()), vec![Event::TeamUpserted(team)]))
    }

    pub(super) fn add_notebook_entry(
        &mut self,
        id: u32,
        moment: Moment,
        author: ParticipantId,
        text: &str,
    ) -> Applied<R::Error> {
        let text = team::check_entry_text(text)?;
        let team = self.existing_team(id)?;
        if !team.members.contains(&author) {
            return Err(DomainError::NotTeamMember {
                participant: author,
                team: id,
            }
            .into());
        }
        let entry = NotebookEntry {
            id: self.fresh.id,
            team: id,
            moment,
            author,
            text,
            at_ms: self.fresh.now_ms,
        };
        st(self.rows.put_notebook_entry(&entry))?;
        Ok((
            Outcome::NotebookEntry(entry.clone()),
            vec![Event::NotebookEntryAdded(entry)],
        ))
    }

    /// Adds program items, all or none: each is checked against the program of its room and
    /// against the items before it in the same call.
    pub(super) fn add_program_items(
        &mut self,
        items: &[ProgramItemFields],
        field: &str,
    ) -> Applied<R::Error> {
        use crate::limits::program::MAX_ITEMS_PER_CALL;
        if items.is_empty() || items.len() > MAX_ITEMS_PER_CALL {
            return Err(DomainError::invalid(
                field,
                format!("give 1..={MAX_ITEMS_PER_CALL} items (got {})", items.len()),
            )
            .into());
        }
        use crate::limits::program::MAX_TEXT_BYTES_PER_CALL;
        let text: usize = items.iter().map(|i| i.title.len() + i.room.len()).sum();
        if text > MAX_TEXT_BYTES_PER_CALL {
            return Err(DomainError::invalid(
                field,
                format!(
                    "at most {MAX_TEXT_BYTES_PER_CALL} bytes of titles and rooms in one call \
                     (got {text}): send the items in several calls"
                ),
            )
            .into());
        }
        let mut counters = st(self.rows.counters())?;
        let mut rooms: BTreeMap<SlotKey, Vec<Slot>> = BTreeMap::new();
        let mut made = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let prefix = if items.len() == 1 && field == "items" {
                String::new()
            } else {
                format!("{field}[{i}].")
            };
            let fields = item.validated(&prefix)?;
            let id = counters.program_items + 1 + i as u32;
            let key = room_key(&fields.room);
            if !key.is_empty() {
                let key = SlotKey::ProgramRoom(key);
                let slots = match rooms.entry(key) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        let existing = st(self.rows.slots(e.key()))?;
                        e.insert(existing)
                    }
                };
                if let Some(s) = slots
                    .iter()
                    .find(|s| s.overlaps(fields.start_ms, fields.end_ms))
                {
                    return Err(DomainError::RoomTaken {
                        room: fields.room.clone(),
                        by: format!("program item {}", s.id),
                        start: Utc(s.start_ms),
                        end: Utc(s.end_ms),
                    }
                    .into());
                }
                slots.push(Slot {
                    start_ms: fields.start_ms,
                    end_ms: fields.end_ms,
                    id,
                });
            }
            made.push(ProgramItem {
                id,
                fields,
                created_at_ms: self.fresh.now_ms,
            });
        }
        // From here on, only writes.
        counters.program_items += made.len() as u32;
        st(self.rows.put_counters(&counters))?;
        for (key, slots) in &rooms {
            st(self.rows.put_slots(key, slots))?;
        }
        let mut events = Vec::with_capacity(made.len());
        for item in &made {
            st(self.rows.put_program_item(item))?;
            events.push(Event::ProgramItemAdded(item.clone()));
        }
        Ok((Outcome::ProgramItems(made), events))
    }

    /// Replaces a program item's fields: checked as a new item's are, its room against the
    /// other items (its own old slot excepted).
    pub(super) fn update_program_item(
        &mut self,
        id: u32,
        fields: &ProgramItemFields,
    ) -> Applied<R::Error> {
        let old = self.existing_program_item(id)?;
        let fields = fields.validated("")?;
        let old_key = room_key(&old.fields.room);
        let new_key = room_key(&fields.room);
        let mut writes: Vec<(SlotKey, Vec<Slot>)> = Vec::new();
        if !old_key.is_empty() {
            let key = SlotKey::ProgramRoom(old_key.clone());
            let mut slots = st(self.rows.slots(&key))?;
            slots.retain(|s| s.id != id);
            writes.push((key, slots));
        }
        if !new_key.is_empty() {
            let key = SlotKey::ProgramRoom(new_key.clone());
            let mut slots = match writes.pop() {
                Some((k, slots)) if k == key => slots,
                other => {
                    writes.extend(other);
                    st(self.rows.slots(&key))?
                }
            };
            if let Some(s) = slots
                .iter()
                .find(|s| s.overlaps(fields.start_ms, fields.end_ms))
            {
                return Err(DomainError::RoomTaken {
                    room: fields.room.clone(),
                    by: format!("program item {}", s.id),
                    start: Utc(s.start_ms),
                    end: Utc(s.end_ms),
                }
                .into());
            }
            slots.push(Slot {
                start_ms: fields.start_ms,
                end_ms: fields.end_ms,
                id,
            });
            writes.push((key, slots));
        }
        // From here on, only writes.
        for (key, slots) in &writes {
            st(self.rows.put_slots(key, slots))?;
        }
        let item = ProgramItem {
            id,
            fields,
            created_at_ms: old.created_at_ms,
        };
        st(self.rows.remove_program_item(&old))?;
        st(self.rows.put_program_item(&item))?;
        Ok((
            Outcome::ProgramItems(vec![item.clone()]),
            vec![Event::ProgramItemUpdated(item)],
        ))
    }

    /// Removes a program item from the program and frees its room.
    pub(super) fn cancel_program_item(&mut self, id: u32) -> Applied<R::Error> {
        let old = self.existing_program_item(id)?;
        let key = room_key(&old.fields.room);
        if !key.is_empty() {
            let key = SlotKey::ProgramRoom(key);
            let mut slots = st(self.rows.slots(&key))?;
            slots.retain(|s| s.id != id);
            st(self.rows.put_slots(&key, &slots))?;
        }
        st(self.rows.remove_program_item(&old))?;
        Ok((
            Outcome::ProgramItemCancelled(old),
            vec![Event::ProgramItemCancelled(id)],
        ))
    }

    fn existing_program_item(&mut self, id: u32) -> Result<ProgramItem, ApplyError<R::Error>> {
        match st(self.rows.program_item(id))? {
            Some(i) => Ok(i),
            None => Err(DomainError::ProgramItemNotFound(id).into()),
        }
    }

    fn existing_challenge(&mut self, number: u32) -> Result<u32, ApplyError<R::Error>> {
        let number = challenge::check_number("challenge_number", number)?;
        if st(self.rows.challenge(number))?.is_none() {
            return Err(DomainError::ChallengeNotFound(number).into());
        }
        Ok(number)
    }

    pub(super) fn add_feedback(
        &mut self,
        challenge: u32,
        author: &str,
        text: &str,
    ) -> Applied<R::Error> {
        let (author, text) = exhibition::check_feedback(author, text)?;
        let challenge = self.existing_challenge(challenge)?;
        let feedback = Feedback {
            id: self.fresh.id,
            challenge,
            author,
            text,
            at_ms: self.fresh.now_ms,
        };
        st(self.rows.put_feedback(&feedback))?;
        Ok((
            Outcome::Feedback(feedback.clone()),
            vec![Event::FeedbackAdded(feedback)],
        ))
    }

    pub(super) fn add_next_action(
        &mut self,
        challenge: u32,
        fields: &NextActionFields,
    ) -> Applied<R::Error> {
        let fields = fields.validated()?;
        let challenge = self.existing_challenge(challenge)?;
        let mut counters = st(self.rows.counters())?;
        counters.next_actions += 1;
        let now = self.fresh.now_ms;
        let action = NextAction {
            id: counters.next_actions,
            challenge,
            fields,
            status: ActionStatus::Open,
            created_at_ms: now,
            updated_at_ms: now,
        };
        st(self.rows.put_counters(&counters))?;
        st(self.rows.put_next_action(&action))?;
        Ok((
            Outcome::NextAction(action.clone()),
            vec![Event::NextActionUpserted(action)],
        ))
    }

    pub(super) fn set_next_action_status(
        &mut self,
        id: u32,
        status: ActionStatus,
    ) -> Applied<R::Error> {
        let mut action =
            st(self.rows.next_action(id))?.ok_or(DomainError::NextActionNotFound(id))?;
        if action.status == status {
            return Ok((Outcome::NextAction(action), vec![]));
        }
        action.status = status;
        action.updated_at_ms = self.fresh.now_ms;
        st(self.rows.put_next_action(&action))?;
        Ok((
            Outcome::NextAction(action.clone()),
            vec![Event::NextActionUpserted(action)],
        ))
    }
}
