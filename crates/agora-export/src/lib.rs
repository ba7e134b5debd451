//! Exports: attendance lists as CSV (the `csv` crate: RFC 4180 quoting, UTF-8, cells that
//! a spreadsheet would run as a formula neutralised) and the program as iCalendar (RFC 5545,
//! the `icalendar` crate). Pure functions over model types.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, EventLike};

use agora_model::national::program::ProgramLine;
use agora_model::{Lang, Participant, ProgramItem, ProgramKind, Registration, RegistrationState};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing CSV: {0}")]
    CsvBuffer(String),
    #[error("time {0} ms is out of range")]
    Time(i64),
}

/// The two forms of CSV, and what goes in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    pub form: CsvForm,
    /// Headers and states in this language; `None`: the machine names.
    pub lang: Option<Lang>,
    /// The site's zone; times are written local to it with their offset, except in
    /// [`CsvForm::Utc`].
    pub zone: Tz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvForm {
    /// RFC 4180 with UTC times: what this export wrote first, kept for its clients.
    Utc,
    /// RFC 4180 (`,`, no byte-order mark), local times with their offset.
    Rfc4180,
    /// French spreadsheets' form: UTF-8 byte-order mark, `;`, local times with their offset.
    FrenchExcel,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            form: CsvForm::Utc,
            lang: None,
            zone: chrono_tz::Europe::Paris,
        }
    }
}

