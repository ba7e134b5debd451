//! Exports over gRPC and through `agora export …`: attendance lists as CSV (parsed back
//! with the csv crate) and the program as iCalendar (parsed back with the icalendar crate);
//! and the seed's three-day event run end to end on one site.

use agora_proto::v1 as pb;
use tonic::Code;

use crate::common::*;
use crate::site_event::*;

/// A name and an organisation that need CSV quoting, with accents.
const TRICKY_NAME: &str = "Zoé « la Clunisienne », dite \"Zo\"";
const TRICKY_ORG: &str = "Ville de Mâcon, service accueil";

async fn person(desk: &mut Client, name: &str, organisation: &str) -> String {
    let mut req = new_participant(name);
    req.organisation = organisation.to_owned();
    desk.create_participant(req)
        .await
        .expect("participant")
        .into_inner()
        .participant
        .expect("participant")
        .id
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().expect("headers").clone();
    assert_eq!(&headers[0], "ticket");
    assert_eq!(&headers[7], "checked_in_at");
    r.records()
        .map(|rec| rec.expect("record").iter().map(str::to_owned).collect())
        .collect()
}

fn vevents(ics: &str) -> Vec<(String, String)> {
    use icalendar::{Component, EventLike};
    let cal: icalendar::Calendar = ics.parse().expect("iCalendar parses");
    cal.events()
        .map(|e| {
            (
                e.get_summary().unwrap_or_default().to_owned(),
                e.get_location().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn attendance_csv_quotes_names_keeps_accents_and_shows_check_in_times() {
    let dir = temp_dir();
    let site = TestSite::start(config("macon", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    create_challenge(&mut org, 12, 1).await;
    let zoe = person(&mut desk, TRICKY_NAME, TRICKY_ORG).await;
    let leo = person(&mut desk, "Léo Müller", "Stadt Kehl").await;
    let r = register(&mut desk, &zoe, 12).await;
    register(&mut desk, &leo, 12).await;
    desk.check_in(pb::CheckInRequest {
        request_id: rid(),
        ticket_code: r.ticket_code.clone(),
    })
    .await
    .expect("check in");

    let export = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 12,
            conference_id: 0,
            form: 0,
            lang: String::new(),
        })
        .await
        .expect("export")
        .into_inner();
    assert_eq!(export.filename, "macon-defi-12.csv");
    let rows = parse_csv(&export.csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], r.ticket_code);
    assert_eq!(rows[0][1], TRICKY_NAME);
    assert_eq!(rows[0][2], TRICKY_ORG);
    assert_eq!(rows[0][3], "confirmed");
    assert!(
        rows[0][7].ends_with('Z') && rows[0][7].len() == 20,
        "{}",
        rows[0][7]
    );
    assert_eq!(
        (
            rows[1][1].as_str(),
            rows[1][3].as_str(),
            rows[1][4].as_str()
        ),
        ("Léo Müller", "waitlisted", "1")
    );
    assert_eq!(rows[1][7], "", "not checked in");

    // Conferences export the same way.
    let conf = create_conference(&mut org, conference_req(&leo, "Salle 1", 9, 10, 5)).await;
    register_conference(&mut desk, &zoe, conf)
        .await
        .expect("register");
    let export = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 0,
            conference_id: conf,
            form: 0,
            lang: String::new(),
        })
        .await
        .expect("export")
        .into_inner();
    assert_eq!(parse_csv(&export.csv)[0][1], TRICKY_NAME);

    let no_target = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest::default())
        .await
        .expect_err("no target");
    assert_eq!(no_target.code(), Code::InvalidArgument);
    let public = site
        .public()
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 12,
            conference_id: 0,
            form: 0,
            lang: String::new(),
        })
        .await
        .expect_err("personal data");
    assert_eq!(public.code(), Code::Unauthenticated);
    site.stop().await;
}

#[tokio::test]
async fn the_program_exports_as_an_icalendar_file_with_one_event_per_item() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let items = default_program(&mut org).await;
    let export = site
        .public()
        .export_program_ical(pb::ExportProgramIcalRequest {})
        .await
        .expect("export")
        .into_inner();
    assert_eq!(export.filename, "cluny-programme.ics");
    let ics = String::from_utf8(export.ical).expect("UTF-8");
    assert!(ics.starts_with("BEGIN:VCALENDAR"));
    assert!(ics.contains("DTSTART:20260914T070000Z"), "UTC times");
    let events = vevents(&ics);
    assert_eq!(events.len(), items.len());
    assert!(events[0].0.starts_with("Accueil"));
    assert_eq!(events[2].1, "Amphithéâtre");
    assert!(
        events
            .iter()
            .any(|(s, _)| s.starts_with("Exposition collective"))
    );
    site.stop().await;
}

