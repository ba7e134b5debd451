//! What of a site's data may leave it, and the national replica built from it.
//!
//! Personal data stays on the site: a participant goes up as a pseudonym (a UUID derived
//! from their id with the site's secret key), their organisation type and language, and
//! their name only if they consented; registrations go up under a pseudonym too, without
//! ticket codes. The program and the mini-conferences are public and go up whole, a
//! conference's speaker as their pseudonym (named upstream only with their consent, through
//! the participant). The store applies these functions and hands the uplink nothing else.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Challenge, Conference, DomainError, Event, OrganisationType, Participant, ParticipantId,
    ProgramItem, Registration, RegistrationEventKind, RegistrationId, RegistrationState, SeatPool,
    Target, Theme, check_number,
    lease::{LeaseMsg, LeaseStep},
    remote::{RemoteAnswer, RemoteAsk},
    text,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedParticipant {
    /// Pseudonym, stable for one site key.
    pub id: ParticipantId,
    pub organisation_type: OrganisationType,
    pub language: String,
    /// Only with the participant's consent.
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRegistration {
    pub id: RegistrationId,
    /// The participant's pseudonym.
    pub participant: ParticipantId,
    pub target: Target,
    pub state: RegistrationState,
    pub registered_at_ms: i64,
    pub confirmed_at_ms: Option<i64>,
    pub cancelled_at_ms: Option<i64>,
    pub checked_in_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SharedEvent {
    ThemeAdded(Theme),
    ChallengeUpserted(Challenge),
    Participant(SharedParticipant),
    Registration {
        kind: RegistrationEventKind,
        registration: SharedRegistration,
    },
    /// The participant (pseudonym) was erased at the site: whoever holds anything of them
    /// drops it. The replica keeps an anonymous row so that totals stay right. Appended
    /// last: postcard stores variant indexes.
    ParticipantErased(ParticipantId),
    /// A program item of the site, public (appended: postcard variant indexes).
    ProgramItem(ProgramItem),
    /// A mini-conference of the site, public; `fields.speaker` is the speaker's pseudonym.
    Conference(Conference),
    /// A request for another site's défi, routed by the national node to its owner.
    RemoteAsk(RemoteAsk),
    /// The owner's answer, routed back to the requesting site.
    RemoteAnswer(RemoteAnswer),
    /// A défi opened to (or closed for) registrations from other sites.
    ChallengeRemote {
        challenge: u32,
        remote: bool,
    },
    /// A program item cancelled at the site: the replica drops it (an edit is a
    /// [`SharedEvent::ProgramItem`], replacing by id). Appended last: postcard variant indexes.
    ProgramItemCancelled(u32),
    /// A seat lease's message to the other side ([`crate::lease`]), routed like a
    /// [`SharedEvent::RemoteAsk`]; a use carries the participant's pseudonym.
    Lease(LeaseMsg),
}

/// One site change as it travels to the national node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedChange {
    pub seq: u64,
    pub at_ms: i64,
    pub events: Vec<SharedEvent>,
    /// Running hash of the site's log up to and including this change (`None` when the
    /// site does not know it: a record written before the hash existed).
    pub hash: Option<u64>,
}

/// The participant's pseudonym under the site's key.
pub fn pseudonym(key: &Uuid, p: ParticipantId) -> ParticipantId {
    ParticipantId(Uuid::new_v5(key, p.as_bytes()))
}

pub fn share_participant(key: &Uuid, p: &Participant) -> SharedParticipant {
    SharedParticipant {
        id: pseudonym(key, p.id),
        organisation_type: p.organisation_type,
        language: p.language.clone(),
        display_name: p.consent_share_name.then(|| p.display_name.clone()),
    }
}

/// A challenge as it leaves the site: its holders, facilitators and speakers are public by
/// role, but a name marked private stays on the site (the role and organisation go up).
pub fn share_challenge(c: &Challenge) -> Challenge {
    let mut c = c.clone();
    for p in c.fields.people_mut() {
        *p = p.public();
    }
    c
}

/// The public names of a challenge's people: those a replica must no longer hold once a
/// newer version of the challenge lacks them.
pub fn public_names(c: &Challenge) -> std::collections::BTreeSet<String> {
    c.fields
        .people()
        .filter(|p| !p.private && !p.name.is_empty())
        .map(|p| p.name.clone())
        .collect()
}

/// The registration's pseudonym under the site's key: upstream, a registration id does not
/// link back to the site's own (tickets, exports).
pub fn registration_pseudonym(key: &Uuid, r: RegistrationId) -> RegistrationId {
    let mut name = b"registration:".to_vec();
    name.extend_from_slice(r.as_bytes());
    RegistrationId(Uuid::new_v5(key, &name))
}

pub fn share_registration(key: &Uuid, r: &Registration) -> SharedRegistration {
    SharedRegistration {
        id: registration_pseudonym(key, r.id),
        participant: pseudonym(key, r.participant),
        target: r.target,
        state: r.state,
        registered_at_ms: r.registered_at_ms,
        confirmed_at_ms: r.confirmed_at_ms,
        cancelled_at_ms: r.cancelled_at_ms,
        checked_in_at_ms: r.checked_in_at_ms,
    }
}

/// A conference as it leaves the site: its speaker as their pseudonym.
pub fn share_conference(key: &Uuid, c: &Conference) -> Conference {
    let mut c = c.clone();
    c.fields.speaker = pseudonym(key, c.fields.speaker);
    c
}

/// What of an event may leave the site, if anything. Challenges, themes, pseudonymous
/// participants, challenge registrations, the program and the conferences, remote requests
/// (under the pseudonym) and their answers go up; the rest of the event (proposals,
/// conference registrations, teams, notebooks, feedback, next actions) stays on the site:
/// notebooks and feedback carry personal words and names.
pub fn share_event(key: &Uuid, e: &Event) -> Option<SharedEvent> {
    Some(match e {
        Event::ThemeAdded(t) => SharedEvent::ThemeAdded(t.clone()),
        Event::ChallengeUpserted(c) => SharedEvent::ChallengeUpserted(share_challenge(c)),
        Event::ParticipantUpserted(p) => SharedEvent::Participant(share_participant(key, p)),
        Event::ParticipantErased(id) => SharedEvent::ParticipantErased(pseudonym(key, *id)),
        Event::ProgramItemAdded(i) | Event::ProgramItemUpdated(i) => {
            SharedEvent::ProgramItem(i.clone())
        }
        Event::ProgramItemCancelled(id) => SharedEvent::ProgramItemCancelled(*id),
        Event::ConferenceUpserted(c) => SharedEvent::Conference(share_conference(key, c)),
        Event::RemoteRequested { request, guest } => SharedEvent::RemoteAsk(RemoteAsk {
            to: request.site.clone(),
            challenge: request.challenge,
            request_id: request.request_id.clone(),
            participant: pseudonym(key, request.participant),
            guest: guest.clone(),
            expires_at_ms: request.expires_at_ms,
        }),
        Event::RemoteAnswered(a) => SharedEvent::RemoteAnswer(a.clone()),
        Event::LeaseSent(m) => {
            let mut m = m.clone();
            if let LeaseStep::Use { participant, .. } = &mut m.step {
                *participant = pseudonym(key, *participant);
            }
            SharedEvent::Lease(m)
        }
        Event::ChallengeRemoteSet { challenge, remote } => SharedEvent::ChallengeRemote {
            challenge: *challenge,
            remote: *remote,
        },
        Event::Registration { kind, registration } if is_shared(registration) => {
            SharedEvent::Registration {
                kind: *kind,
                registration: share_registration(key, registration),
            }
        }
        _ => return None,
    })
}

/// A change record as it leaves the site: only what [`share_event`] lets through. A change
/// with nothing shareable still goes (with no events), so that positions stay contiguous.
pub fn share_change(key: &Uuid, c: &crate::Change) -> SharedChange {
    SharedChange {
        seq: c.seq,
        at_ms: c.at_ms,
        events: c
            .events
            .iter()
            .filter_map(|e| share_event(key, e))
            .collect(),
        hash: c.hash,
    }
}

/// Whether a registration goes up to the national node (challenge registrations do).
pub fn is_shared(r: &Registration) -> bool {
    matches!(r.target, Target::Challenge(_))
}

/// Seat counts a replica derives from the registrations it has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub confirmed: u32,
    pub waitlisted: u32,
    pub checked_in: u32,
}

