//! The national program: every site's program items and mini-conferences in one order,
//! and the défis the plenary shows.

use crate::{Challenge, Conference, ProgramItem};

/// One line of the national program, borrowed from the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramLine<'a> {
    Item(&'a str, &'a ProgramItem),
    Conference(&'a str, &'a Conference),
}

impl<'a> ProgramLine<'a> {
    pub fn site(&self) -> &'a str {
        match self {
            ProgramLine::Item(s, _) | ProgramLine::Conference(s, _) => s,
        }
    }

    pub fn start_ms(&self) -> i64 {
        match self {
            ProgramLine::Item(_, i) => i.fields.start_ms,
            ProgramLine::Conference(_, c) => c.fields.start_ms,
        }
    }

    fn order(&self) -> (i64, &'a str, u8, u32) {
        match self {
            ProgramLine::Item(s, i) => (i.fields.start_ms, s, 0, i.id),
            ProgramLine::Conference(s, c) => (c.fields.start_ms, s, 1, c.id),
        }
    }
}

/// The program of the sites given (site id, its items, its conferences): by start time,
/// then site, then items before conferences, then id.
pub fn national_program<'a>(
    sites: impl IntoIterator<Item = (&'a str, &'a [ProgramItem], &'a [Conference])>,
) -> Vec<ProgramLine<'a>> {
    let mut lines: Vec<ProgramLine<'a>> = Vec::new();
    for (site, items, conferences) in sites {
        lines.extend(items.iter().map(|i| ProgramLine::Item(site, i)));
        lines.extend(conferences.iter().map(|c| ProgramLine::Conference(site, c)));
    }
    lines.sort_by_key(ProgramLine::order);
    lines
}

/// The défis the plenary shows ("découvrir des défis des autres années"): every site's,
/// those of past editions first (oldest edition first), then this edition's; by site and
/// number within each.
pub fn plenary_challenges<'a>(
    sites: impl IntoIterator<Item = (&'a str, &'a Challenge)>,
) -> Vec<(&'a str, &'a Challenge)> {
    let mut out: Vec<(&'a str, &'a Challenge)> = sites.into_iter().collect();
    out.sort_by_key(|(site, c)| (c.fields.edition.unwrap_or(u16::MAX), *site, c.number));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChallengeFields, ConferenceFields, ParticipantId, ProgramItemFields, ProgramKind};

    fn item(id: u32, start_ms: i64) -> ProgramItem {
        ProgramItem {
            id,
            fields: ProgramItemFields {
                kind: ProgramKind::Plenary,
                title: format!("item {id}"),
                room: String::new(),
                start_ms,
                end_ms: start_ms + 1,
            },
            created_at_ms: 0,
        }
    }

    fn conference(id: u32, start_ms: i64) -> Conference {
        Conference {
            id,
            fields: ConferenceFields {
                title: format!("conf {id}"),
                speaker: ParticipantId(uuid::Uuid::nil()),
                abstract_: String::new(),
                room: "A".into(),
                start_ms,
                end_ms: start_ms + 1,
                capacity: 1,
                language: String::new(),
            },
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_program_is_by_time_then_site_then_items_before_conferences() {
        let (cluny_items, cluny_confs) = ([item(1, 20), item(2, 10)], [conference(1, 10)]);
        let (kehl_items, kehl_confs) = ([item(1, 10)], [conference(1, 5)]);
        let lines = national_program([
            ("kehl", &kehl_items[..], &kehl_confs[..]),
            ("cluny", &cluny_items[..], &cluny_confs[..]),
        ]);
        let got: Vec<(i64, &str, bool, u32)> = lines
            .iter()
            .map(|l| match l {
                ProgramLine::Item(s, i) => (l.start_ms(), *s, false, i.id),
                ProgramLine::Conference(s, c) => (l.start_ms(), *s, true, c.id),
            })
            .collect();
        assert_eq!(
            got,
            [
                (5, "kehl", true, 1),
                (10, "cluny", false, 2),
                (10, "cluny", true, 1),
                (10, "kehl", false, 1),
                (20, "cluny", false, 1),
            ]
        );
    }

    #[test]
    fn the_plenary_shows_past_editions_first() {
        let c = |number, edition| Challenge {
            number,
            fields: ChallengeFields {
                edition,
                ..ChallengeFields::default()
            },
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let (a, b, d, e) = (
            c(1, None),
            c(2, Some(2017)),
            c(3, Some(2016)),
            c(1, Some(2017)),
        );
        let got: Vec<(&str, u32)> =
            plenary_challenges([("lyon", &a), ("lyon", &b), ("kehl", &d), ("kehl", &e)])
                .iter()
                .map(|(s, c)| (*s, c.number))
                .collect();
        assert_eq!(got, [("kehl", 3), ("kehl", 1), ("lyon", 2), ("lyon", 1)]);
    }
}