/// Runs `agora <args>` in a child process (the test binary's child entry point) and returns
/// what it wrote to standard output, from `marker` on (libtest prints a header first).
pub(crate) fn agora_cli(args: &[&str], marker: &str) -> String {
    let out = run_child_to_end(args);
    assert!(
        out.status.success(),
        "agora {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text:?}"));
    text[at..].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agora_export_commands_write_csv_and_ics_to_standard_output() {
    let dir = temp_dir();
    let site = TestSite::start(config("volvic", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    default_program(&mut org).await;
    create_challenge(&mut org, 3, 10).await;
    let zoe = person(&mut desk, TRICKY_NAME, TRICKY_ORG).await;
    register(&mut desk, &zoe, 3).await;
    let url = url(site.addr);
    let ca = pki().ca.to_str().expect("utf-8 path").to_owned();
    // The token from a file, as the README recommends (a command line is readable by all).
    let token_file = dir.path().join("desk-token");
    std::fs::write(&token_file, format!("{DESK}\n")).expect("token file");
    let token_file = token_file.to_str().expect("utf-8 path").to_owned();
    let ics = tokio::task::spawn_blocking({
        let (url, ca) = (url.clone(), ca.clone());
        move || {
            agora_cli(
                &["agora", "export", "program", "--site", &url, "--ca", &ca],
                "BEGIN:VCALENDAR",
            )
        }
    })
    .await
    .expect("cli");
    assert_eq!(vevents(&ics).len(), 14);
    let csv_text = tokio::task::spawn_blocking(move || {
        agora_cli(
            &[
                "agora",
                "export",
                "registrations",
                "--site",
                &url,
                "--ca",
                &ca,
                "--challenge",
                "3",
                "--token-file",
                &token_file,
            ],
            "\u{feff}Billet;",
        )
    })
    .await
    .expect("cli");
    // By default the form French spreadsheets open with a double click, French headers.
    let body = csv_text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(body.as_bytes());
    assert_eq!(&r.headers().expect("headers")[7], "Arrivé le");
    let row = r.records().next().expect("a row").expect("record");
    assert_eq!(&row[1], TRICKY_NAME);
    site.stop().await;
}

/// "Done when": a site runs the seed's three days with Agora.
#[tokio::test]
async fn a_site_runs_the_whole_three_day_event_from_the_seed() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();

    // Before: the call for défis, reviewed into défis.
    let p12 = submit_proposal(&mut org, SEED_QUESTION).await;
    let p18 = submit_proposal(&mut org, SEED_QUESTION).await;
    assert!(!p18.duplicates.is_empty(), "défi 18 repeats défi 12");
    org.review_proposal(accept(p12.id, 12))
        .await
        .expect("accept 12");
    let p2 = submit_proposal(&mut org, "Comment « re-designer » la fonction accueil ?").await;
    org.review_proposal(accept(p2.id, 2))
        .await
        .expect("accept 2");

    // The program, then the people.
    let program = default_program(&mut org).await;
    let mut people = Vec::new();
    for i in 0..12 {
        people.push(
            person(
                &mut desk,
                &format!("Participant·e {i}"),
                "Communauté de communes du Clunisois",
            )
            .await,
        );
    }
    // Welcome: learning teams of six.
    for t in 0..2 {
        let team = create_team(&mut desk, &format!("Équipe apprenante {t}"), 0, 6).await;
        for p in &people[t * 6..t * 6 + 6] {
            desk.join_learning_team(pb::JoinLearningTeamRequest {
                request_id: rid(),
                team_id: team.id,
                participant_id: p.clone(),
            })
            .await
            .expect("join");
        }
        for moment in 1..=3 {
            desk.add_notebook_entry(pb::AddNotebookEntryRequest {
                request_id: rid(),
                team_id: team.id,
                moment,
                author_participant_id: people[t * 6].clone(),
                text: format!("Moment {moment} : ce que nous retenons."),
            })
            .await
            .expect("notebook");
        }
    }
    // Everyone picks a défi from the posters; some check in.
    for (i, p) in people.iter().enumerate() {
        let r = register(&mut desk, p, if i % 2 == 0 { 12 } else { 2 }).await;
        if i < 8 {
            desk.check_in(pb::CheckInRequest {
                request_id: rid(),
                ticket_code: r.ticket_code,
            })
            .await
            .expect("check in");
        }
    }
    // Day 2 morning: mini-conferences inside the program's slot.
    let slot = program
        .iter()
        .filter_map(|i| i.fields.as_ref())
        .find(|f| f.kind() == pb::ProgramKind::MiniConferences)
        .expect("mini-conference slot")
        .clone();
    for (n, room) in ["Salle 1", "Salle 2"].iter().enumerate() {
        let conf = org
            .create_conference(pb::CreateConferenceRequest {
                request_id: rid(),
                fields: Some(pb::ConferenceFields {
                    title: format!("Atelier {n}"),
                    speaker_participant_id: people[n].clone(),
                    r#abstract: String::new(),
                    room: (*room).to_owned(),
                    start_ms: slot.start_ms,
                    end_ms: slot.end_ms,
                    capacity: 5,
                    language: String::new(),
                }),
            })
            .await
            .expect("conference")
            .into_inner()
            .conference
            .expect("conference");
        for p in people.iter().skip(2 + n).step_by(2) {
            register_conference(&mut desk, p, conf.id)
                .await
                .expect("conference seat");
        }
    }
    // Day 3: exhibition, feedback and next actions.
    for n in [2, 12] {
        desk.add_feedback(pb::AddFeedbackRequest {
            request_id: rid(),
            challenge_number: n,
            author: "Jury citoyen".to_owned(),
            text: "Prototype convaincant.".to_owned(),
        })
        .await
        .expect("feedback");
        org.add_next_action(pb::AddNextActionRequest {
            request_id: rid(),
            challenge_number: n,
            what: "Bilan et suite en septembre".to_owned(),
            owner: "Porteur du défi".to_owned(),
            due_ms: DAY + 365 * 24 * HOUR,
        })
        .await
        .expect("next action");
    }
    // Every kind of change is in the feed.
    let mut feed = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut kinds = std::collections::BTreeSet::new();
    let mut conference_registrations = 0;
    loop {
        use pb::watch_changes_response::Item;
        match feed.message().await.expect("item").expect("open").item {
            Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(Item::Change(c)) => {
                for e in c.events.iter().filter_map(|e| e.event.as_ref()) {
                    use pb::event::Event as E;
                    if let E::Registration(r) = e
                        && r.registration
                            .as_ref()
                            .is_some_and(|r| r.conference_id != 0)
                    {
                        conference_registrations += 1;
                    }
                    kinds.insert(match e {
                        E::ThemeAdded(_) => "theme",
                        E::ChallengeUpserted(_) => "challenge",
                        E::ParticipantUpserted(_) => "participant",
                        E::Registration(_) => "registration",
                        E::ProposalUpserted(_) => "proposal",
                        E::ConferenceUpserted(_) => "conference",
                        E::LearningTeamUpserted(_) => "team",
                        E::NotebookEntryAdded(_) => "notebook",
                        E::ProgramItemAdded(_)
                        | E::ProgramItemUpdated(_)
                        | E::ProgramItemCancelled(_) => "program",
                        E::FeedbackAdded(_) => "feedback",
                        E::NextActionUpserted(_) => "next action",
                        E::ParticipantErased(_) => "erasure",
                        E::RemoteAsk(_)
                        | E::RemoteAnswer(_)
                        | E::RemoteRequest(_)
                        | E::ChallengeRemote(_)
                        | E::Lease(_)
                        | E::SeatLease(_) => "remote",
                    });
                }
            }
            Some(Item::CaughtUp(_)) => break,
            None => {}
        }
    }
    assert_eq!(kinds.len(), 11, "{kinds:?}");
    assert!(conference_registrations > 0);

    // Lists and calendar.
    let csv = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 12,
            conference_id: 0,
            form: 0,
            lang: String::new(),
        })
        .await
        .expect("csv")
        .into_inner()
        .csv;
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows.iter().filter(|r| !r[7].is_empty()).count(),
        4,
        "checked in"
    );
    let ics = site
        .public()
        .export_program_ical(pb::ExportProgramIcalRequest {})
        .await
        .expect("ics")
        .into_inner()
        .ical;
    assert_eq!(vevents(std::str::from_utf8(&ics).expect("UTF-8")).len(), 14);
    let info = site
        .public()
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.challenges, 2);
    site.stop().await;
}