impl Counts {
    fn of(r: &SharedRegistration) -> Counts {
        Counts {
            confirmed: u32::from(r.state == RegistrationState::Confirmed),
            waitlisted: u32::from(r.state == RegistrationState::Waitlisted),
            checked_in: u32::from(
                r.state == RegistrationState::Confirmed && r.checked_in_at_ms.is_some(),
            ),
        }
    }

    fn add(&mut self, o: Counts) {
        self.confirmed += o.confirmed;
        self.waitlisted += o.waitlisted;
        self.checked_in += o.checked_in;
    }

    fn sub(&mut self, o: Counts) {
        self.confirmed = self.confirmed.saturating_sub(o.confirmed);
        self.waitlisted = self.waitlisted.saturating_sub(o.waitlisted);
        self.checked_in = self.checked_in.saturating_sub(o.checked_in);
    }

    pub fn from_pool(p: &SeatPool) -> Counts {
        Counts {
            confirmed: p.confirmed,
            waitlisted: p.waitlisted,
            checked_in: p.checked_in,
        }
    }
}

/// A challenge as the national node holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaChallenge {
    pub challenge: Challenge,
    pub counts: Counts,
}

/// Per-site totals a replica keeps up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplicaTotals {
    pub challenges: u32,
    pub participants: u32,
    pub active_registrations: u32,
    pub checked_in: u32,
}

