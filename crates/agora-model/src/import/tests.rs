//! The import plan: each kind of problem reported on its line, creations, updates and the
//! re-import that changes nothing.

use super::*;
use crate::{ChallengeStatus, Person, default_themes};

fn site(id: &str, name: &str) -> KnownSite {
    KnownSite {
        id: id.into(),
        name: name.into(),
    }
}

fn themes() -> Vec<Theme> {
    let mut t = default_themes();
    t.push(Theme::from_label("Lutte contre les exclusions").unwrap());
    t
}

fn row(line: usize, number: u32, title: &str) -> DefiRow {
    DefiRow {
        line,
        field_lines: vec![],
        number,
        site: None,
        fields: ChallengeFields {
            title: title.into(),
            themes: vec!["La qualité de l'action publique".into()],
            holders: vec![Person {
                name: "Sandrine Barret".into(),
                role: "cheffe de projet".into(),
                organisation: "CNFPT".into(),
                private: false,
            }],
            facilitators: vec![Person::named("Olivier Ryckewaert")],
            capacity: 12,
            ..ChallengeFields::default()
        },
    }
}

fn run(rows: &[DefiRow], existing: &[Challenge]) -> Plan {
    let here = site("cluny", "Cluny");
    let others = [
        site("volvic", "Volvic"),
        site("kehl", "Kehl"),
        site("macon", "Mâcon"),
    ];
    let themes = themes();
    plan(
        rows,
        &Context {
            site: &here,
            other_sites: &others,
            themes: &themes,
            existing,
        },
    )
}

/// (line, field, severity) of every problem, for short assertions.
fn found(p: &Plan) -> Vec<(usize, String, Severity)> {
    p.problems
        .iter()
        .map(|p| (p.line, p.field.clone(), p.severity))
        .collect()
}

#[test]
fn each_kind_of_problem_is_reported_on_its_line() {
    let mut unknown_theme = row(10, 1, "Question une ?");
    unknown_theme.fields.themes = vec!["Astrologie".into()];
    let mut too_long = row(20, 2, "Question deux ?");
    too_long.fields.facilitators[0].organisation = "x".repeat(201);
    let twice = row(30, 3, "Question une ?");
    let mut other_site = row(40, 4, "Question quatre ?");
    other_site.fields.holders[0].organisation = "Volvic".into();
    let mut near = row(50, 5, "Question cinq ?");
    near.fields.holders[0].organisation = "Ville de Khel".into();
    let number_twice = row(60, 5, "Question six ?");
    let mut refused = row(70, 7, "Question sept ?");
    refused.fields.facilitators.clear();
    let p = run(
        &[
            unknown_theme,
            too_long,
            twice,
            other_site,
            near,
            number_twice,
            refused,
        ],
        &[],
    );
    assert_eq!(
        found(&p),
        vec![
            (10, "themes[0]".into(), Severity::Error),
            (20, "facilitators[0].organisation".into(), Severity::Error),
            (30, "title".into(), Severity::Warning),
            (40, "holders[0].collectivity".into(), Severity::Warning),
            (50, "holders[0].collectivity".into(), Severity::Warning),
            (60, "number".into(), Severity::Error),
            (70, "facilitators".into(), Severity::Error),
        ]
    );
    assert_eq!(
        p.problems[4].kind,
        ProblemKind::NearPlaceName {
            written: "Khel".into(),
            place: "Kehl".into()
        }
    );
    assert_eq!(
        p.problems[2].kind,
        ProblemKind::QuestionTwice {
            of: 1,
            marked: false
        }
    );
    // Rows with errors are left out; the others are imported as written.
    let numbers: Vec<u32> = p.actions.iter().map(Action::number).collect();
    assert_eq!(numbers, [3, 4, 5]);
    assert_eq!(p.errors(), 4);
}