/// Every acknowledged event-side write survives `kill -9` of a real site node process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_every_acknowledged_event_write() {
    let dir = temp_dir();
    let data = data_dir(&dir, "volvic");
    let site = ChildSite::start("volvic", &data).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    let proposal = submit_proposal(&mut org, SEED_QUESTION).await;
    default_program(&mut org).await;
    let speaker = create_participant(&mut desk, "Anne").await;
    let conf = create_conference(&mut org, conference_req(&speaker, "Salle 1", 9, 10, 3)).await;
    let r = register_conference(&mut desk, &speaker, conf)
        .await
        .expect("register");
    let team = create_team(&mut desk, "Colibris", 0, 0).await;
    site.kill();

    let site = ChildSite::start("volvic", &data).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    let proposals = org
        .list_proposals(pb::ListProposalsRequest::default())
        .await
        .expect("proposals")
        .into_inner()
        .proposals;
    assert_eq!(
        proposals.iter().map(|p| p.id).collect::<Vec<_>>(),
        [proposal.id]
    );
    let program = desk
        .list_program(pb::ListProgramRequest::default())
        .await
        .expect("program")
        .into_inner()
        .items;
    assert_eq!(program.len(), 14);
    let list = desk
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 0,
            conference_id: conf,
        })
        .await
        .expect("registrations")
        .into_inner();
    assert_eq!(
        list.confirmed[0]
            .registration
            .as_ref()
            .map(|x| &x.ticket_code),
        Some(&r.ticket_code)
    );
    let teams = desk
        .list_learning_teams(pb::ListLearningTeamsRequest {})
        .await
        .expect("teams")
        .into_inner()
        .teams;
    assert_eq!(teams[0].id, team.id);
    // Counters survived too: the next ids follow on.
    let next = submit_proposal(&mut org, "Une autre question ?").await;
    assert_eq!(next.id, proposal.id + 1);
    site.terminate();
}