/// Typed access to one site's replica inside a national transaction.
pub trait ReplicaRows {
    type Error;
    fn theme(&self, id: &str) -> Result<Option<Theme>, Self::Error>;
    fn put_theme(&mut self, t: &Theme) -> Result<(), Self::Error>;
    fn challenge(&self, number: u32) -> Result<Option<ReplicaChallenge>, Self::Error>;
    fn put_challenge(&mut self, c: &ReplicaChallenge) -> Result<(), Self::Error>;
    fn participant(&self, id: ParticipantId) -> Result<Option<SharedParticipant>, Self::Error>;
    fn put_participant(&mut self, p: &SharedParticipant) -> Result<(), Self::Error>;
    /// Every participant of the replica (a revocation with purge reads them).
    fn participants(&self) -> Result<Vec<SharedParticipant>, Self::Error>;
    fn registration(&self, id: RegistrationId) -> Result<Option<SharedRegistration>, Self::Error>;
    fn put_registration(&mut self, r: &SharedRegistration) -> Result<(), Self::Error>;
    fn totals(&self) -> Result<ReplicaTotals, Self::Error>;
    fn put_totals(&mut self, t: &ReplicaTotals) -> Result<(), Self::Error>;
    /// Puts a program item by id (a later one with the same id replaces it).
    fn put_program_item(&mut self, i: &ProgramItem) -> Result<(), Self::Error>;
    /// Removes the program item with this id, if there is one.
    fn remove_program_item(&mut self, id: u32) -> Result<(), Self::Error>;
    /// Puts a conference by id (a later one with the same id replaces it).
    fn put_conference(&mut self, c: &Conference) -> Result<(), Self::Error>;
}

