//! What the organisers' pages show, as plain values, and their askama templates
//! (`templates/org_*.html`).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use agora_model::{
    Challenge, ChallengeProposal, Conference, Person, ProgramItem, ProgramKind, SeatPool,
};

use super::words::{self, CHALLENGE_STATUSES, OrgTexts};
use crate::i18n::Lang;
use crate::page::Frame;

fn local(zone: Tz, ms: i64) -> Option<DateTime<Tz>> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&zone))
}

/// `14:00`, in the site's zone.
pub fn local_time(zone: Tz, ms: i64) -> String {
    local(zone, ms).map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

/// "mardi 10 juillet 2018", "Tuesday 10 July 2018", "Dienstag, 10. Juli 2018".
fn day_name(lang: Lang, d: NaiveDate) -> String {
    const FR_D: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    const EN_D: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const DE_D: [&str; 7] = [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ];
    const FR_M: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN_M: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DE_M: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    let w = d.weekday().num_days_from_monday() as usize;
    let m = d.month0() as usize;
    let (day, year) = (d.day(), d.year());
    match lang {
        Lang::Fr => format!("{} {day} {} {year}", FR_D[w], FR_M[m]),
        Lang::En => format!("{} {day} {} {year}", EN_D[w], EN_M[m]),
        Lang::De => format!("{}, {day}. {} {year}", DE_D[w], DE_M[m]),
    }
}

/// The local day of `ms` in words.
pub fn local_day(lang: Lang, zone: Tz, ms: i64) -> String {
    local(zone, ms).map_or_else(String::new, |t| day_name(lang, t.date_naive()))
}

/// "Anne Martin (DGS, Ville de Cluny)"; a private person by role only: "DGS, Ville de
/// Cluny" (posters and lists show no private name).
pub fn person_line(p: &Person) -> String {
    let more: Vec<&str> = [p.role.as_str(), p.organisation.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if p.private {
        more.join(", ")
    } else if more.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, more.join(", "))
    }
}