/// Issue 19: French offices get the attendance list as French spreadsheets open it (a
/// byte-order mark, `;`, local times with their offset), headers in the language asked;
/// the program's days follow the site's named time zone, not a fixed offset.
#[tokio::test]
async fn french_excel_exports_and_the_sites_named_time_zone() {
    let tmp = temp_dir();
    let paris = TestSite::start(config("cluny", &data_dir(&tmp, "cluny"))).await;
    let mut london_cfg = config("coventry", &data_dir(&tmp, "coventry"));
    london_cfg.time_zone = "Europe/London".into();
    let london = TestSite::start(london_cfg).await;

    let mut org = paris.organiser();
    create_challenge(&mut org, 12, 10).await;
    let mut desk = paris.desk();
    let zoe = person(&mut desk, TRICKY_NAME, TRICKY_ORG).await;
    register(&mut desk, &zoe, 12).await;
    let export = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 12,
            conference_id: 0,
            form: pb::CsvForm::FrenchExcel.into(),
            lang: "de".into(),
        })
        .await
        .expect("export")
        .into_inner();
    let bom = "\u{feff}".as_bytes();
    assert!(export.csv.starts_with(bom), "a byte-order mark first");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&export.csv[bom.len()..]);
    let headers = r.headers().expect("headers").clone();
    assert_eq!(&headers[0], "Ticket");
    assert_eq!(&headers[4], "Wartelistenplatz");
    let row = r.records().next().expect("one row").expect("record");
    assert_eq!(&row[1], TRICKY_NAME);
    assert_eq!(&row[2], TRICKY_ORG);
    assert_eq!(&row[3], "bestätigt");
    let registered = &row[5];
    assert!(
        registered.ends_with("+01:00") || registered.ends_with("+02:00"),
        "local time in Paris with its offset: {registered}"
    );
    let refused = desk
        .export_registrations_csv(pb::ExportRegistrationsCsvRequest {
            challenge_number: 12,
            conference_id: 0,
            form: 0,
            lang: "it".into(),
        })
        .await
        .expect_err("unknown language");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("lang"),
        "{}",
        refused.message()
    );

    // The same first day, no offset given: each site's own zone. In January Paris is
    // UTC+1 and London UTC+0, so every item starts one hour later in UTC in London.
    let mut first_items = Vec::new();
    for site in [&paris, &london] {
        let items = site
            .organiser()
            .create_default_program(pb::CreateDefaultProgramRequest {
                request_id: rid(),
                first_day: "2027-01-12".into(),
                utc_offset_minutes: 0,
                time_zone: String::new(),
            })
            .await
            .expect("program")
            .into_inner()
            .items;
        first_items.push(items[0].fields.as_ref().expect("fields").start_ms);
    }
    assert_eq!(first_items[1] - first_items[0], HOUR);
    let bad_zone = paris
        .organiser()
        .create_default_program(pb::CreateDefaultProgramRequest {
            request_id: rid(),
            first_day: "2027-07-12".into(),
            utc_offset_minutes: 0,
            time_zone: "Europe/Cluny".into(),
        })
        .await
        .expect_err("unknown zone");
    assert_eq!(bad_zone.code(), Code::InvalidArgument);
    assert!(
        bad_zone.message().starts_with("time_zone"),
        "{}",
        bad_zone.message()
    );
    paris.stop().await;
    london.stop().await;
}
