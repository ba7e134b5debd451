//! Learning teams (équipes apprenantes) and their notebook (carnet d'apprentissage).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, ParticipantId, text};

/// The three moments a learning team meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Moment {
    /// 1: frame and share one's objectives (cadrer et partager ses objectifs).
    Objectives,
    /// 2: share learnings and questions (partager ses apprentissages et questions).
    Learnings,
    /// 3: share and commit (partager et engagements).
    Commitments,
}

impl Moment {
    pub const ALL: [Moment; 3] = [Moment::Objectives, Moment::Learnings, Moment::Commitments];

    pub fn number(self) -> u8 {
        match self {
            Moment::Objectives => 1,
            Moment::Learnings => 2,
            Moment::Commitments => 3,
        }
    }

    pub fn from_number(field: &str, n: u32) -> Result<Moment, DomainError> {
        match n {
            1 => Ok(Moment::Objectives),
            2 => Ok(Moment::Learnings),
            3 => Ok(Moment::Commitments),
            _ => Err(DomainError::invalid(
                field,
                format!("must be 1, 2 or 3 (got {n})"),
            )),
        }
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moment {}", self.number())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamFields {
    pub name: String,
    /// 0 takes [`limits::DEFAULT_MIN_MEMBERS`].
    pub min_members: u32,
    /// 0 takes [`limits::DEFAULT_MAX_MEMBERS`].
    pub max_members: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearningTeam {
    pub id: u32,
    pub name: String,
    /// Below it the team is still forming; informative, nothing is refused.
    pub min_members: u32,
    /// Joining a team that has it is refused.
    pub max_members: u32,
    /// In order of joining.
    pub members: Vec<ParticipantId>,
    pub created_at_ms: i64,
}

/// What a team writes down at one of its moments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotebookEntry {
    /// Time-ordered UUID.
    pub id: uuid::Uuid,
    pub team: u32,
    pub moment: Moment,
    pub author: ParticipantId,
    pub text: String,
    pub at_ms: i64,
}

pub mod limits {
    pub const MAX_NAME: usize = 120;
    pub const DEFAULT_MIN_MEMBERS: u32 = 6;
    pub const DEFAULT_MAX_MEMBERS: u32 = 10;
    pub const MAX_MEMBERS: u32 = 100;
    pub const MAX_ENTRY: usize = 8_000;
}

impl TeamFields {
    /// Checks the fields and fills in the default sizes.
    pub fn validated(&self) -> Result<TeamFields, DomainError> {
        use limits::*;
        let name = text::checked("name", &self.name, 1, MAX_NAME)?;
        let min = if self.min_members == 0 {
            DEFAULT_MIN_MEMBERS
        } else {
            self.min_members
        };
        if min > MAX_MEMBERS {
            return Err(DomainError::invalid(
                "min_members",
                format!("must be at most {MAX_MEMBERS} (got {min})"),
            ));
        }
        let max = if self.max_members == 0 {
            DEFAULT_MAX_MEMBERS.max(min)
        } else {
            self.max_members
        };
        if max > MAX_MEMBERS {
            return Err(DomainError::invalid(
                "max_members",
                format!("must be at most {MAX_MEMBERS} (got {max})"),
            ));
        }
        if min > max {
            return Err(DomainError::invalid(
                "min_members",
                format!("must not exceed max_members ({min} > {max})"),
            ));
        }
        Ok(TeamFields {
            name,
            min_members: min,
            max_members: max,
        })
    }
}

pub fn check_entry_text(text_: &str) -> Result<String, DomainError> {
    text::checked("text", text_, 1, limits::MAX_ENTRY)
}