/// Applies one shared event to a site's replica, keeping counts and totals consistent.
pub fn apply_shared<R: ReplicaRows>(rows: &mut R, e: &SharedEvent) -> Result<(), R::Error> {
    let mut totals = rows.totals()?;
    match e {
        // Themes are one national list, first come: a site adds an id nobody has; an id
        // already listed keeps its label, so one site never rewrites what the others see.
        SharedEvent::ThemeAdded(t) => {
            if rows.theme(&t.id)?.is_none() {
                rows.put_theme(t)?;
            }
        }
        SharedEvent::ChallengeUpserted(c) => {
            let counts = match rows.challenge(c.number)? {
                Some(old) => old.counts,
                None => {
                    totals.challenges += 1;
                    Counts::default()
                }
            };
            rows.put_challenge(&ReplicaChallenge {
                challenge: c.clone(),
                counts,
            })?;
        }
        SharedEvent::Participant(p) => {
            if rows.participant(p.id)?.is_none() {
                totals.participants += 1;
            }
            rows.put_participant(p)?;
        }
        SharedEvent::ParticipantErased(id) => {
            if let Some(mut p) = rows.participant(*id)? {
                p.display_name = None;
                rows.put_participant(&p)?;
            }
        }
        // Routed, not replicated: the national log carries them to their destination.
        SharedEvent::RemoteAsk(_)
        | SharedEvent::RemoteAnswer(_)
        | SharedEvent::Lease(_)
        | SharedEvent::ChallengeRemote { .. } => {}
        SharedEvent::Registration {
            registration: r, ..
        } => {
            let old = rows.registration(r.id)?;
            let challenge = match r.target {
                Target::Challenge(number) => rows.challenge(number)?,
                Target::Conference(_) => None,
            };
            if let Some(mut c) = challenge {
                if let Some(old) = &old {
                    c.counts.sub(Counts::of(old));
                }
                c.counts.add(Counts::of(r));
                rows.put_challenge(&c)?;
            }
            let was_active = old
                .as_ref()
                .is_some_and(|o| o.state != RegistrationState::Cancelled);
            let is_active = r.state != RegistrationState::Cancelled;
            let was_in = old.as_ref().map_or(0, |o| Counts::of(o).checked_in);
            totals.active_registrations = (totals.active_registrations + u32::from(is_active))
                .saturating_sub(u32::from(was_active));
            totals.checked_in =
                (totals.checked_in + Counts::of(r).checked_in).saturating_sub(was_in);
            rows.put_registration(r)?;
        }
        SharedEvent::ProgramItem(i) => rows.put_program_item(i)?,
        SharedEvent::ProgramItemCancelled(id) => rows.remove_program_item(*id)?,
        SharedEvent::Conference(c) => rows.put_conference(c)?,
    }
    rows.put_totals(&totals)
}