#[test]
fn a_duplicate_marked_as_such_is_a_note_and_comes_after_its_original() {
    let twelve = row(1, 12, "Comment apprendre ensemble entre pairs ?");
    let mut eighteen = row(9, 18, "Comment apprendre ensemble entre pairs ?");
    eighteen.fields.duplicate_of = Some(12);
    eighteen.fields.status = ChallengeStatus::Closed;
    let p = run(&[twelve.clone(), eighteen.clone()], &[]);
    assert_eq!(found(&p), vec![(9, "title".into(), Severity::Note)]);
    assert_eq!(p.creates(), 2);
    // Marked as the duplicate of a défi that is nowhere: refused, said.
    eighteen.fields.duplicate_of = Some(13);
    let p = run(&[twelve, eighteen], &[]);
    assert!(
        p.problems
            .iter()
            .any(|x| x.field == "duplicate_of" && x.severity == Severity::Error)
    );
}

#[test]
fn themes_are_found_by_id_or_by_label_in_any_of_the_three_languages() {
    let t = themes();
    let id = "la-cohesion-urbaine";
    for written in [
        id,
        "La cohésion urbaine",
        "la cohesion urbaine",
        "Urban cohesion",
        "Städtischer Zusammenhalt",
    ] {
        assert_eq!(resolve_theme(&t, written).as_deref(), Some(id), "{written}");
    }
    assert_eq!(
        resolve_theme(&t, "Cohésion sociale et urbaine"),
        None,
        "not guessed"
    );
}

#[test]
fn rows_for_another_site_are_counted_not_imported() {
    let mut r = row(3, 19, "Comment intégrer les jeunes migrants ?");
    r.site = Some("kehl".into());
    let p = run(&[r], &[]);
    assert!(p.actions.is_empty());
    assert_eq!(p.other_sites, vec![(3, 19, "kehl".to_owned())]);
}