/// The people as a défi form's textarea holds them (a private one's line ends with the
/// language's mark).
fn people_text(lang: Lang, people: &[Person]) -> String {
    people
        .iter()
        .map(|p| {
            let line = format!("{} ; {} ; {}", p.name, p.role, p.organisation);
            if p.private {
                format!("{line} ; {}", words::private_mark(lang))
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn theme_list(ids: &[String], labels: &BTreeMap<String, String>) -> String {
    ids.iter()
        .map(|t| labels.get(t).cloned().unwrap_or_else(|| t.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A défi as its poster and the organisers' list show it.
/// People's lines, without those that would be empty (a private person with no role).
fn lines_of(people: &[Person]) -> Vec<String> {
    people
        .iter()
        .map(person_line)
        .filter(|l| !l.is_empty())
        .collect()
}

pub struct DefiView {
    pub number: u32,
    pub title: String,
    pub more_questions: Vec<String>,
    pub description: String,
    pub themes: String,
    pub holders: Vec<String>,
    pub facilitators: Vec<String>,
    pub speakers: Vec<String>,
    pub room: String,
    pub capacity: u32,
}

impl DefiView {
    pub fn new(c: &Challenge, themes: &BTreeMap<String, String>) -> Self {
        let f = &c.fields;
        DefiView {
            number: c.number,
            title: f.title.clone(),
            more_questions: f.more_questions.clone(),
            description: f.description.clone(),
            themes: theme_list(&f.themes, themes),
            holders: lines_of(&f.holders),
            facilitators: lines_of(&f.facilitators),
            speakers: lines_of(&f.speakers),
            room: f.room.clone(),
            capacity: f.capacity,
        }
    }
}

pub struct DefiRow {
    pub d: DefiView,
    pub status: &'static str,
    pub open: bool,
    pub confirmed: u32,
    pub waiting: u32,
}

impl DefiRow {
    pub fn new(
        lang: Lang,
        c: &Challenge,
        p: &SeatPool,
        themes: &BTreeMap<String, String>,
    ) -> DefiRow {
        DefiRow {
            d: DefiView::new(c, themes),
            status: words::challenge_status(lang, c.fields.status),
            open: c.fields.status == agora_model::ChallengeStatus::Open,
            confirmed: p.confirmed,
            waiting: p.waitlisted,
        }
    }
}

/// A défi form's values: blank, a stored défi's, or as posted.
pub struct DefiForm {
    /// 0 for a new défi.
    pub number: u32,
    pub number_text: String,
    pub version: u64,
    pub title: String,
    pub description: String,
    pub more_questions: String,
    pub holders: String,
    pub facilitators: String,
    pub room: String,
    pub capacity: String,
    pub status: usize,
    /// (id, label, checked)
    pub themes: Vec<(String, String, bool)>,
}

impl DefiForm {
    fn themes(labels: &BTreeMap<String, String>, chosen: &[String]) -> Vec<(String, String, bool)> {
        labels
            .iter()
            .map(|(id, label)| (id.clone(), label.clone(), chosen.contains(id)))
            .collect()
    }

    pub fn blank(labels: &BTreeMap<String, String>) -> Self {
        DefiForm {
            number: 0,
            number_text: String::new(),
            version: 0,
            title: String::new(),
            description: String::new(),
            more_questions: String::new(),
            holders: String::new(),
            facilitators: String::new(),
            room: String::new(),
            capacity: String::new(),
            status: 1,
            themes: Self::themes(labels, &[]),
        }
    }

    pub fn of(lang: Lang, c: &Challenge, labels: &BTreeMap<String, String>) -> Self {
        let f = &c.fields;
        DefiForm {
            number: c.number,
            number_text: c.number.to_string(),
            version: c.version,
            title: f.title.clone(),
            description: f.description.clone(),
            more_questions: f.more_questions.join("\n"),
            holders: people_text(lang, &f.holders),
            facilitators: people_text(lang, &f.facilitators),
            room: f.room.clone(),
            capacity: f.capacity.to_string(),
            status: CHALLENGE_STATUSES
                .iter()
                .position(|s| *s == f.status)
                .unwrap_or(1),
            themes: Self::themes(labels, &f.themes),
        }
    }

    /// The form as it was posted, to show again with a refusal.
    pub fn posted(
        p: &[(String, String)],
        existing: Option<&Challenge>,
        labels: &BTreeMap<String, String>,
    ) -> Self {
        let get = |k: &str| {
            p.iter()
                .find(|(key, _)| key == k)
                .map_or_else(String::new, |(_, v)| v.clone())
        };
        let chosen: Vec<String> = p
            .iter()
            .filter(|(k, _)| k == "themes")
            .map(|(_, v)| v.clone())
            .collect();
        DefiForm {
            number: existing.map_or(0, |c| c.number),
            number_text: get("number"),
            version: existing.map_or(0, |c| c.version),
            title: get("title"),
            description: get("description"),
            more_questions: get("more_questions"),
            holders: get("holders"),
            facilitators: get("facilitators"),
            room: get("room"),
            capacity: get("capacity"),
            status: get("status").parse().unwrap_or(1),
            themes: Self::themes(labels, &chosen),
        }
    }

    pub fn is_new(&self) -> bool {
        self.number == 0
    }
}

/// A proposal or a challenge, as a card to compare questions side by side.
pub struct QuestionCard {
    pub kind: String,
    pub question: String,
    pub context: String,
    pub holder: String,
    pub themes: String,
    pub status: &'static str,
    pub wished_site: String,
    pub expected: u32,
}

impl QuestionCard {
    pub fn proposal(
        lang: Lang,
        p: &ChallengeProposal,
        themes: &BTreeMap<String, String>,
    ) -> QuestionCard {
        let kind = match lang {
            Lang::Fr => format!("Proposition {}", p.id),
            Lang::En => format!("Proposal {}", p.id),
            Lang::De => format!("Vorschlag {}", p.id),
        };
        QuestionCard {
            kind,
            question: p.fields.question.clone(),
            context: p.fields.context.clone(),
            holder: person_line(&p.fields.holder),
            themes: theme_list(&p.fields.themes, themes),
            status: words::proposal_status(lang, p.status),
            wished_site: p.fields.wished_site.clone(),
            expected: p.fields.expected_participants,
        }
    }

    pub fn challenge(lang: Lang, c: &Challenge, themes: &BTreeMap<String, String>) -> QuestionCard {
        QuestionCard {
            kind: lang.label(agora_model::Target::Challenge(c.number)),
            question: c.fields.title.clone(),
            context: c.fields.description.clone(),
            holder: c
                .fields
                .holders
                .iter()
                .map(person_line)
                .collect::<Vec<_>>()
                .join(" · "),
            themes: theme_list(&c.fields.themes, themes),
            status: words::challenge_status(lang, c.fields.status),
            wished_site: String::new(),
            expected: 0,
        }
    }
}

/// A proposal, then the challenges and proposals that asked the same question before it.
pub struct ProposalRow {
    pub id: u32,
    pub cards: Vec<QuestionCard>,
    /// Submitted or sent back: it may be reviewed (accepted, declined, sent back).
    pub reviewable: bool,
}

/// One item in a cell of the program's grid.
pub struct Cell {
    pub id: u32,
    pub title: String,
    pub kind: &'static str,
    /// A mini-conference (its id is the conference's), not a program item.
    pub conference: bool,
}

/// One slot (a row of the grid): its times and one cell per room.
pub struct SlotRow {
    pub start: String,
    pub end: String,
    pub cells: Vec<Vec<Cell>>,
}

/// One day of the program: its rooms (columns) and slots (rows).
pub struct ProgramDay {
    pub label: String,
    pub rooms: Vec<String>,
    pub slots: Vec<SlotRow>,
}

fn kind_class(k: ProgramKind) -> &'static str {
    match k {
        ProgramKind::Welcome => "welcome",
        ProgramKind::Plenary => "plenary",
        ProgramKind::ChallengeStep(_) => "defis",
        ProgramKind::MiniConferences => "conferences",
        ProgramKind::TeamMoment(_) => "teams",
        ProgramKind::Exhibition => "exhibition",
        ProgramKind::Closing => "closing",
    }
}

impl ProgramDay {
    /// The organisers' document's grid: one table a local day, a row a time slot (its
    /// start and end), a column a room (the items without a room in a first column,
    /// "whole site"), each item in its cell.
    pub fn grid(
        lang: Lang,
        zone: Tz,
        program: &[ProgramItem],
        conferences: &[Conference],
    ) -> Vec<ProgramDay> {
        let whole = words::texts(lang).whole_site;
        // The conferences in their rooms and slots beside the program's items.
        let as_items: Vec<ProgramItem> = conferences
            .iter()
            .map(|c| ProgramItem {
                id: c.id,
                fields: agora_model::ProgramItemFields {
                    kind: ProgramKind::MiniConferences,
                    title: c.fields.title.clone(),
                    room: c.fields.room.clone(),
                    start_ms: c.fields.start_ms,
                    end_ms: c.fields.end_ms,
                },
                created_at_ms: c.created_at_ms,
            })
            .collect();
        // (item, whether it is a conference)
        let all = program
            .iter()
            .map(|i| (i, false))
            .chain(as_items.iter().map(|i| (i, true)));
        let mut by_day: BTreeMap<NaiveDate, Vec<(&ProgramItem, bool)>> = BTreeMap::new();
        for (item, conference) in all {
            if let Some(t) = local(zone, item.fields.start_ms) {
                by_day
                    .entry(t.date_naive())
                    .or_default()
                    .push((item, conference));
            }
        }
        by_day
            .into_iter()
            .map(|(day, items)| {
                let has_whole = items.iter().any(|(i, _)| i.fields.room.trim().is_empty());
                let named: BTreeSet<&str> = items
                    .iter()
                    .map(|(i, _)| i.fields.room.trim())
                    .filter(|r| !r.is_empty())
                    .collect();
                let mut rooms: Vec<&str> = Vec::new();
                if has_whole {
                    rooms.push("");
                }
                rooms.extend(named);
                let slots: BTreeSet<(i64, i64)> = items
                    .iter()
                    .map(|(i, _)| (i.fields.start_ms, i.fields.end_ms))
                    .collect();
                let slots = slots
                    .into_iter()
                    .map(|(start, end)| SlotRow {
                        start: local_time(zone, start),
                        end: local_time(zone, end),
                        cells: rooms
                            .iter()
                            .map(|room| {
                                items
                                    .iter()
                                    .filter(|(i, _)| {
                                        i.fields.start_ms == start
                                            && i.fields.end_ms == end
                                            && i.fields.room.trim() == *room
                                    })
                                    .map(|(i, conference)| Cell {
                                        id: i.id,
                                        title: i.fields.title.clone(),
                                        kind: kind_class(i.fields.kind),
                                        conference: *conference,
                                    })
                                    .collect()
                            })
                            .collect(),
                    })
                    .collect();
                ProgramDay {
                    label: day_name(lang, day),
                    rooms: rooms
                        .iter()
                        .map(|r| {
                            if r.is_empty() {
                                whole.to_owned()
                            } else {
                                (*r).to_owned()
                            }
                        })
                        .collect(),
                    slots,
                }
            })
            .collect()
    }
}

pub struct ConferenceRow {
    pub id: u32,
    pub title: String,
    pub speaker: String,
    pub room: String,
    pub day: String,
    pub start: String,
    pub end: String,
    pub capacity: u32,
    pub left: u32,
    pub waiting: u32,
}

impl ConferenceRow {
    pub fn new(lang: Lang, zone: Tz, c: &Conference, p: &SeatPool, speaker: &str) -> Self {
        ConferenceRow {
            id: c.id,
            title: c.fields.title.clone(),
            speaker: speaker.to_owned(),
            room: c.fields.room.clone(),
            day: local_day(lang, zone, c.fields.start_ms),
            start: local_time(zone, c.fields.start_ms),
            end: local_time(zone, c.fields.end_ms),
            capacity: p.capacity,
            left: p.seats_left(),
            waiting: p.waitlisted,
        }
    }
}

pub struct TeamRow {
    pub id: u32,
    pub name: String,
    pub size: String,
    pub count: usize,
    pub members: String,
}

pub struct ActionRow {
    pub id: u32,
    pub challenge: u32,
    pub title: String,
    pub what: String,
    pub owner: String,
    pub due: Option<String>,
    pub status_index: usize,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "org_login.html")]
pub struct LoginPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub refused: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "org_message.html")]
pub struct MessagePage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub title: String,
}

#[derive(Template)]
#[template(path = "org_defis.html")]
pub struct DefisPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub rows: Vec<DefiRow>,
    pub form: DefiForm,
    pub statuses: Vec<(usize, &'static str)>,
}

#[derive(Template)]
#[template(path = "org_defi.html")]
pub struct DefiPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub form: DefiForm,
    pub statuses: Vec<(usize, &'static str)>,
}

#[derive(Template)]
#[template(path = "org_proposals.html")]
pub struct ProposalsPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub rows: Vec<ProposalRow>,
}

#[derive(Template)]
#[template(path = "org_program.html")]
pub struct ProgramPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub days: Vec<ProgramDay>,
    /// The new item form's kinds: (value, label).
    pub kinds: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "org_conferences.html")]
