//! Registering for another site's défi: the request a desk makes at its own site, the ask
//! that travels (up its log, through the national node, down the owner's directory), the
//! answer the owner decides under its own rules, and how each site applies them.
//!
//! The owner decides, the national node only routes: the requesting site keeps the request
//! (one défi per participant counts it), the owner registers a guest (a pseudonym, never a
//! name or an email) with its own seats and waiting list, and the answer comes back under
//! the request id the desk used.

use serde::{Deserialize, Serialize};

use crate::{
    DomainError, OrganisationType, Participant, ParticipantId, SiteId, check_number, text,
};

/// How long a remote request waits for its owner; past it, the owner refuses it and the
/// requesting site no longer counts it.
pub const REMOTE_REQUEST_TTL_MS: i64 = 6 * 3600 * 1000;

/// Longest request id of a remote request: the sites that apply it prefix it with the
/// other site's id (see `agora_sync::uplink`), within [`crate::limits::MAX_REQUEST_ID`].
pub const MAX_REMOTE_REQUEST_ID: usize = 80;

/// Longest refusal reason carried back.
pub const MAX_REASON: usize = 500;

/// What the owner decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoteResult {
    Confirmed,
    /// On the owner's waiting list, `position` people in line when it was decided.
    Waitlisted {
        position: u32,
    },
    /// The owner's rules refused it (in the owner's words).
    Refused {
        reason: String,
    },
}

/// Where a remote request stands at the requesting site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoteState {
    Pending,
    Answered(RemoteResult),
    /// Confirmed from a seat lease, then cancelled at this site (`CancelRemote`).
    Cancelled,
}

/// A desk's request for another site's défi, as the requesting site keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRequest {
    pub request_id: String,
    /// The participant, by the requesting site's own id (never sent).
    pub participant: ParticipantId,
    /// The owner.
    pub site: String,
    pub challenge: u32,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub state: RemoteState,
}

impl RemoteRequest {
    /// Whether it counts as the participant's défi at `now`: pending and not expired, or
    /// granted (a seat or a place in line).
    pub fn holds(&self, now_ms: i64) -> bool {
        match &self.state {
            RemoteState::Pending => now_ms <= self.expires_at_ms,
            RemoteState::Answered(RemoteResult::Refused { .. }) | RemoteState::Cancelled => false,
            RemoteState::Answered(_) => true,
        }
    }

    /// Pending past its expiry: the owner will refuse it if it ever gets it.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.state == RemoteState::Pending && now_ms > self.expires_at_ms
    }
}

/// What the owner learns about the person: a pseudonym, their organisation type and
/// language (never a name or an email).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    pub organisation_type: OrganisationType,
    pub language: String,
}

impl Guest {
    pub fn of(p: &Participant) -> Guest {
        Guest {
            organisation_type: p.organisation_type,
            language: p.language.clone(),
        }
    }
}

/// The request as it travels to the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteAsk {
    /// The owner.
    pub to: String,
    pub challenge: u32,
    pub request_id: String,
    /// The participant's pseudonym under the requesting site's key.
    pub participant: ParticipantId,
    pub guest: Guest,
    pub expires_at_ms: i64,
}

/// The owner's answer as it travels back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteAnswer {
    /// The requesting site.
    pub to: String,
    pub request_id: String,
    pub challenge: u32,
    pub result: RemoteResult,
}

/// The owner's id for the guest of `from` known there by `pseudonym`: a name-based UUID, so
/// that two requesting sites never share a guest, and the same person at one site is always
/// the same guest (one défi per participant holds at the owner too).
pub fn guest_id(from: &str, pseudonym: ParticipantId) -> ParticipantId {
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"agora:remote-guest");
    let mut name = from.as_bytes().to_vec();
    name.push(0);
    name.extend_from_slice(pseudonym.as_bytes());
    ParticipantId(uuid::Uuid::new_v5(&ns, &name))
}

/// The owner's participant row for a guest: named after the requesting site only, no
/// email, no consent to share a name.
pub fn guest_participant(from: &str, ask: &RemoteAsk, now_ms: i64) -> Participant {
    Participant {
        id: guest_id(from, ask.participant),
        display_name: format!("guest of {from}"),
        organisation: from.to_owned(),
        organisation_type: ask.guest.organisation_type,
        language: ask.guest.language.clone(),
        email: None,
        consent_share_name: false,
        created_at_ms: now_ms,
    }
}

/// Checks the fields of a new remote request (the owner site's id and the défi's number).
pub fn check_request(request_id: &str, site: &str, challenge: u32) -> Result<(), DomainError> {
    check_request_id("request_id", request_id)?;
    SiteId::parse("site_id", site)?;
    check_number("challenge_number", challenge)?;
    Ok(())
}

/// Checks an ask or an answer as it reaches the national node (`path` names the event).
pub fn check_ask(path: &str, a: &RemoteAsk) -> Result<(), DomainError> {
    SiteId::parse(&format!("{path}.remote_ask.to_site_id"), &a.to)?;
    check_number(&format!("{path}.remote_ask.challenge_number"), a.challenge)?;
    check_request_id(&format!("{path}.remote_ask.request_id"), &a.request_id)?;
    crate::participant::check_language(&a.guest.language)
        .map_err(|_| DomainError::invalid(format!("{path}.remote_ask.language"), "unknown"))?;
    Ok(())
}

pub fn check_answer(path: &str, a: &RemoteAnswer) -> Result<(), DomainError> {
    SiteId::parse(&format!("{path}.remote_answer.to_site_id"), &a.to)?;
    check_number(
        &format!("{path}.remote_answer.challenge_number"),
        a.challenge,
    )?;
    check_request_id(&format!("{path}.remote_answer.request_id"), &a.request_id)?;
    if let RemoteResult::Refused { reason } = &a.result {
        text::checked(
            &format!("{path}.remote_answer.reason"),
            reason,
            1,
            MAX_REASON,
        )?;
    }
    Ok(())
}

pub(crate) fn check_request_id(field: &str, id: &str) -> Result<(), DomainError> {
    if id.is_empty() || id.len() > MAX_REMOTE_REQUEST_ID {
        return Err(DomainError::invalid(
            field,
            format!("must hold 1..={MAX_REMOTE_REQUEST_ID} bytes for a remote request"),
        ));
    }
    Ok(())
}

/// A refusal reason within [`MAX_REASON`] characters.
pub fn reason(e: &DomainError) -> String {
    let s = e.to_string();
    match s.char_indices().nth(MAX_REASON) {
        Some((i, _)) => s[..i].to_owned(),
        None => s,
    }
}
