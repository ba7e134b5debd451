//! The program ("le programme en un coup d'œil"): timed items per site, and the default
//! three-day sequence of "briques" from the organisers' document.

use serde::{Deserialize, Serialize};

use crate::{DomainError, Moment, schedule, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgramKind {
    Welcome,
    Plenary,
    /// Défis, step 1..=6.
    ChallengeStep(u8),
    MiniConferences,
    TeamMoment(Moment),
    Exhibition,
    Closing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramItemFields {
    pub kind: ProgramKind,
    pub title: String,
    /// Items in the same room (compared folded) must not overlap; empty: no room.
    pub room: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramItem {
    pub id: u32,
    pub fields: ProgramItemFields,
    pub created_at_ms: i64,
}

pub mod limits {
    pub const MAX_TITLE: usize = 300;
    pub const MAX_ROOM: usize = 80;
    /// Most items created by one call.
    pub const MAX_ITEMS_PER_CALL: usize = 100;
    /// UTF-8 bytes of titles and rooms in one call: the call's change record is one stored
    /// row, and rows are bounded (the store's `MAX_VALUE_BYTES`, 80 KiB). 100 items of
    /// 120-character French titles take about 15 KB.
    pub const MAX_TEXT_BYTES_PER_CALL: usize = 40 << 10;
}

impl ProgramItemFields {
    /// Checks one item; `field` prefixes the names in errors (`items[3].`).
    pub fn validated(&self, field: &str) -> Result<ProgramItemFields, DomainError> {
        use limits::*;
        if let ProgramKind::ChallengeStep(n) = self.kind
            && !(1..=6).contains(&n)
        {
            return Err(DomainError::invalid(
                format!("{field}challenge_step"),
                format!("must be between 1 and 6 (got {n})"),
            ));
        }
        schedule::check_span(field, self.start_ms, self.end_ms)?;
        Ok(ProgramItemFields {
            kind: self.kind,
            title: text::checked(&format!("{field}title"), &self.title, 1, MAX_TITLE)?,
            room: text::checked(&format!("{field}room"), &self.room, 0, MAX_ROOM)?,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
        })
    }
}

/// The seed's sequence of briques over three days, from `first_day_ms` (local midnight of
/// the first day, in UTC milliseconds).
pub fn default_program(first_day_ms: i64) -> Vec<ProgramItemFields> {
    use ProgramKind::*;
    const AMPHI: &str = "Amphithéâtre";
    const DEFIS: &str = "Salles des défis";
    const TEAMS: &str = "Salles des équipes apprenantes";
    const ATELIERS: &str = "Salles des ateliers";
    const EXPO: &str = "Hall d'exposition";
    let at = |day: i64, h: i64, m: i64| first_day_ms + day * 86_400_000 + (h * 60 + m) * 60_000;
    let item = |kind, title: &str, room: &str, day, (h1, m1), (h2, m2)| ProgramItemFields {
        kind,
        title: title.to_owned(),
        room: room.to_owned(),
        start_ms: at(day, h1, m1),
        end_ms: at(day, h2, m2),
    };
    vec![
        item(
            Welcome,
            "Accueil : constituer les équipes apprenantes",
            "Accueil",
            0,
            (9, 0),
            (9, 45),
        ),
        item(
            TeamMoment(Moment::Objectives),
            "Équipes apprenantes, moment 1 : cadrer et partager ses objectifs",
            TEAMS,
            0,
            (9, 45),
            (10, 45),
        ),
        item(
            Plenary,
            "Plénière : créer des connexions et inspirer, découvrir des défis des autres années",
            AMPHI,
            0,
            (11, 0),
            (12, 30),
        ),
        item(
            ChallengeStep(1),
            "Défis, étape 1 : chaque équipe s'approprie son défi et se découvre",
            DEFIS,
            0,
            (14, 0),
            (15, 30),
        ),
        item(
            ChallengeStep(2),
            "Défis, étape 2 : mieux comprendre le défi, mini-immersion",
            DEFIS,
            0,
            (15, 45),
            (17, 30),
        ),
        item(
            MiniConferences,
            "Mini-conférences et ateliers offerts par les participants",
            ATELIERS,
            1,
            (9, 0),
            (10, 30),
        ),
        item(
            ChallengeStep(3),
            "Défis, étape 3 : faire du sens et cadrer un prototype",
            DEFIS,
            1,
            (10, 45),
            (12, 30),
        ),
        item(
            ChallengeStep(4),
            "Défis, étape 4 : construire et préparer le prototype et la stratégie de capture d'informations",
            DEFIS,
            1,
            (14, 0),
            (16, 0),
        ),
        item(
            TeamMoment(Moment::Learnings),
            "Équipes apprenantes, moment 2 : partager ses apprentissages et questions",
            TEAMS,
            1,
            (16, 15),
            (17, 30),
        ),
        item(
            ChallengeStep(5),
            "Défis, étape 5 : déroulement du prototype et capture des informations",
            DEFIS,
            2,
            (9, 0),
            (10, 45),
        ),
        item(
            ChallengeStep(6),
            "Défis, étape 6 : apprentissages du prototype, préparation de l'exposition",
            DEFIS,
            2,
            (11, 0),
            (12, 30),
        ),
        item(
            Exhibition,
            "Exposition collective des défis, avec rétroactions et prochaines actions",
            EXPO,
            2,
            (14, 0),
            (15, 30),
        ),
        item(
            TeamMoment(Moment::Commitments),
            "Équipes apprenantes, moment 3 : partager et s'engager",
            TEAMS,
            2,
            (15, 45),
            (16, 30),
        ),
        item(Closing, "Clôture", AMPHI, 2, (16, 30), (17, 0)),
    ]
}