/// Checks one incoming shared event with the site's own rules (lengths, ids, enums,
/// counts); `path` names the event in the error (`events[3]`).
pub fn check_event(path: &str, e: &SharedEvent) -> Result<(), DomainError> {
    let within = |what: &str| {
        let prefix = format!("{path}.{what}");
        move |e: DomainError| match e {
            DomainError::Invalid { field, rule } => DomainError::Invalid {
                field: format!("{prefix}.{field}"),
                rule,
            },
            other => other,
        }
    };
    match e {
        SharedEvent::ThemeAdded(t) => {
            let checked = Theme::from_label(&t.label).map_err(within("theme"))?;
            // The grandes mutations keep the ids they were first given (slugs of their
            // labels as first typed) under the document's full labels.
            let known = crate::i18n::known_theme(&t.id).is_some_and(|k| k.fr == t.label);
            if checked.id != t.id && !known {
                return Err(DomainError::invalid(
                    format!("{path}.theme.id"),
                    format!("must be the slug of its label ({:?})", checked.id),
                ));
            }
        }
        SharedEvent::ChallengeUpserted(c) => {
            check_number(&format!("{path}.challenge.number"), c.number)?;
            c.fields
                .validated(&mut |_| true)
                .map_err(within("challenge"))?;
        }
        SharedEvent::Participant(p) => {
            crate::participant::check_language(&p.language).map_err(within("participant"))?;
            if let Some(name) = &p.display_name {
                text::checked(
                    &format!("{path}.participant.display_name"),
                    name,
                    1,
                    crate::limits::participant::MAX_DISPLAY_NAME,
                )?;
            }
        }
        SharedEvent::Registration { registration, .. } => match registration.target {
            Target::Challenge(n) => {
                check_number(&format!("{path}.registration.target"), n)?;
            }
            Target::Conference(_) => {
                return Err(DomainError::invalid(
                    format!("{path}.registration.target"),
                    "only challenge registrations leave a site",
                ));
            }
        },
        // A pseudonym: nothing to check beyond its shape, which the decoding ensured.
        SharedEvent::ParticipantErased(_) => {}
        SharedEvent::RemoteAsk(a) => crate::remote::check_ask(path, a)?,
        SharedEvent::RemoteAnswer(a) => crate::remote::check_answer(path, a)?,
        SharedEvent::Lease(m) => crate::lease::check_msg(path, m)?,
        SharedEvent::ChallengeRemote { challenge, .. } => {
            check_number(
                &format!("{path}.challenge_remote.challenge_number"),
                *challenge,
            )?;
        }
        SharedEvent::ProgramItem(i) => {
            check_id(&format!("{path}.program_item.id"), i.id)?;
            i.fields.validated(&format!("{path}.program_item."))?;
        }
        SharedEvent::ProgramItemCancelled(id) => {
            check_id(&format!("{path}.program_item_cancelled.id"), *id)?;
        }
        SharedEvent::Conference(c) => {
            check_id(&format!("{path}.conference.id"), c.id)?;
            c.fields.validated().map_err(within("conference"))?;
        }
    }
    Ok(())
}

/// Program items and conferences are numbered from 1 at their site.
fn check_id(field: &str, id: u32) -> Result<(), DomainError> {
    if id == 0 {
        return Err(DomainError::invalid(field, "must be 1 or more"));
    }
    Ok(())
}

/// A digest of a site's shareable state: the same on the site and on the national replica
/// when they hold the same data. Lines are sorted, so the order of the inputs is free.
pub fn digest<'a>(
    challenges: impl IntoIterator<Item = (&'a Challenge, Counts)>,
    registrations: impl IntoIterator<Item = &'a SharedRegistration>,
    participants: impl IntoIterator<Item = &'a SharedParticipant>,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    for (c, n) in challenges {
        lines.push(format!(
            "c {} v{} cap{} {} {}/{}/{}",
            c.number,
            c.version,
            c.fields.capacity,
            c.fields.status,
            n.confirmed,
            n.waitlisted,
            n.checked_in
        ));
    }
    for r in registrations {
        lines.push(format!(
            "r {} {} {} {} {}",
            r.id,
            r.participant,
            r.target,
            r.state,
            r.checked_in_at_ms.unwrap_or(0)
        ));
    }
    for p in participants {
        lines.push(format!(
            "p {} {:?} {} {}",
            p.id,
            p.organisation_type,
            p.language,
            p.display_name.as_deref().unwrap_or("-")
        ));
    }
    lines.sort_unstable();
    let mut h = crate::fnv1a(&[]);
    for l in &lines {
        h = crate::fnv1a_continue(h, l.as_bytes());
        h = crate::fnv1a_continue(h, b"\n");
    }
    format!("{:016x}-{}", h, lines.len())
}

/// A site of the event, as the national directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteEntry {
    pub id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
}

/// A message from the national coordination to every site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub id: u64,
    pub text: String,
    pub at_ms: i64,
}

