//! The rules of seat leases ([`crate::lease`]): the request at the holder, the grant at the
//! owner, a registration into a held seat at the holder (at once, even offline) and its
//! record at the owner, the release, and the close with the final count.
//!
//! Same discipline as the registration rules: every check comes before the first write. At
//! the owner a refusal is an answer, not an error, so that it travels back.

use super::{Applied, Tx, missing, st};
use crate::lease::{self, Lease, LeaseMsg, LeaseSide, LeaseState, LeaseStep};
use crate::remote::{self, Guest, RemoteAnswer, RemoteRequest, RemoteResult, RemoteState};
use crate::{
    ApplyError, ChallengeStatus, DomainError, Event, Outcome, RegistrationKey, RegistrationState,
    Rows, Target, challenge,
};

impl<R: Rows> Tx<'_, R> {
    /// Seats the leases this site granted hold on `target` now (conferences: none).
    pub(super) fn held(&mut self, target: Target) -> Result<u32, ApplyError<R::Error>> {
        match target {
            Target::Challenge(n) => Ok(lease::held(
                &st(self.rows.leases(None, n))?,
                self.fresh.now_ms,
            )),
            Target::Conference(_) => Ok(0),
        }
    }

    /// The lease held here on `site`'s défi `challenge` named `lease_id`.
    fn held_lease(
        &mut self,
        site: &str,
        challenge: u32,
        lease_id: &str,
    ) -> Result<Option<Lease>, ApplyError<R::Error>> {
        Ok(st(self.rows.leases(Some(site), challenge))?
            .into_iter()
            .find(|l| l.lease_id == lease_id))
    }

    /// The lease granted here to `holder` named `lease_id`.
    fn granted_lease(
        &mut self,
        holder: &str,
        challenge: u32,
        lease_id: &str,
    ) -> Result<Option<Lease>, ApplyError<R::Error>> {
        Ok(st(self.rows.leases(None, challenge))?
            .into_iter()
            .find(|l| l.holder == holder && l.lease_id == lease_id))
    }

    pub(super) fn request_seat_lease(
        &mut self,
        lease_id: &str,
        holder: &str,
        site: &str,
        number: u32,
        seats: u32,
        until_ms: i64,
    ) -> Applied<R::Error> {
        let now = self.fresh.now_ms;
        lease::check_request(lease_id, site, number, seats, until_ms, now)?;
        if site == holder {
            return Err(DomainError::invalid(
                "site_id",
                "is this site: a lease holds seats of another site's défi",
            )
            .into());
        }
        if self.held_lease(site, number, lease_id)?.is_some() {
            return Err(DomainError::invalid(
                "request_id",
                "names another seat lease already: use a new one",
            )
            .into());
        }
        let l = Lease {
            lease_id: lease_id.to_owned(),
            side: LeaseSide::Holder,
            holder: holder.to_owned(),
            owner: site.to_owned(),
            challenge: number,
            asked: seats,
            seats: 0,
            used: 0,
            until_ms,
            created_at_ms: now,
            state: LeaseState::Pending,
        };
        st(self.rows.put_lease(&l))?;
        Ok((Outcome::Lease(l.clone()), vec![sent(LeaseStep::Ask, l)]))
    }

    /// At the holder, inside `RequestRemote`: confirms the request from a lease on its défi
    /// with a seat left, if there is one (`None`: the request goes to the owner).
    pub(super) fn request_from_lease(
        &mut self,
        request: &mut RemoteRequest,
        guest: &Guest,
    ) -> Result<Option<Vec<Event>>, ApplyError<R::Error>> {
        let now = self.fresh.now_ms;
        let Some(mut l) = st(self.rows.leases(Some(&request.site), request.challenge))?
            .into_iter()
            .find(|l| l.usable(now))
        else {
            return Ok(None);
        };
        l.used += 1;
        request.state = RemoteState::Answered(RemoteResult::Confirmed);
        st(self.rows.put_lease(&l))?;
        st(self
            .rows
            .set_leased_request(&request.request_id, &l.lease_id))?;
        let step = LeaseStep::Use {
            request_id: request.request_id.clone(),
            participant: request.participant,
            guest: guest.clone(),
        };
        Ok(Some(vec![
            Event::RemoteRequestUpdated(request.clone()),
            sent(step, l),
        ]))
    }

    /// At the holder: cancels a registration confirmed from a lease.
    pub(super) fn cancel_remote(&mut self, request_id: &str) -> Applied<R::Error> {
        let mut r = st(self.rows.remote_request(request_id))?
            .ok_or_else(|| DomainError::RemoteRequestNotFound(request_id.to_owned()))?;
        let lease_id = st(self.rows.leased_request(request_id))?
            .ok_or_else(|| DomainError::NotLeased(request_id.to_owned()))?;
        if r.state == RemoteState::Cancelled {
            return Err(DomainError::AlreadyCancelled(request_id.to_owned()).into());
        }
        let mut l = self
            .held_lease(&r.site, r.challenge, &lease_id)?
            .ok_or_else(|| missing("lease", &lease_id))?;
        // From here on, only writes. A closed lease keeps its count: the owner frees the
        // seat to its waiting list instead.
        if l.state == LeaseState::Granted {
            l.used = l.used.saturating_sub(1);
            st(self.rows.put_lease(&l))?;
        }
        r.state = RemoteState::Cancelled;
        st(self.rows.put_remote_request(&r))?;
        let step = LeaseStep::Release {
            request_id: request_id.to_owned(),
        };
        Ok((
            Outcome::Remote(r.clone()),
            vec![Event::RemoteRequestUpdated(r), sent(step, l)],
        ))
    }

    /// At the holder, its clock past `until`: closes the lease with its final count; no
    /// use is made after it, and it travels after every use.
    pub(super) fn close_seat_lease(
        &mut self,
        site: &str,
        challenge: u32,
        lease_id: &str,
    ) -> Applied<R::Error> {
        let mut l = self
            .held_lease(site, challenge, lease_id)?
            .ok_or_else(|| DomainError::LeaseNotFound(lease_id.to_owned()))?;
        if l.state != LeaseState::Granted {
            return Ok((Outcome::Lease(l), vec![]));
        }
        if !l.due(self.fresh.now_ms) {
            return Err(DomainError::invalid(
                "until_ms",
                format!(
                    "lease {lease_id} runs until {}",
                    crate::schedule::Utc(l.until_ms)
                ),
            )
            .into());
        }
        l.state = LeaseState::Closed;
        st(self.rows.put_lease(&l))?;
        Ok((Outcome::Lease(l.clone()), vec![sent(LeaseStep::Close, l)]))
    }

    /// A lease message routed here from `from`.
    pub(super) fn apply_lease(&mut self, from: &str, msg: &LeaseMsg) -> Applied<R::Error> {
        let sender = match msg.step {
            LeaseStep::Answer => &msg.lease.owner,
            _ => &msg.lease.holder,
        };
        if sender != from {
            return Err(DomainError::invalid(
                "lease.from_site_id",
                format!(
                    "lease {} is between {} and {}, not from {from}",
                    msg.lease.lease_id, msg.lease.holder, msg.lease.owner
                ),
            )
            .into());
        }
        match &msg.step {
            LeaseStep::Ask => self.grant_lease(&msg.lease),
            LeaseStep::Answer => self.lease_answered(&msg.lease),
            LeaseStep::Use {
                request_id,
                participant,
                guest,
            } => self.lease_used(&msg.lease, request_id, *participant, guest),
            LeaseStep::Release { request_id } => self.lease_released(&msg.lease, request_id),
            LeaseStep::Close => self.lease_closed(&msg.lease),
        }
    }

    /// At the owner: grants what is free of the seats asked (neither confirmed nor held by
    /// another lease), or refuses in its words.
    fn grant_lease(&mut self, asked: &Lease) -> Applied<R::Error> {
        if let Some(l) = self.granted_lease(&asked.holder, asked.challenge, &asked.lease_id)? {
            return Ok((Outcome::Lease(l), vec![]));
        }
        let now = self.fresh.now_ms;
        let mut l = Lease {
            side: LeaseSide::Owner,
            seats: 0,
            used: 0,
            created_at_ms: now,
            ..asked.clone()
        };
        match self.grantable(asked, now) {
            Ok(seats) => {
                l.seats = seats;
                l.state = LeaseState::Granted;
            }
            Err(ApplyError::Domain(e)) => {
                l.state = LeaseState::Refused {
                    reason: remote::reason(&e),
                }
            }
            Err(e) => return Err(e),
        }
        st(self.rows.put_lease(&l))?;
        Ok((Outcome::Lease(l.clone()), vec![sent(LeaseStep::Answer, l)]))
    }

    /// How many seats the owner grants `asked` now: an error is its refusal.
    fn grantable(&mut self, asked: &Lease, now: i64) -> Result<u32, ApplyError<R::Error>> {
        if now >= asked.until_ms {
            return Err(DomainError::RemoteExpired {
                site: asked.holder.clone(),
            }
            .into());
        }
        let number = challenge::check_number("challenge_number", asked.challenge)?;
        let c = st(self.rows.challenge(number))?.ok_or(DomainError::ChallengeNotFound(number))?;
        if c.fields.status != ChallengeStatus::Open {
            return Err(DomainError::NotOpen {
                challenge: number,
                status: c.fields.status,
            }
            .into());
        }
        if !st(self.rows.is_remote(number))? {
            return Err(DomainError::NotRemote(number).into());
        }
        let target = Target::Challenge(number);
        let pool = st(self.rows.pool(target))?.ok_or_else(|| missing("seat pool of", target))?;
        let held = self.held(target)?;
        match lease::grant(asked.asked, &pool, held) {
            0 => Err(DomainError::NoSeatToLease {
                challenge: number,
                capacity: pool.capacity,
                confirmed: pool.confirmed,
                held,
            }
            .into()),
            n => Ok(n),
        }
    }

    /// At the holder: the owner's answer to its ask.
    fn lease_answered(&mut self, answer: &Lease) -> Applied<R::Error> {
        let mut l = self
            .held_lease(&answer.owner, answer.challenge, &answer.lease_id)?
            .ok_or_else(|| DomainError::LeaseNotFound(answer.lease_id.clone()))?;
        if l.state != LeaseState::Pending {
            return Ok((Outcome::Lease(l), vec![]));
        }
        l.seats = answer.seats.min(l.asked);
        l.state = match &answer.state {
            LeaseState::Granted if l.seats > 0 => LeaseState::Granted,
            LeaseState::Refused { reason } => LeaseState::Refused {
                reason: reason.clone(),
            },
            other => {
                return Err(DomainError::invalid(
                    "lease.state",
                    format!("an answer grants seats or refuses, not {other:?}"),
                )
                .into());
            }
        };
        st(self.rows.put_lease(&l))?;
        Ok((Outcome::Lease(l.clone()), vec![Event::LeaseChanged(l)]))
    }

    /// At the owner: a registration the holder confirmed into the lease. Recorded as
    /// confirmed against the lease while it counts; otherwise (unknown, closed, past the
    /// backstop, or more uses than seats) decided like a remote ask, and the answer goes
    /// back. Once per holder and request id.
    fn lease_used(
        &mut self,
        from_lease: &Lease,
        request_id: &str,
        participant: crate::ParticipantId,
        guest: &Guest,
    ) -> Applied<R::Error> {
        let holder = &from_lease.holder;
        let number = from_lease.challenge;
        let granted = self.granted_lease(holder, number, &from_lease.lease_id)?;
        if st(self.rows.lease_guest(holder, request_id))?.is_some() {
            return Ok((
                Outcome::Lease(granted.unwrap_or_else(|| from_lease.clone())),
                vec![],
            ));
        }
        let now = self.fresh.now_ms;
        let ask = remote::RemoteAsk {
            to: from_lease.owner.clone(),
            challenge: number,
            request_id: request_id.to_owned(),
            participant,
            guest: guest.clone(),
            expires_at_ms: now,
        };
        let target = Target::Challenge(number);
        let mut events = Vec::new();
        let guest_p = remote::guest_participant(holder, &ask, now);
        let from_seat = granted
            .clone()
            .filter(|l| l.counts_at_owner(now) && l.used < l.seats)
            .map(|mut l| {
                l.used += 1;
                l
            });
        if st(self.rows.participant(guest_p.id))?.is_none() {
            let mut stats = st(self.rows.stats())?;
            stats.participants += 1;
            st(self.rows.put_participant(&guest_p))?;
            st(self.rows.put_stats(&stats))?;
            events.push(Event::ParticipantUpserted(guest_p.clone()));
        }
        // From the lease, the seat moves from held to confirmed: the registration takes it
        // whatever the free seats (and promotes no one), then the lease counts it.
        let registered = self.register_as(guest_p.id, target, false, from_seat.is_some());
        let result = match registered {
            Ok((
                Outcome::Registered {
                    registration,
                    position,
                    ..
                },
                evs,
            )) => {
                events.extend(evs);
                st(self
                    .rows
                    .set_lease_guest(holder, request_id, registration.id))?;
                match position {
                    Some(position) => RemoteResult::Waitlisted { position },
                    None => RemoteResult::Confirmed,
                }
            }
            Ok(_) => return Err(missing("registration outcome", number)),
            // Refused (after the guest was written): an answer, and the seat stays held.
            Err(ApplyError::Domain(e)) => RemoteResult::Refused {
                reason: remote::reason(&e),
            },
            Err(e) => return Err(e),
        };
        let l = match from_seat {
            Some(l) if result == RemoteResult::Confirmed => {
                st(self.rows.put_lease(&l))?;
                events.push(Event::LeaseChanged(l.clone()));
                l
            }
            _ => {
                // Not from the lease: the holder hears what the owner decided instead.
                events.push(Event::RemoteAnswered(RemoteAnswer {
                    to: holder.clone(),
                    request_id: request_id.to_owned(),
                    challenge: number,
                    result,
                }));
                match granted {
                    Some(l) => l,
                    None => Lease {
                        side: LeaseSide::Owner,
                        state: LeaseState::Refused {
                            reason: DomainError::LeaseNotFound(from_lease.lease_id.clone())
                                .to_string(),
                        },
                        ..from_lease.clone()
                    },
                }
            }
        };
        Ok((Outcome::Lease(l), events))
    }

    /// At the owner: the holder cancelled a registration made on the lease; its seat is the
    /// lease's again while the lease counts, else it goes to the waiting list.
    fn lease_released(&mut self, from_lease: &Lease, request_id: &str) -> Applied<R::Error> {
        let holder = &from_lease.holder;
        let granted = self.granted_lease(holder, from_lease.challenge, &from_lease.lease_id)?;
        let Some(rid) = st(self.rows.lease_guest(holder, request_id))? else {
            return Err(DomainError::RemoteRequestNotFound(request_id.to_owned()).into());
        };
        let reg = st(self.rows.registration(rid))?.ok_or_else(|| missing("registration", rid))?;
        let mut events = Vec::new();
        let mut l = granted.unwrap_or_else(|| from_lease.clone());
        if reg.state == RegistrationState::Cancelled {
            return Ok((Outcome::Lease(l), events));
        }
        let now = self.fresh.now_ms;
        if l.side == LeaseSide::Owner
            && l.counts_at_owner(now)
            && l.used > 0
            && reg.state == RegistrationState::Confirmed
        {
            l.used -= 1;
            st(self.rows.put_lease(&l))?;
            events.push(Event::LeaseChanged(l.clone()));
        }
        let (_, cancelled) = self.cancel(RegistrationKey::Id(rid))?;
        events.splice(0..0, cancelled);
        Ok((Outcome::Lease(l), events))
    }

    /// At the owner: the holder's close; the unused seats go to the waiting list.
    fn lease_closed(&mut self, from_lease: &Lease) -> Applied<R::Error> {
        let Some(mut l) = self.granted_lease(
            &from_lease.holder,
            from_lease.challenge,
            &from_lease.lease_id,
        )?
        else {
            return Err(DomainError::LeaseNotFound(from_lease.lease_id.clone()).into());
        };
        if l.state != LeaseState::Granted {
            return Ok((Outcome::Lease(l), vec![]));
        }
        l.state = LeaseState::Closed;
        st(self.rows.put_lease(&l))?;
        let target = Target::Challenge(l.challenge);
        let mut pool =
            st(self.rows.pool(target))?.ok_or_else(|| missing("seat pool of", target))?;
        let mut events = vec![Event::LeaseChanged(l.clone())];
        self.promote(target, &mut pool, &mut events)?;
        st(self.rows.put_pool(target, &pool))?;
        Ok((Outcome::Lease(l), events))
    }
}

fn sent(step: LeaseStep, lease: Lease) -> Event {
    Event::LeaseSent(LeaseMsg { step, lease })
}
