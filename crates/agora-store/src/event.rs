//! Reads of the rest of the event: proposals, conferences, teams and notebooks, the
//! program, feedback and next actions. Straight to sled, like the other reads.

use agora_model::{
    ChallengeProposal, Conference, Feedback, LearningTeam, Moment, NextAction, NotebookEntry,
    ParticipantId, ProgramItem, Registration, SeatPool, Slot, SlotKey, Target,
};

use crate::codec::{decode, i64_key, notebook_key, slot_key};
use crate::{Store, StoreError, T, get, scan};

impl Store {
    /// Every proposal, by id.
    pub fn proposals(&self) -> Result<Vec<ChallengeProposal>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(self.inner.tree(T::Proposals), T::Proposals, &[])
    }

    pub fn proposal(&self, id: u32) -> Result<Option<ChallengeProposal>, StoreError> {
        let _batch = self.inner.read_gate();
        get(
            self.inner.tree(T::Proposals),
            T::Proposals,
            &id.to_be_bytes(),
        )
    }

    /// The proposal a challenge was made from, if any.
    pub fn proposal_of_challenge(&self, number: u32) -> Result<Option<u32>, StoreError> {
        let _batch = self.inner.read_gate();
        match self
            .inner
            .tree(T::ChallengeProposal)
            .get(number.to_be_bytes())?
        {
            None => Ok(None),
            Some(v) => <[u8; 4]>::try_from(v.as_ref())
                .map(|b| Some(u32::from_be_bytes(b)))
                .map_err(|_| StoreError::Corrupt {
                    tree: "challenge_proposal",
                    key: number.to_string(),
                    reason: "expected 4 bytes".into(),
                }),
        }
    }

    /// Every conference, by id, with its seats.
    pub fn conferences(&self) -> Result<Vec<(Conference, SeatPool)>, StoreError> {
        let _batch = self.inner.read_gate();
        let all: Vec<Conference> = scan(self.inner.tree(T::Conferences), T::Conferences, &[])?;
        all.into_iter()
            .map(|c| {
                let pool = self.pool_row(Target::Conference(c.id))?;
                Ok((c, pool))
            })
            .collect()
    }

    pub fn conference(&self, id: u32) -> Result<Option<(Conference, SeatPool)>, StoreError> {
        let _batch = self.inner.read_gate();
        match get(
            self.inner.tree(T::Conferences),
            T::Conferences,
            &id.to_be_bytes(),
        )? {
            Some(c) => Ok(Some((c, self.pool_row(Target::Conference(id))?))),
            None => Ok(None),
        }
    }

    /// A participant's active (confirmed or waitlisted) conference registrations, by
    /// conference id.
    pub fn conference_registrations(
        &self,
        p: ParticipantId,
    ) -> Result<Vec<Registration>, StoreError> {
        let _batch = self.inner.read_gate();
        let slots: Vec<Slot> = get(
            self.inner.tree(T::Slots),
            T::Slots,
            &slot_key(&SlotKey::Attendee(p)),
        )?
        .unwrap_or_default();
        let mut ids: Vec<u32> = slots.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let mut out = Vec::new();
        for id in ids {
            out.extend(
                self.registrations_of_rows(Target::Conference(id))?
                    .into_iter()
                    .filter(|r| r.participant == p && r.is_active()),
            );
        }
        Ok(out)
    }

    /// Every learning team, by id.
    pub fn teams(&self) -> Result<Vec<LearningTeam>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(self.inner.tree(T::Teams), T::Teams, &[])
    }

    pub fn team(&self, id: u32) -> Result<Option<LearningTeam>, StoreError> {
        let _batch = self.inner.read_gate();
        get(self.inner.tree(T::Teams), T::Teams, &id.to_be_bytes())
    }

    /// A team's notebook, by moment then time; one moment only if given.
    pub fn notebook(
        &self,
        team: u32,
        moment: Option<Moment>,
    ) -> Result<Vec<NotebookEntry>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(
            self.inner.tree(T::Notebook),
            T::Notebook,
            &notebook_key(team, moment, None),
        )
    }

    /// Program items starting in `[from_ms, to_ms)`, in order of start.
    pub fn program(&self, from_ms: i64, to_ms: i64) -> Result<Vec<ProgramItem>, StoreError> {
        let _batch = self.inner.read_gate();
        let mut out = Vec::new();
        if from_ms >= to_ms {
            return Ok(out);
        }
        for kv in self
            .inner
            .tree(T::Program)
            .range(i64_key(from_ms)..i64_key(to_ms))
        {
            let (k, v) = kv?;
            out.push(decode("program", &k, &v)?);
        }
        Ok(out)
    }

    /// Feedback on a challenge, oldest first.
    pub fn feedback(&self, challenge: u32) -> Result<Vec<Feedback>, StoreError> {
        let _batch = self.inner.read_gate();
        scan(
            self.inner.tree(T::Feedback),
            T::Feedback,
            &challenge.to_be_bytes(),
        )
    }

    /// Next actions, by id; of one challenge only if given.
    pub fn next_actions(&self, challenge: Option<u32>) -> Result<Vec<NextAction>, StoreError> {
        let _batch = self.inner.read_gate();
        let all: Vec<NextAction> = scan(self.inner.tree(T::NextActions), T::NextActions, &[])?;
        Ok(all
            .into_iter()
            .filter(|a| challenge.is_none_or(|c| a.challenge == c))
            .collect())
    }
}