/// One item of the national directory that the national node pushes down to every site:
/// national-owned data, read-only at the sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectoryEntry {
    Site(SiteEntry),
    Theme(Theme),
    /// Another site's challenge, with its seat counts.
    Challenge {
        site: String,
        challenge: ReplicaChallenge,
    },
    Announcement(Announcement),
    /// Forget every challenge of this site (its replica was rebuilt); its current ones follow.
    DropSiteChallenges(String),
    /// A request of site `from` for one of this site's défis: pushed to its owner only,
    /// never stored in the directory.
    RemoteAsk {
        from: String,
        ask: RemoteAsk,
    },
    /// The owner `from`'s answer to one of this site's requests: pushed to it only.
    RemoteAnswer {
        from: String,
        answer: RemoteAnswer,
    },
    /// Whether a site's défi takes registrations from other sites (kept beside its
    /// `Challenge` entry; forgotten with it by `DropSiteChallenges`).
    RemoteChallenge {
        site: String,
        challenge: u32,
        remote: bool,
    },
    /// A seat lease's message from `from`: pushed to the one site it names only, never
    /// stored in the directory.
    Lease {
        from: String,
        msg: LeaseMsg,
    },
}

impl DirectoryEntry {
    /// The one site this entry is for (a remote ask or answer), or `None`: every site.
    pub fn addressed_to(&self) -> Option<&str> {
        match self {
            DirectoryEntry::RemoteAsk { ask, .. } => Some(&ask.to),
            DirectoryEntry::RemoteAnswer { answer, .. } => Some(&answer.to),
            DirectoryEntry::Lease { msg, .. } => Some(msg.to()),
            _ => None,
        }
    }
}

