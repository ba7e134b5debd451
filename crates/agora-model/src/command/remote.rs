//! The rules of registering for another site's défi ([`crate::remote`]): the request at
//! the requesting site, the decision at the owner, the answer back at the requester.
//!
//! Same discipline as the registration rules: every check comes before the first write.
//! At the owner, a refusal is not an error but an answer, logged so that it travels back.

use super::{Applied, Tx, st};
use crate::remote::{
    self, Guest, REMOTE_REQUEST_TTL_MS, RemoteAnswer, RemoteAsk, RemoteRequest, RemoteResult,
    RemoteState,
};
use crate::{
    ApplyError, ChallengeStatus, DomainError, Event, Outcome, ParticipantId, Rows, Target,
    challenge,
};

impl<R: Rows> Tx<'_, R> {
    /// Refuses when the participant holds a remote request (pending or granted): one défi
    /// per participant counts the défis of other sites too.
    pub(super) fn not_held_remotely(
        &mut self,
        participant: ParticipantId,
    ) -> Result<(), ApplyError<R::Error>> {
        let Some(id) = st(self.rows.remote_of(participant))? else {
            return Ok(());
        };
        if let Some(r) = st(self.rows.remote_request(&id))?
            && r.holds(self.fresh.now_ms)
        {
            return Err(DomainError::RegisteredRemotely {
                participant,
                site: r.site,
                challenge: r.challenge,
            }
            .into());
        }
        Ok(())
    }

    pub(super) fn request_remote(
        &mut self,
        request_id: &str,
        participant: ParticipantId,
        site: &str,
        number: u32,
    ) -> Applied<R::Error> {
        remote::check_request(request_id, site, number)?;
        let p = self.live_participant(participant)?;
        self.not_held_remotely(participant)?;
        if let Some(rid) = st(self.rows.active(participant))? {
            let old = st(self.rows.registration(rid))?
                .ok_or_else(|| super::missing("registration", rid))?;
            if let Target::Challenge(n) = old.target {
                return Err(DomainError::RegisteredElsewhere {
                    participant,
                    challenge: n,
                }
                .into());
            }
        }
        if st(self.rows.remote_request(request_id))?.is_some() {
            return Err(DomainError::invalid(
                "request_id",
                "names another remote request already: use a new one",
            )
            .into());
        }
        let now = self.fresh.now_ms;
        let mut request = RemoteRequest {
            request_id: request_id.to_owned(),
            participant,
            site: site.to_owned(),
            challenge: number,
            created_at_ms: now,
            expires_at_ms: now + REMOTE_REQUEST_TTL_MS,
            state: RemoteState::Pending,
        };
        let guest = Guest::of(&p);
        // A seat of a lease held here on that défi: confirmed at once, the owner told later.
        let events = match self.request_from_lease(&mut request, &guest)? {
            Some(events) => events,
            None => vec![Event::RemoteRequested {
                request: request.clone(),
                guest,
            }],
        };
        st(self.rows.put_remote_request(&request))?;
        st(self.rows.set_remote_of(participant, request_id))?;
        Ok((Outcome::Remote(request), events))
    }

    /// At the owner: decides `from`'s ask with this site's rules (the défi open to other
    /// sites, seats, waiting list, one défi per guest). The guest is registered as a
    /// participant of this site, known by a pseudonym only.
    pub(super) fn apply_remote_ask(&mut self, from: &str, ask: &RemoteAsk) -> Applied<R::Error> {
        let answer = |result| RemoteAnswer {
            to: from.to_owned(),
            request_id: ask.request_id.clone(),
            challenge: ask.challenge,
            result,
        };
        let refused = |e: DomainError| {
            let a = answer(RemoteResult::Refused {
                reason: remote::reason(&e),
            });
            Ok((
                Outcome::RemoteAnswered(a.clone()),
                vec![Event::RemoteAnswered(a)],
            ))
        };
        let now = self.fresh.now_ms;
        if now > ask.expires_at_ms {
            return refused(DomainError::RemoteExpired {
                site: from.to_owned(),
            });
        }
        let number = match challenge::check_number("challenge_number", ask.challenge) {
            Ok(n) => n,
            Err(e) => return refused(e),
        };
        let Some(c) = st(self.rows.challenge(number))? else {
            return refused(DomainError::ChallengeNotFound(number));
        };
        if c.fields.status != ChallengeStatus::Open {
            return refused(DomainError::NotOpen {
                challenge: number,
                status: c.fields.status,
            });
        }
        if !st(self.rows.is_remote(number))? {
            return refused(DomainError::NotRemote(number));
        }
        // From here on, writes: the guest (once), then the registration or the refusal.
        let mut events = Vec::new();
        let guest = remote::guest_participant(from, ask, now);
        if st(self.rows.participant(guest.id))?.is_none() {
            let mut stats = st(self.rows.stats())?;
            stats.participants += 1;
            st(self.rows.put_participant(&guest))?;
            st(self.rows.put_stats(&stats))?;
            events.push(Event::ParticipantUpserted(guest.clone()));
        }
        let result = match self.register(guest.id, Target::Challenge(number), false) {
            Ok((Outcome::Registered { position, .. }, registered)) => {
                events.extend(registered);
                match position {
                    Some(position) => RemoteResult::Waitlisted { position },
                    None => RemoteResult::Confirmed,
                }
            }
            Ok(_) => return Err(super::missing("registration outcome", number)),
            Err(ApplyError::Domain(e)) => RemoteResult::Refused {
                reason: remote::reason(&e),
            },
            Err(e) => return Err(e),
        };
        let a = answer(result);
        events.push(Event::RemoteAnswered(a.clone()));
        Ok((Outcome::RemoteAnswered(a), events))
    }

    /// At the requesting site: the owner's answer to one of its requests. Only the owner
    /// the request was sent to may answer it; a second answer changes nothing.
    pub(super) fn apply_remote_answer(
        &mut self,
        from: &str,
        answer: &RemoteAnswer,
    ) -> Applied<R::Error> {
        let mut r = st(self.rows.remote_request(&answer.request_id))?
            .ok_or_else(|| DomainError::RemoteRequestNotFound(answer.request_id.clone()))?;
        if r.site != from || r.challenge != answer.challenge {
            return Err(DomainError::invalid(
                "remote_answer.from_site_id",
                format!(
                    "request {} was sent to {} for challenge {}, not answered by {from} for {}",
                    r.request_id, r.site, r.challenge, answer.challenge
                ),
            )
            .into());
        }
        // A request confirmed from a lease hears from the owner only when the owner could
        // not take it from the lease: its answer then replaces the confirmation.
        let leased = st(self.rows.leased_request(&answer.request_id))?.is_some();
        if !(r.state == RemoteState::Pending
            || leased && r.state == RemoteState::Answered(RemoteResult::Confirmed))
            || r.state == RemoteState::Answered(answer.result.clone())
        {
            return Ok((Outcome::Remote(r), vec![]));
        }
        r.state = RemoteState::Answered(answer.result.clone());
        st(self.rows.put_remote_request(&r))?;
        Ok((
            Outcome::Remote(r.clone()),
            vec![Event::RemoteRequestUpdated(r)],
        ))
    }

    pub(super) fn set_challenge_remote(&mut self, number: u32, remote: bool) -> Applied<R::Error> {
        let number = challenge::check_number("challenge_number", number)?;
        if st(self.rows.challenge(number))?.is_none() {
            return Err(DomainError::ChallengeNotFound(number).into());
        }
        let outcome = Outcome::ChallengeRemote {
            challenge: number,
            remote,
        };
        if st(self.rows.is_remote(number))? == remote {
            return Ok((outcome, vec![]));
        }
        st(self.rows.set_remote(number, remote))?;
        Ok((
            outcome,
            vec![Event::ChallengeRemoteSet {
                challenge: number,
                remote,
            }],
        ))
    }
}
