//! Challenges (défis): their fields, their limits and their status.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeStatus {
    Draft,
    Open,
    Closed,
    Exhibited,
}

impl fmt::Display for ChallengeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChallengeStatus::Draft => "draft",
            ChallengeStatus::Open => "open",
            ChallengeStatus::Closed => "closed",
            ChallengeStatus::Exhibited => "exhibited",
        })
    }
}

/// The person (and collectivity) who brings a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub name: String,
    pub role: String,
    pub collectivity: String,
}

/// What an organiser writes when creating or editing a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeFields {
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub holders: Vec<Holder>,
    pub facilitators: Vec<String>,
    pub room: String,
    pub capacity: u32,
    pub status: ChallengeStatus,
}

/// A challenge as stored: its fields plus identity and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub number: u32,
    pub fields: ChallengeFields,
    pub version: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What to offer someone who lands on the waiting list of `full`: the other open challenges
/// with a seat left that share one of its themes, the most themes in common first, then the
/// most seats left, then by number; at most `max`.
pub fn alternatives<'a>(
    full: &Challenge,
    others: impl IntoIterator<Item = (&'a Challenge, &'a crate::SeatPool)>,
    max: usize,
) -> Vec<u32> {
    let mut found: Vec<(usize, u32, u32)> = others
        .into_iter()
        .filter(|(c, p)| {
            c.number != full.number
                && c.fields.status == ChallengeStatus::Open
                && p.seats_left() > 0
        })
        .filter_map(|(c, p)| {
            let shared = c
                .fields
                .themes
                .iter()
                .filter(|t| full.fields.themes.contains(t))
                .count();
            (shared > 0).then_some((shared, p.seats_left(), c.number))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    found.into_iter().take(max).map(|(_, _, n)| n).collect()
}

/// Limits, in characters unless said otherwise. They are part of the API contract.
pub mod limits {
    pub const MAX_NUMBER: u32 = 9_999;
    pub const MAX_TITLE: usize = 300;
    pub const MAX_DESCRIPTION: usize = 4_000;
    pub const MAX_THEMES: usize = 7;
    pub const MAX_HOLDERS: usize = 5;
    pub const MAX_NAME: usize = 120;
    pub const MAX_ROLE: usize = 200;
    pub const MAX_COLLECTIVITY: usize = 200;
    pub const MAX_FACILITATORS: usize = 2;
    pub const MAX_ROOM: usize = 80;
    /// Seats: a défi is ~10 people; more than this is a typing error.
    pub const MAX_CAPACITY: u32 = 10_000;
}

impl ChallengeFields {
    /// Trims and checks every field; `theme_exists` says whether a theme id is on the list.
    pub fn validated(
        &self,
        theme_exists: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChallengeFields, DomainError> {
        use limits::*;
        let title = text::checked("title", &self.title, 1, MAX_TITLE)?;
        let description = text::checked("description", &self.description, 0, MAX_DESCRIPTION)?;
        let themes = check_themes("themes", &self.themes, theme_exists)?;
        if self.holders.len() > MAX_HOLDERS {
            return Err(DomainError::invalid(
                "holders",
                format!("at most {MAX_HOLDERS} holders (has {})", self.holders.len()),
            ));
        }
        let holders = self
            .holders
            .iter()
            .enumerate()
            .map(|(i, h)| {
                Ok(Holder {
                    name: text::checked(&format!("holders[{i}].name"), &h.name, 1, MAX_NAME)?,
                    role: text::checked(&format!("holders[{i}].role"), &h.role, 0, MAX_ROLE)?,
                    collectivity: text::checked(
                        &format!("holders[{i}].collectivity"),
                        &h.collectivity,
                        0,
                        MAX_COLLECTIVITY,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        if self.facilitators.is_empty() || self.facilitators.len() > MAX_FACILITATORS {
            return Err(DomainError::invalid(
                "facilitators",
                format!(
                    "one or two facilitators are required (has {})",
                    self.facilitators.len()
                ),
            ));
        }
        let facilitators = self
            .facilitators
            .iter()
            .enumerate()
            .map(|(i, f)| text::checked(&format!("facilitators[{i}]"), f, 1, MAX_NAME))
            .collect::<Result<Vec<_>, DomainError>>()?;
        let room = text::checked("room", &self.room, 0, MAX_ROOM)?;
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return Err(DomainError::invalid(
                "capacity",
                format!(
                    "must be between 1 and {MAX_CAPACITY} seats (got {})",
                    self.capacity
                ),
            ));
        }
        Ok(ChallengeFields {
            title,
            description,
            themes,
            holders,
            facilitators,
            room,
            capacity: self.capacity,
            status: self.status,
        })
    }
}

/// Checks a theme list: 1..=7 themes, each on the site's list; duplicates dropped.
pub(crate) fn check_themes(
    field: &str,
    given: &[String],
    theme_exists: &mut dyn FnMut(&str) -> bool,
) -> Result<Vec<String>, DomainError> {
    use limits::MAX_THEMES;
    if given.is_empty() {
        return Err(DomainError::invalid(
            field,
            "at least one theme is required",
        ));
    }
    if given.len() > MAX_THEMES {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_THEMES} themes (has {})", given.len()),
        ));
    }
    let mut themes: Vec<String> = Vec::with_capacity(given.len());
    for (i, t) in given.iter().enumerate() {
        let t = t.trim();
        if !theme_exists(t) {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                format!("unknown theme {t:?} (see ListThemes, or add it with AddTheme)"),
            ));
        }
        if !themes.iter().any(|x| x == t) {
            themes.push(t.to_owned());
        }
    }
    Ok(themes)
}

/// Checks a challenge number given by a client.
pub fn check_number(field: &str, number: u32) -> Result<u32, DomainError> {
    if (1..=limits::MAX_NUMBER).contains(&number) {
        Ok(number)
    } else {
        Err(DomainError::invalid(
            field,
            format!(
                "must be between 1 and {} (got {number})",
                limits::MAX_NUMBER
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeatPool;

    fn challenge(number: u32, themes: &[&str], status: ChallengeStatus) -> Challenge {
        Challenge {
            number,
            fields: ChallengeFields {
                title: format!("défi {number}"),
                description: String::new(),
                themes: themes.iter().map(|t| (*t).to_owned()).collect(),
                holders: Vec::new(),
                facilitators: Vec::new(),
                room: String::new(),
                capacity: 10,
                status,
            },
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn pool(capacity: u32, confirmed: u32) -> SeatPool {
        SeatPool {
            confirmed,
            ..SeatPool::new(capacity)
        }
    }

    fn check(full: &Challenge, others: &[(Challenge, SeatPool)], expected: &[u32]) {
        let got = alternatives(full, others.iter().map(|(c, p)| (c, p)), 3);
        assert_eq!(got, expected);
    }

    #[test]
    fn alternatives_share_a_theme_have_seats_and_are_open() {
        use ChallengeStatus::*;
        let full = challenge(1, &["sante", "numerique"], Open);
        let others = [
            (full.clone(), pool(10, 10)),
            (challenge(2, &["sante"], Open), pool(10, 9)),
            (challenge(3, &["sante", "numerique"], Open), pool(10, 8)),
            (challenge(4, &["culture"], Open), pool(10, 0)),
            (challenge(5, &["sante"], Open), pool(10, 10)),
            (challenge(6, &["numerique"], Closed), pool(10, 0)),
            (challenge(7, &["numerique"], Open), pool(10, 2)),
        ];
        // two themes in common first, then the most seats left; no full, closed or
        // unrelated one, nor the full challenge itself
        check(&full, &others, &[3, 7, 2]);
        check(&challenge(9, &["mobilite"], Open), &others, &[]);
    }
}
