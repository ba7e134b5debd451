//! Participants: who they are, and what they agreed may leave the site.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ParticipantId, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrganisationType {
    Collectivity,
    State,
    Association,
    Research,
    Company,
    Citizen,
    Other,
}

/// What a desk types in for a new participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewParticipant {
    pub display_name: String,
    pub organisation: String,
    pub organisation_type: OrganisationType,
    /// BCP 47 tag; empty means French.
    pub language: String,
    pub email: Option<String>,
    pub consent_share_name: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: ParticipantId,
    pub display_name: String,
    pub organisation: String,
    pub organisation_type: OrganisationType,
    pub language: String,
    pub email: Option<String>,
    pub consent_share_name: bool,
    pub created_at_ms: i64,
}

pub mod limits {
    pub const MAX_DISPLAY_NAME: usize = 120;
    pub const MAX_ORGANISATION: usize = 200;
    pub const MAX_EMAIL: usize = 254;
}

impl NewParticipant {
    pub fn validated(&self, id: ParticipantId, now_ms: i64) -> Result<Participant, DomainError> {
        use limits::*;
        let display_name = text::checked("display_name", &self.display_name, 1, MAX_DISPLAY_NAME)?;
        let organisation = text::checked("organisation", &self.organisation, 0, MAX_ORGANISATION)?;
        let language = check_language(&self.language)?;
        let email = match self.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(check_email(e)?),
        };
        Ok(Participant {
            id,
            display_name,
            organisation,
            organisation_type: self.organisation_type,
            language,
            email,
            consent_share_name: self.consent_share_name,
            created_at_ms: now_ms,
        })
    }
}

impl Participant {
    /// The participant with new fields (validated like a new one); id and creation time stay.
    pub fn updated(&self, fields: &NewParticipant) -> Result<Participant, DomainError> {
        fields.validated(self.id, self.created_at_ms)
    }

    /// What stays of an erased participant: an anonymous row under the same id, so that
    /// registrations, seats and totals stay right. Name, organisation and email are gone
    /// (an empty name marks the erasure: a live participant always has one), and so is the
    /// consent; the organisation type and language are kept (coarse, not personal).
    pub fn erased(&self) -> Participant {
        Participant {
            id: self.id,
            display_name: String::new(),
            organisation: String::new(),
            organisation_type: self.organisation_type,
            language: self.language.clone(),
            email: None,
            consent_share_name: false,
            created_at_ms: self.created_at_ms,
        }
    }

    /// Whether this is what [`Participant::erased`] leaves.
    pub fn is_erased(&self) -> bool {
        self.display_name.is_empty()
    }
}

const DAY_MS: i64 = 86_400_000;

/// Whether personal data kept `days` after the event's end (`last_end_ms`, the latest end
/// of its program and conferences) is due for erasure at `now_ms`. `days == 0` keeps it
/// (no automatic erasure), and so does an event with no date yet.
pub fn retention_due(last_end_ms: Option<i64>, days: u32, now_ms: i64) -> bool {
    match last_end_ms {
        Some(end) if days > 0 => now_ms >= end.saturating_add(i64::from(days) * DAY_MS),
        _ => false,
    }
}

/// A BCP 47-shaped tag: letters, digits and dashes, starting with 2–3 letters; lowercased
/// primary subtag. Empty means "fr".
pub(crate) fn check_language(tag: &str) -> Result<String, DomainError> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Ok("fr".to_owned());
    }
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && tag.len() <= 35 {
        let mut out = primary.to_ascii_lowercase();
        out.push_str(&tag[primary.len()..]);
        Ok(out)
    } else {
        Err(DomainError::invalid(
            "language",
            format!("{tag:?} is not a language tag such as \"fr\", \"en\" or \"de-AT\""),
        ))
    }
}

pub(crate) fn check_email(email: &str) -> Result<String, DomainError> {
    let e = text::checked("email", email, 3, limits::MAX_EMAIL)?;
    let mut halves = e.split('@');
    let (local, domain, extra) = (halves.next(), halves.next(), halves.next());
    let shaped = matches!((local, domain, extra), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if !shaped || e.chars().any(char::is_whitespace) {
        return Err(DomainError::invalid(
            "email",
            format!("{e:?} is not an email address"),
        ));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_lang(input: &str, expected: Option<&str>) {
        assert_eq!(check_language(input).ok().as_deref(), expected, "{input:?}");
    }

    #[test]
    fn languages() {
        check_lang("", Some("fr"));
        check_lang("EN", Some("en"));
        check_lang("de-AT", Some("de-AT"));
        check_lang("français", None);
        check_lang("f", None);
        check_lang("en-", None);
    }

    #[test]
    fn erasure_keeps_only_the_anonymous_fields() {
        let new = NewParticipant {
            display_name: "Zoé Quintal".into(),
            organisation: "Mairie de Cluny".into(),
            organisation_type: OrganisationType::Collectivity,
            language: "fr".into(),
            email: Some("zoe@cluny.fr".into()),
            consent_share_name: true,
        };
        let p = new.validated(ParticipantId(uuid::Uuid::nil()), 7).unwrap();
        assert!(!p.is_erased());
        let e = p.erased();
        assert!(e.is_erased());
        assert_eq!((e.id, e.created_at_ms), (p.id, 7));
        assert_eq!(e.organisation_type, OrganisationType::Collectivity);
        assert!(e.display_name.is_empty() && e.organisation.is_empty());
        assert_eq!((e.email, e.consent_share_name), (None, false));
    }

    #[test]
    fn retention_counts_whole_days_after_the_end() {
        let end = 1_000 * DAY_MS + 5;
        assert!(!retention_due(Some(end), 90, end + 90 * DAY_MS - 1));
        assert!(retention_due(Some(end), 90, end + 90 * DAY_MS));
        assert!(!retention_due(Some(end), 0, i64::MAX), "0 keeps");
        assert!(!retention_due(None, 90, i64::MAX), "no date yet");
        assert!(!retention_due(Some(i64::MAX - 1), 1, i64::MAX - 2));
    }

    #[test]
    fn emails() {
        assert!(check_email("anne@kehl.de").is_ok());
        assert!(check_email("anne@kehl").is_err());
        assert!(check_email("a b@kehl.de").is_err());
        assert!(check_email("a@b@c.de").is_err());
        assert!(check_email("@kehl.de").is_err());
    }
}