/// A cell as a spreadsheet shows it, never runs it: text starting with `=`, `+`, `-`, `@`
/// (or a tab or carriage return, which some spreadsheets skip before reading a formula)
/// gets a leading `'`, the usual mark of "this is text" (OWASP's advice on CSV injection).
fn cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Local midnight of `day` in `zone`, in UTC milliseconds (the earlier one if the clocks
/// went back at midnight; `None` if they jumped over it).
pub fn local_midnight(zone: Tz, day: chrono::NaiveDate) -> Option<i64> {
    use chrono::TimeZone;
    zone.from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// RFC 3339 to the second, in UTC or local to `zone` with the offset; empty for "never".
fn time(ms: Option<i64>, o: &CsvOptions) -> Result<String, ExportError> {
    let Some(ms) = ms else {
        return Ok(String::new());
    };
    let t = DateTime::<Utc>::from_timestamp_millis(ms).ok_or(ExportError::Time(ms))?;
    Ok(match o.form {
        CsvForm::Utc => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        CsvForm::Rfc4180 | CsvForm::FrenchExcel => t
            .with_timezone(&o.zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
    })
}

const HEADERS: [[&str; 4]; 8] = [
    // machine, fr, en, de
    ["ticket", "Billet", "Ticket", "Ticket"],
    ["name", "Nom", "Name", "Name"],
    [
        "organisation",
        "Organisation",
        "Organisation",
        "Organisation",
    ],
    ["state", "État", "State", "Status"],
    [
        "waitlist_position",
        "Rang en liste d'attente",
        "Waiting list position",
        "Wartelistenplatz",
    ],
    [
        "registered_at",
        "Inscrit le",
        "Registered at",
        "Angemeldet am",
    ],
    [
        "confirmed_at",
        "Confirmé le",
        "Confirmed at",
        "Bestätigt am",
    ],
    [
        "checked_in_at",
        "Arrivé le",
        "Checked in at",
        "Eingecheckt am",
    ],
];

fn label(words: &[&'static str; 4], lang: Option<Lang>) -> &'static str {
    match lang {
        None => words[0],
        Some(l) => l.pick(words[1], words[2], words[3]),
    }
}

fn state_label(s: RegistrationState, lang: Option<Lang>) -> &'static str {
    let words = match s {
        RegistrationState::Confirmed => ["confirmed", "confirmé", "confirmed", "bestätigt"],
        RegistrationState::Waitlisted => ["waitlisted", "en attente", "waitlisted", "Warteliste"],
        RegistrationState::Cancelled => ["cancelled", "annulé", "cancelled", "storniert"],
    };
    label(&words, lang)
}

/// One line per registration, in the order given (confirmed, then waiting), with the
/// participant's name and organisation and the check-in time.
pub fn registrations_csv(
    rows: &[(Registration, Option<Participant>, Option<u32>)],
    o: &CsvOptions,
) -> Result<Vec<u8>, ExportError> {
    let (bom, delimiter): (&[u8], u8) = match o.form {
        CsvForm::FrenchExcel => ("\u{feff}".as_bytes(), b';'),
        CsvForm::Utc | CsvForm::Rfc4180 => (b"", b','),
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(bom.to_vec());
    w.write_record(HEADERS.iter().map(|h| label(h, o.lang)))?;
    for (r, p, position) in rows {
        w.write_record(
            [
                r.ticket.to_string(),
                p.as_ref()
                    .map(|p| p.display_name.clone())
                    .unwrap_or_default(),
                p.as_ref()
                    .map(|p| p.organisation.clone())
                    .unwrap_or_default(),
                state_label(r.state, o.lang).to_owned(),
                position.map(|n| n.to_string()).unwrap_or_default(),
                time(Some(r.registered_at_ms), o)?,
                time(r.confirmed_at_ms, o)?,
                time(r.checked_in_at_ms, o)?,
            ]
            .map(cell),
        )?;
    }
    w.into_inner()
        .map_err(|e| ExportError::CsvBuffer(e.error().to_string()))
}

fn kind_label(k: ProgramKind) -> String {
    match k {
        ProgramKind::Welcome => "Accueil".into(),
        ProgramKind::Plenary => "Plénière".into(),
        ProgramKind::ChallengeStep(n) => format!("Défis, étape {n}"),
        ProgramKind::MiniConferences => "Mini-conférences".into(),
        ProgramKind::TeamMoment(m) => format!("Équipes apprenantes, moment {}", m.number()),
        ProgramKind::Exhibition => "Exposition collective".into(),
        ProgramKind::Closing => "Clôture".into(),
    }
}

/// The program as a calendar: one VEVENT per item, times in UTC, a stable UID per item
/// (`<id>.program.<site>.agora`) so that re-imports update instead of duplicating.
pub fn program_ical(
    site_id: &str,
    site_name: &str,
    items: &[ProgramItem],
) -> Result<String, ExportError> {
    let mut cal = Calendar::new();
    cal.name(&format!("Agora — {site_name}"));
    for item in items {
        cal.push(program_event(site_id, item, kind_label(item.fields.kind))?);
    }
    Ok(cal.done().to_string())
}

/// The national program (every site's, or one's) as a calendar: program items as in
/// [`program_ical`] with their site in the description, and mini-conferences
/// (`<id>.conference.<site>.agora`).
pub fn national_program_ical(name: &str, lines: &[ProgramLine<'_>]) -> Result<String, ExportError> {
    let mut cal = Calendar::new();
    cal.name(&format!("Agora — {name}"));
    for line in lines {
        cal.push(match line {
            ProgramLine::Item(site, item) => program_event(
                site,
                item,
                format!("{} · {site}", kind_label(item.fields.kind)),
            )?,
            ProgramLine::Conference(site, c) => {
                let f = &c.fields;
                let mut ev = event(
                    format!("{}.conference.{site}.agora", c.id),
                    c.created_at_ms,
                    (f.start_ms, f.end_ms),
                )?;
                ev.summary(&f.title)
                    .description(&format!("Mini-conférence · {site}"))
                    .location(&f.room);
                ev.done()
            }
        });
    }
    Ok(cal.done().to_string())
}

fn event(
    uid: String,
    stamp_ms: i64,
    (start_ms, end_ms): (i64, i64),
) -> Result<icalendar::Event, ExportError> {
    let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).ok_or(ExportError::Time(ms));
    let mut ev = icalendar::Event::new();
    ev.uid(&uid)
        .timestamp(at(stamp_ms)?)
        .starts(at(start_ms)?)
        .ends(at(end_ms)?);
    Ok(ev)
}

fn program_event(
    site_id: &str,
    item: &ProgramItem,
    description: String,
) -> Result<icalendar::Event, ExportError> {
    let f = &item.fields;
    let mut ev = event(
        format!("{}.program.{site_id}.agora", item.id),
        item.created_at_ms,
        (f.start_ms, f.end_ms),
    )?;
    ev.summary(&f.title).description(&description);
    if !f.room.is_empty() {
        ev.location(&f.room);
    }
    Ok(ev.done())
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_model::{
        Moment, OrganisationType, ParticipantId, ProgramItemFields, RegistrationId, Target,
        TicketCode,
    };

    fn person(name: &str, organisation: &str) -> Participant {
        Participant {
            id: ParticipantId(uuid::Uuid::from_u128(1)),
            display_name: name.into(),
            organisation: organisation.into(),
            organisation_type: OrganisationType::Collectivity,
            language: "fr".into(),
            email: None,
            consent_share_name: false,
            created_at_ms: 0,
        }
    }

    fn registration(state: RegistrationState, checked_in: Option<i64>) -> Registration {
        Registration {
            id: RegistrationId(uuid::Uuid::from_u128(2)),
            participant: ParticipantId(uuid::Uuid::from_u128(1)),
            target: Target::Challenge(12),
            state,
            ticket: TicketCode::from_indexes([0, 1, 2, 3, 4, 5]),
            wait_slot: None,
            registered_at_ms: 1_789_369_200_000,
            confirmed_at_ms: Some(1_789_369_200_000),
            cancelled_at_ms: None,
            checked_in_at_ms: checked_in,
        }
    }

    #[test]
    fn csv_quotes_commas_and_quotes_and_keeps_accents() {
        let rows = [(
            registration(RegistrationState::Confirmed, Some(1_789_372_800_500)),
            Some(person("Zoé \"Zo\" Martin", "Ville de Mâcon, accueil")),
            None,
        )];
        let text =
            String::from_utf8(registrations_csv(&rows, &CsvOptions::default()).unwrap()).unwrap();
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.contains(r#","Zoé ""Zo"" Martin","Ville de Mâcon, accueil",confirmed,,"#),
            "{line}"
        );
        assert!(
            line.ends_with(",2026-09-14T07:00:00Z,2026-09-14T07:00:00Z,2026-09-14T08:00:00Z"),
            "{line}"
        );
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        for (name, want) in [
            (
                "=HYPERLINK(\"http://evil.example\",\"clic\")",
                "'=HYPERLINK(",
            ),
            ("+33 1 23", "'+33 1 23"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1+1", "'\t=1+1"),
            ("Zoé = Zo", "Zoé = Zo"),
        ] {
            let rows = [(
                registration(RegistrationState::Confirmed, None),
                Some(person(name, "=cmd|' /C calc'!A0")),
                None,
            )];
            let bytes = registrations_csv(&rows, &CsvOptions::default()).unwrap();
            let mut r = csv::Reader::from_reader(&bytes[..]);
            let row = r.records().next().unwrap().unwrap();
            assert!(row[1].starts_with(want), "{name:?} gave {:?}", &row[1]);
            assert_eq!(&row[2], "'=cmd|' /C calc'!A0");
        }
    }

    #[test]
    fn french_excel_form_has_bom_semicolons_local_times_and_french_headers() {
        let rows = [(
            registration(RegistrationState::Waitlisted, None),
            Some(person("Zoé; Martin", "Ville de Mâcon")),
            Some(2),
        )];
        let o = CsvOptions {
            form: CsvForm::FrenchExcel,
            lang: Some(Lang::Fr),
            zone: chrono_tz::Europe::Paris,
        };
        let bytes = registrations_csv(&rows, &o).unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(
            lines.next().unwrap(),
            "Billet;Nom;Organisation;État;Rang en liste d'attente;Inscrit le;Confirmé le;Arrivé le"
        );
        // 07:00 UTC on 14 September is 09:00 in Paris (summer time, +02:00).
        assert_eq!(
            lines.next().unwrap(),
            "346-79A;\"Zoé; Martin\";Ville de Mâcon;en attente;2;2026-09-14T09:00:00+02:00;2026-09-14T09:00:00+02:00;"
        );
        // In winter the same zone is +01:00: a named zone, not a fixed offset.
        let winter = DateTime::<Utc>::from_timestamp_millis(1_789_369_200_000 - 200 * 86_400_000)
            .unwrap()
            .timestamp_millis();
        let t = time(Some(winter), &o).unwrap();
        assert!(t.ends_with("+01:00"), "{t}");
        let de = CsvOptions {
            form: CsvForm::Rfc4180,
            lang: Some(Lang::De),
            zone: chrono_tz::Europe::Berlin,
        };
        let text = String::from_utf8(registrations_csv(&rows, &de).unwrap()).unwrap();
        assert!(
            text.starts_with("Ticket,Name,Organisation,Status,Wartelistenplatz,"),
            "{text}"
        );
        assert!(
            text.contains(",Warteliste,2,2026-09-14T09:00:00+02:00,"),
            "{text}"
        );
    }

    #[test]
    fn ical_has_one_event_per_item_with_stable_uids_and_utc_times() {
        let item = ProgramItem {
            id: 3,
            fields: ProgramItemFields {
                kind: ProgramKind::TeamMoment(Moment::Learnings),
                title: "Équipes apprenantes, moment 2".into(),
                room: "Salle des moines".into(),
                start_ms: 1_789_369_200_000,
                end_ms: 1_789_372_800_000,
            },
            created_at_ms: 1_789_000_000_000,
        };
        let ics = program_ical("cluny", "Cluny", &[item]).unwrap();
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
        assert!(ics.contains("UID:3.program.cluny.agora"));
        assert!(ics.contains("DTSTART:20260914T070000Z"));
        assert!(ics.contains("DTEND:20260914T080000Z"));
        assert!(ics.contains("LOCATION:Salle des moines"));
    }
}