fn stored(number: u32, fields: ChallengeFields) -> Challenge {
    Challenge {
        number,
        fields,
        version: 4,
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

#[test]
fn re_import_changes_nothing_and_a_changed_row_updates_by_number() {
    let r = row(1, 12, "Comment apprendre ensemble entre pairs ?");
    let first = run(std::slice::from_ref(&r), &[]);
    let Action::Create { fields, .. } = &first.actions[0] else {
        panic!("{first:?}")
    };
    let site_now = [stored(12, fields.clone())];
    let again = run(std::slice::from_ref(&r), &site_now);
    assert_eq!(again.actions, vec![Action::Unchanged { number: 12 }]);
    let mut changed = r.clone();
    changed.fields.capacity = 15;
    changed.fields.facilitators[0].organisation = "AMOOR".into();
    let p = run(&[changed], &site_now);
    match &p.actions[0] {
        Action::Update {
            number,
            version,
            changed,
            ..
        } => {
            assert_eq!((*number, *version), (12, 4));
            assert_eq!(changed, &["facilitators", "capacity"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_question_already_on_the_site_is_reported() {
    let mut existing = row(1, 12, "Comment apprendre ensemble ?").fields;
    existing.themes = vec!["la-qualite-de-l-action-publique".into()];
    let p = run(
        &[row(5, 40, "Comment apprendre, ensemble ?")],
        &[stored(12, existing)],
    );
    assert_eq!(
        p.problems[0].kind,
        ProblemKind::QuestionTwice {
            of: 12,
            marked: false
        }
    );
}

#[test]
fn dates_given_twice_differently_are_reported_not_chosen() {
    let d = |line, text: &str, days: &[&str]| {
        (
            line,
            text.to_owned(),
            days.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>(),
        )
    };
    let same = [
        d(3, "9, 10 et 11 juillet", &["2018-07-09"]),
        d(4, "9 juillet", &["2018-07-09"]),
    ];
    assert!(check_dates(&same).is_empty());
    let differ = [
        d(3, "9, 10 et 11 juillet", &["2018-07-09"]),
        d(4, "10, 11 et 12 juillet", &["2018-07-10"]),
    ];
    let p = check_dates(&differ);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 4);
    assert!(p[0].message(Lang::De).contains("zwei verschiedene Daten"));
}

#[test]
fn problems_speak_three_languages_and_keep_line_and_field() {
    let mut r = row(7, 1, "Question ?");
    r.fields.themes = vec!["Astrologie".into()];
    let p = run(&[r], &[]);
    let problem = &p.problems[0];
    assert!(problem.message(Lang::Fr).starts_with("thème inconnu"));
    assert!(problem.message(Lang::En).starts_with("unknown theme"));
    assert!(problem.message(Lang::De).starts_with("unbekanntes Thema"));
    assert_eq!(
        problem.to_string(),
        "line 7, défi 1, themes[0]: unknown theme \"Astrologie\" (neither an id nor a label of the site)"
    );
}

#[test]
fn field_lines_point_at_the_field() {
    let mut r = row(40, 1, "Question ?");
    r.field_lines = vec![("holders".into(), 44), ("themes".into(), 42)];
    r.fields.themes = vec!["Astrologie".into()];
    r.fields.holders[0].organisation = "Volvic".into();
    let p = run(&[r], &[]);
    assert_eq!(
        found(&p),
        vec![
            (42, "themes[0]".into(), Severity::Error),
            (44, "holders[0].collectivity".into(), Severity::Warning),
        ]
    );
}

mod timed {
    use super::*;
    use crate::{
        Conference, ConferenceFields, ParticipantId, ProgramItem, ProgramItemFields, ProgramKind,
    };

    const H: i64 = 3_600_000;
    const T0: i64 = 1_531_224_000_000; // 10 July 2018, 12:00 UTC

    fn conf(line: usize, title: &str, room: &str, speaker: &str, start: i64) -> ConferenceRow {
        ConferenceRow {
            line,
            site: None,
            speaker: Person::named(speaker),
            fields: ConferenceFields {
                title: title.into(),
                speaker: ParticipantId(uuid::Uuid::nil()),
                abstract_: String::new(),
                room: room.into(),
                start_ms: start,
                end_ms: start + H,
                capacity: 15,
                language: String::new(),
            },
        }
    }

    #[test]
    fn conferences_overlapping_in_a_room_or_by_a_speaker_are_refused_on_their_line() {
        let here = site("cluny", "Cluny");
        let rows = [
            conf(2, "Sociocratie", "Atelier 1", "A", T0),
            conf(3, "Design", "atelier-1", "B", T0 + H / 2),
            conf(4, "Réseaux", "Atelier 2", "a", T0 + H / 2),
            conf(5, "Plus tard", "Atelier 1", "A", T0 + H),
            conf(6, "", "Atelier 3", "C", T0),
        ];
        let (actions, problems) = plan_conferences(&rows, &here, &[]);
        let lines: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (3, "conference.start_ms"),
                (4, "conference.start_ms"),
                (6, "conference.title")
            ]
        );
        assert_eq!(actions.len(), 2);
    }

    #[test]
    fn a_conference_or_item_already_on_the_site_is_left_and_said_when_it_differs() {
        let here = site("cluny", "Cluny");
        let row = conf(2, "Sociocratie", "Atelier 1", "A", T0);
        let on_site = Conference {
            id: 7,
            fields: ConferenceFields {
                capacity: 20,
                ..row.fields.clone()
            },
            created_at_ms: 0,
        };
        let (actions, _) = plan_conferences(std::slice::from_ref(&row), &here, &[on_site]);
        assert_eq!(
            actions,
            [TimedAction::Differs {
                line: 2,
                id: 7,
                changed: vec!["capacity"]
            }]
        );
        let item = ProgramRow {
            line: 9,
            site: None,
            fields: ProgramItemFields {
                kind: ProgramKind::Plenary,
                title: "Plénière".into(),
                room: "Amphithéâtre".into(),
                start_ms: T0,
                end_ms: T0 + H,
            },
        };
        let stored = ProgramItem {
            id: 3,
            fields: item.fields.clone(),
            created_at_ms: 0,
        };
        let (actions, problems) = plan_program(std::slice::from_ref(&item), &here, &[stored]);
        assert!(problems.is_empty());
        assert_eq!(actions, [TimedAction::Unchanged { line: 9, id: 3 }]);
        let clash = ProgramRow {
            line: 10,
            fields: ProgramItemFields {
                title: "Autre".into(),
                ..item.fields.clone()
            },
            ..item.clone()
        };
        let (_, problems) = plan_program(&[item, clash], &here, &[]);
        assert_eq!(problems[0].line, 10);
    }
}
