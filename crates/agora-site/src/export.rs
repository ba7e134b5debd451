//! Exports: attendance lists as CSV (the `csv` crate: RFC 4180 quoting, UTF-8, cells that
//! a spreadsheet would run as a formula neutralised) and the program as iCalendar (RFC 5545,
//! the `icalendar` crate). Pure functions over model types.

use chrono::{DateTime, SecondsFormat, Utc};
use icalendar::{Calendar, Component, EventLike};

use agora_model::{Participant, ProgramItem, ProgramKind, Registration, RegistrationState};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing CSV: {0}")]
    CsvBuffer(String),
    #[error("time {0} ms is out of range")]
    Time(i64),
}

/// RFC 3339 in UTC, to the second; empty for "never".
fn time(ms: Option<i64>) -> Result<String, ExportError> {
    match ms {
        None => Ok(String::new()),
        Some(ms) => DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .ok_or(ExportError::Time(ms)),
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

/// One line per registration, in the order given (confirmed, then waiting), with the
/// participant's name and organisation and the check-in time.
pub fn registrations_csv(
    rows: &[(Registration, Option<Participant>, Option<u32>)],
) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "ticket",
        "name",
        "organisation",
        "state",
        "waitlist_position",
        "registered_at",
        "confirmed_at",
        "checked_in_at",
    ])?;
    for (r, p, position) in rows {
        let state = match r.state {
            RegistrationState::Confirmed => "confirmed",
            RegistrationState::Waitlisted => "waitlisted",
            RegistrationState::Cancelled => "cancelled",
        };
        w.write_record(
            [
                r.ticket.to_string(),
                p.as_ref()
                    .map(|p| p.display_name.clone())
                    .unwrap_or_default(),
                p.as_ref()
                    .map(|p| p.organisation.clone())
                    .unwrap_or_default(),
                state.to_owned(),
                position.map(|n| n.to_string()).unwrap_or_default(),
                time(Some(r.registered_at_ms))?,
                time(r.confirmed_at_ms)?,
                time(r.checked_in_at_ms)?,
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
        let f = &item.fields;
        let start = DateTime::<Utc>::from_timestamp_millis(f.start_ms)
            .ok_or(ExportError::Time(f.start_ms))?;
        let end =
            DateTime::<Utc>::from_timestamp_millis(f.end_ms).ok_or(ExportError::Time(f.end_ms))?;
        let stamp = DateTime::<Utc>::from_timestamp_millis(item.created_at_ms)
            .ok_or(ExportError::Time(item.created_at_ms))?;
        let mut ev = icalendar::Event::new();
        ev.uid(&format!("{}.program.{site_id}.agora", item.id))
            .timestamp(stamp)
            .summary(&f.title)
            .description(&kind_label(f.kind))
            .starts(start)
            .ends(end);
        if !f.room.is_empty() {
            ev.location(&f.room);
        }
        cal.push(ev.done());
    }
    Ok(cal.done().to_string())
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
        let text = String::from_utf8(registrations_csv(&rows).unwrap()).unwrap();
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
            let bytes = registrations_csv(&rows).unwrap();
            let mut r = csv::Reader::from_reader(&bytes[..]);
            let row = r.records().next().unwrap().unwrap();
            assert!(row[1].starts_with(want), "{name:?} gave {:?}", &row[1]);
            assert_eq!(&row[2], "'=cmd|' /C calc'!A0");
        }
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
