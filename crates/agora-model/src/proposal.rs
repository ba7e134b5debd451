//! The call for défis (appel à défis): proposals ("fiches défi") made before the event,
//! their review, and the duplicate check on their question.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::challenge::{self, check_themes};
use crate::{DomainError, Holder, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalStatus {
    Submitted,
    /// Accepted into a challenge (`ChallengeProposal::challenge`).
    Accepted,
    Declined,
    /// Sent back to its holder; it may be reviewed again.
    NeedsChanges,
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProposalStatus::Submitted => "submitted",
            ProposalStatus::Accepted => "accepted",
            ProposalStatus::Declined => "declined",
            ProposalStatus::NeedsChanges => "needs changes",
        })
    }
}

/// What a territory writes on its fiche défi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalFields {
    /// The question; it becomes the challenge's title.
    pub question: String,
    pub context: String,
    pub holder: Holder,
    pub themes: Vec<String>,
    /// The site the holder would like (free text: the directory of sites is national data).
    pub wished_site: String,
    pub expected_participants: u32,
}

/// Something whose question another one may repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum QuestionRef {
    Challenge(u32),
    Proposal(u32),
}

impl fmt::Display for QuestionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuestionRef::Challenge(n) => write!(f, "challenge {n}"),
            QuestionRef::Proposal(n) => write!(f, "proposal {n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeProposal {
    pub id: u32,
    pub fields: ProposalFields,
    pub status: ProposalStatus,
    pub review_comment: String,
    /// The challenge made from it, once accepted.
    pub challenge: Option<u32>,
    /// Challenges and proposals that already had the same question (after folding case,
    /// accents, punctuation and spaces) when this one was submitted.
    pub duplicates: Vec<QuestionRef>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An organiser's decision on a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Review {
    /// Creates the challenge: the proposal gives title, description, themes and holder; the
    /// review gives what only the site knows.
    Accept {
        /// `None` takes the next free number.
        number: Option<u32>,
        facilitators: Vec<String>,
        room: String,
        capacity: u32,
    },
    Decline,
    NeedsChanges,
}

pub mod limits {
    pub const MAX_CONTEXT: usize = 4_000;
    pub const MAX_WISHED_SITE: usize = 120;
    pub const MAX_COMMENT: usize = 2_000;
    pub const MAX_EXPECTED_PARTICIPANTS: u32 = 1_000;
}

impl ProposalFields {
    pub fn validated(
        &self,
        theme_exists: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ProposalFields, DomainError> {
        use challenge::limits as c;
        use limits::*;
        let question = text::checked("question", &self.question, 1, c::MAX_TITLE)?;
        if text::fold(&question).is_empty() {
            return Err(DomainError::invalid(
                "question",
                "must contain letters or digits",
            ));
        }
        let holder = self.holder.validated("holder", "collectivity", true)?;
        if self.expected_participants > MAX_EXPECTED_PARTICIPANTS {
            return Err(DomainError::invalid(
                "expected_participants",
                format!("must be at most {MAX_EXPECTED_PARTICIPANTS}"),
            ));
        }
        Ok(ProposalFields {
            question,
            context: text::checked("context", &self.context, 0, MAX_CONTEXT)?,
            holder,
            themes: check_themes("themes", &self.themes, theme_exists)?,
            wished_site: text::checked("wished_site", &self.wished_site, 0, MAX_WISHED_SITE)?,
            expected_participants: self.expected_participants,
        })
    }
}

/// The key under which questions are compared.
pub fn question_key(question: &str) -> String {
    text::fold(question)
}