/// Everything a site holds about one participant (subject access, GDPR art. 15).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PersonalData {
    pub participant: agora_model::Participant,
    /// Every registration, cancelled ones included, to challenges and conferences.
    pub registrations: Vec<Registration>,
    /// The conferences they registered to or give.
    pub conferences: Vec<Conference>,
    pub team: Option<LearningTeam>,
    /// The notebook entries they wrote.
    pub notebook_entries: Vec<NotebookEntry>,
    /// Feedback signed with their name (feedback authors are free text, not ids).
    pub feedback: Vec<Feedback>,
}

impl Store {
    /// Everything held about a participant; scans (a rare request).
    pub fn personal_data(&self, id: ParticipantId) -> Result<Option<PersonalData>, StoreError> {
        let _batch = self.inner.read_gate();
        let Some(participant) = get::<agora_model::Participant>(
            self.inner.tree(T::Participants),
            T::Participants,
            id.as_bytes(),
        )?
        else {
            return Ok(None);
        };
        let all: Vec<Registration> =
            scan(self.inner.tree(T::Registrations), T::Registrations, &[])?;
        let registrations: Vec<Registration> =
            all.into_iter().filter(|r| r.participant == id).collect();
        let conferences: Vec<Conference> =
            scan(self.inner.tree(T::Conferences), T::Conferences, &[])?;
        let conferences = conferences
            .into_iter()
            .filter(|c| {
                c.fields.speaker == id
                    || registrations
                        .iter()
                        .any(|r| r.target == Target::Conference(c.id))
            })
            .collect();
        let team = match get::<u32>(self.inner.tree(T::TeamOf), T::TeamOf, id.as_bytes())? {
            Some(n) => get(self.inner.tree(T::Teams), T::Teams, &n.to_be_bytes())?,
            None => None,
        };
        let notebook: Vec<NotebookEntry> = scan(self.inner.tree(T::Notebook), T::Notebook, &[])?;
        let notebook_entries = notebook.into_iter().filter(|e| e.author == id).collect();
        let name = agora_model::text::fold(&participant.display_name);
        let feedback: Vec<Feedback> = scan(self.inner.tree(T::Feedback), T::Feedback, &[])?;
        let feedback = feedback
            .into_iter()
            .filter(|f| !name.is_empty() && agora_model::text::fold(&f.author) == name)
            .collect();
        Ok(Some(PersonalData {
            participant,
            registrations,
            conferences,
            team,
            notebook_entries,
            feedback,
        }))
    }
}

/// A target's attendance list: its seats, then its active registrations, confirmed (in
/// order of confirmation) then waiting (in order, with their positions), each with its
/// participant. What the gRPC and the web exports both list.
pub type Attendance = (
    SeatPool,
    Vec<(Registration, Option<agora_model::Participant>, Option<u32>)>,
);

impl Store {
    /// The attendance list of `target`; `None` if it does not exist.
    pub fn attendance(&self, target: Target) -> Result<Option<Attendance>, StoreError> {
        let exists = match target {
            Target::Challenge(n) => self.challenge(n)?.is_some(),
            Target::Conference(c) => self.conference(c)?.is_some(),
        };
        if !exists {
            return Ok(None);
        }
        let pool = self.pool(target)?;
        let named = self
            .registrations_of(target)?
            .into_iter()
            .filter(|r| r.is_active())
            .map(|r| {
                let p = self.participant(r.participant)?;
                Ok((r, p))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (mut confirmed, mut waiting): (Vec<_>, Vec<_>) = named
            .into_iter()
            .partition(|(r, _)| r.state == agora_model::RegistrationState::Confirmed);
        confirmed.sort_by_key(|(r, _)| (r.confirmed_at_ms, r.id));
        waiting.sort_by_key(|(r, _)| r.wait_slot);
        let rows = confirmed
            .into_iter()
            .map(|(r, p)| (r, p, None))
            .chain(
                waiting
                    .into_iter()
                    .zip(1u32..)
                    .map(|((r, p), pos)| (r, p, Some(pos))),
            )
            .collect();
        Ok(Some((pool, rows)))
    }
}
