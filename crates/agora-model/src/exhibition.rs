//! The collective exhibition (exposition collective): feedback on challenges, and the next
//! actions that live on after the event (the September "bilan et suite").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, schedule, text};

/// A reaction left on a challenge at the exhibition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// Time-ordered UUID.
    pub id: uuid::Uuid,
    pub challenge: u32,
    /// Free text: visitors of the exhibition need not be registered participants.
    pub author: String,
    pub text: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionStatus {
    Open,
    Done,
    Dropped,
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionStatus::Open => "open",
            ActionStatus::Done => "done",
            ActionStatus::Dropped => "dropped",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextActionFields {
    pub what: String,
    pub owner: String,
    pub due_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    pub id: u32,
    pub challenge: u32,
    pub fields: NextActionFields,
    pub status: ActionStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

pub mod limits {
    pub const MAX_AUTHOR: usize = 120;
    pub const MAX_TEXT: usize = 4_000;
    pub const MAX_WHAT: usize = 1_000;
    pub const MAX_OWNER: usize = 200;
}

pub fn check_feedback(author: &str, text_: &str) -> Result<(String, String), DomainError> {
    Ok((
        text::checked("author", author, 1, limits::MAX_AUTHOR)?,
        text::checked("text", text_, 1, limits::MAX_TEXT)?,
    ))
}

impl NextActionFields {
    pub fn validated(&self) -> Result<NextActionFields, DomainError> {
        if let Some(due) = self.due_ms
            && !(schedule::MIN_TIME_MS..=schedule::MAX_TIME_MS).contains(&due)
        {
            return Err(DomainError::invalid(
                "due_ms",
                format!(
                    "must be milliseconds since the Unix epoch between 2000 and 2100 (got {due})"
                ),
            ));
        }
        Ok(NextActionFields {
            what: text::checked("what", &self.what, 1, limits::MAX_WHAT)?,
            owner: text::checked("owner", &self.owner, 1, limits::MAX_OWNER)?,
            due_ms: self.due_ms,
        })
    }
}