pub struct ConferencesPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub rows: Vec<ConferenceRow>,
}

#[derive(Template)]
#[template(path = "org_teams.html")]
pub struct TeamsPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub rows: Vec<TeamRow>,
}

#[derive(Template)]
#[template(path = "org_actions.html")]
pub struct ActionsPage {
    pub f: Frame,
    pub o: &'static OrgTexts,
    pub section: &'static str,
    pub rows: Vec<ActionRow>,
    pub defis: Vec<(u32, String)>,
    pub statuses: Vec<(usize, &'static str)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_model::ProgramItemFields;

    fn item(id: u32, room: &str, start_ms: i64, end_ms: i64) -> ProgramItem {
        ProgramItem {
            id,
            fields: ProgramItemFields {
                kind: ProgramKind::Plenary,
                title: format!("item {id}"),
                room: room.into(),
                start_ms,
                end_ms,
            },
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_grid_has_a_table_a_local_day_a_row_a_slot_and_a_column_a_room() {
        // 10 July 2018, 07:00 and 12:00 UTC (09:00 and 14:00 in Paris), and the next day.
        let h = 3_600_000;
        let d0 = 1_531_180_800_000; // 2018-07-10 00:00 UTC
        let items = [
            item(1, "Farinier", d0 + 7 * h, d0 + 8 * h),
            item(2, "", d0 + 7 * h, d0 + 8 * h),
            item(3, "Cellier", d0 + 12 * h, d0 + 14 * h),
            item(4, "Farinier", d0 + 31 * h, d0 + 32 * h),
        ];
        let days = ProgramDay::grid(Lang::Fr, chrono_tz::Europe::Paris, &items, &[]);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].label, "mardi 10 juillet 2018");
        assert_eq!(days[0].rooms, ["Tout le site", "Cellier", "Farinier"]);
        assert_eq!(days[0].slots.len(), 2);
        let first = &days[0].slots[0];
        assert_eq!(
            (first.start.as_str(), first.end.as_str()),
            ("09:00", "10:00")
        );
        assert_eq!(first.cells[0][0].id, 2);
        assert!(first.cells[1].is_empty());
        assert_eq!(first.cells[2][0].id, 1);
        assert_eq!(days[0].slots[1].cells[1][0].id, 3);
        assert_eq!(days[1].rooms, ["Farinier"]);
    }
}