/// Other sites' challenges in a directory as a site holds it, for
/// [`crate::alternatives`].
pub fn remote_challenges(directory: &[DirectoryEntry]) -> Vec<(&str, &ReplicaChallenge)> {
    directory
        .iter()
        .filter_map(|e| match e {
            DirectoryEntry::Challenge { site, challenge } => Some((site.as_str(), challenge)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_goes_up_is_pseudonymous_and_named_only_with_consent() {
        let key = Uuid::from_u128(42);
        let p = Participant {
            id: ParticipantId(Uuid::from_u128(7)),
            display_name: "Zoé".into(),
            organisation: "Cluny".into(),
            organisation_type: OrganisationType::Citizen,
            language: "fr".into(),
            email: Some("zoe@cluny.fr".into()),
            consent_share_name: true,
            created_at_ms: 1,
        };
        let up = |p: &Participant| share_event(&key, &Event::ParticipantUpserted(p.clone()));
        assert!(
            matches!(up(&p), Some(SharedEvent::Participant(s)) if s.display_name.as_deref() == Some("Zoé"))
        );
        let withdrawn = Participant {
            consent_share_name: false,
            ..p.clone()
        };
        assert!(
            matches!(up(&withdrawn), Some(SharedEvent::Participant(s)) if s.display_name.is_none() && s.id == pseudonym(&key, p.id))
        );
        let r = Registration {
            id: RegistrationId(Uuid::from_u128(9)),
            participant: p.id,
            target: Target::Challenge(3),
            state: RegistrationState::Confirmed,
            ticket: crate::TicketCode::from_indexes([1, 2, 3, 4, 5, 6]),
            wait_slot: None,
            registered_at_ms: 1,
            confirmed_at_ms: Some(1),
            cancelled_at_ms: None,
            checked_in_at_ms: None,
        };
        let s = share_registration(&key, &r);
        assert_eq!(s.id, registration_pseudonym(&key, r.id), "stable");
        assert_ne!(s.id, r.id, "registration ids go up as pseudonyms");
        assert_ne!(s.id.0, pseudonym(&key, p.id).0);
        assert_ne!(s.id, share_registration(&Uuid::from_u128(43), &r).id);
        assert_eq!(s.participant, pseudonym(&key, p.id));
        assert_eq!(
            share_event(&key, &Event::ParticipantErased(p.id)),
            Some(SharedEvent::ParticipantErased(pseudonym(&key, p.id)))
        );
    }

    #[test]
    fn a_remote_request_goes_up_under_the_pseudonym_and_its_answer_as_it_is() {
        use crate::remote::{Guest, RemoteAnswer, RemoteRequest, RemoteResult, RemoteState};
        let key = Uuid::from_u128(42);
        let p = ParticipantId(Uuid::from_u128(7));
        let request = RemoteRequest {
            request_id: "r1".into(),
            participant: p,
            site: "kehl".into(),
            challenge: 3,
            created_at_ms: 1,
            expires_at_ms: 2,
            state: RemoteState::Pending,
        };
        let guest = Guest {
            organisation_type: OrganisationType::Citizen,
            language: "fr".into(),
        };
        let up = share_event(&key, &Event::RemoteRequested { request, guest });
        let Some(SharedEvent::RemoteAsk(ask)) = up else {
            panic!("{up:?}")
        };
        assert_eq!(ask.participant, pseudonym(&key, p));
        assert_eq!(
            (ask.to.as_str(), ask.challenge, ask.expires_at_ms),
            ("kehl", 3, 2)
        );
        check_event("e", &SharedEvent::RemoteAsk(ask)).expect("valid");
        let answer = RemoteAnswer {
            to: "cluny".into(),
            request_id: "r1".into(),
            challenge: 3,
            result: RemoteResult::Refused {
                reason: String::new(),
            },
        };
        let up = share_event(&key, &Event::RemoteAnswered(answer.clone()));
        assert_eq!(up, Some(SharedEvent::RemoteAnswer(answer.clone())));
        assert!(
            check_event("e", &SharedEvent::RemoteAnswer(answer)).is_err(),
            "a reason is said"
        );
    }

    /// Issue 15: a private person goes up by role, and the national node's check takes a
    /// private person without a name, not a public one.
    #[test]
    fn a_private_name_stays_on_the_site_and_the_copy_passes_the_national_check() {
        let person = |name: &str, private: bool| crate::Person {
            name: name.into(),
            role: "DGS".into(),
            organisation: "Ville de Cluny".into(),
            private,
        };
        let c = Challenge {
            number: 3,
            fields: crate::ChallengeFields {
                title: "Comment faire ?".into(),
                themes: vec!["la-cohesion-urbaine".into()],
                holders: vec![person("Anne", true), person("Bruno", false)],
                facilitators: vec![person("Chloé", false)],
                speakers: vec![person("Dina", true)],
                capacity: 10,
                ..crate::ChallengeFields::default()
            },
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let key = Uuid::from_u128(42);
        let Some(SharedEvent::ChallengeUpserted(up)) =
            share_event(&key, &Event::ChallengeUpserted(c.clone()))
        else {
            panic!("a challenge goes up");
        };
        assert_eq!(up.fields.holders[0], person("", true));
        assert_eq!(up.fields.holders[1], person("Bruno", false));
        assert_eq!(up.fields.speakers[0], person("", true));
        assert!(!format!("{up:?}").contains("Anne") && !format!("{up:?}").contains("Dina"));
        check_event("e", &SharedEvent::ChallengeUpserted(up.clone())).unwrap();
        let mut nameless = up;
        nameless.fields.holders[1].name.clear();
        let Err(DomainError::Invalid { field, .. }) =
            check_event("e", &SharedEvent::ChallengeUpserted(nameless))
        else {
            panic!("a public person needs a name");
        };
        assert_eq!(field, "e.challenge.holders[1].name");
        assert_eq!(
            public_names(&c),
            ["Bruno".to_owned(), "Chloé".to_owned()].into()
        );
    }

    /// Regression (issue 19): the grandes mutations carry the document's full labels under
    /// their first ids; the national node must take them, and still refuse a made-up id.
    #[test]
    fn the_default_themes_pass_the_national_check_and_a_wrong_id_does_not() {
        for t in crate::default_themes() {
            check_event("e", &SharedEvent::ThemeAdded(t.clone()))
                .unwrap_or_else(|e| panic!("{}: {e}", t.id));
        }
        let wrong = Theme {
            id: "la-cohesion-urbaine".into(),
            label: "Les transitions écologiques".into(),
        };
        assert!(check_event("e", &SharedEvent::ThemeAdded(wrong)).is_err());
    }
}
