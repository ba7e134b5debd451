//! Mini-conferences (mini-conférences, ateliers): offered by participants, in a room and a
//! time slot, with seats taken through the same registration machinery as challenges.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ParticipantId, participant, schedule, text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceFields {
    pub title: String,
    /// The participant who gives it.
    pub speaker: ParticipantId,
    /// The abstract.
    pub abstract_: String,
    pub room: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub capacity: u32,
    /// BCP 47 tag; empty means French.
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conference {
    /// Numbered within the site from 1.
    pub id: u32,
    pub fields: ConferenceFields,
    pub created_at_ms: i64,
}

pub mod limits {
    pub const MAX_TITLE: usize = 300;
    pub const MAX_ABSTRACT: usize = 4_000;
    pub const MAX_ROOM: usize = 80;
    pub const MAX_CAPACITY: u32 = 10_000;
}

impl ConferenceFields {
    pub fn validated(&self) -> Result<ConferenceFields, DomainError> {
        use limits::*;
        schedule::check_span("", self.start_ms, self.end_ms)?;
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return Err(DomainError::invalid(
                "capacity",
                format!(
                    "must be between 1 and {MAX_CAPACITY} seats (got {})",
                    self.capacity
                ),
            ));
        }
        let room = text::checked("room", &self.room, 1, MAX_ROOM)?;
        if schedule::room_key(&room).is_empty() {
            return Err(DomainError::invalid(
                "room",
                "must contain letters or digits",
            ));
        }
        Ok(ConferenceFields {
            title: text::checked("title", &self.title, 1, MAX_TITLE)?,
            speaker: self.speaker,
            abstract_: text::checked("abstract", &self.abstract_, 0, MAX_ABSTRACT)?,
            room,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            capacity: self.capacity,
            language: participant::check_language(&self.language)?,
        })
    }
}
