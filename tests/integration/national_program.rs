//! The connected event (issue 21): the national program (program items and conferences of
//! every site, `ListNationalProgram`, the iCalendar feeds, the terminal dashboard) and the
//! alternatives a Register that waits returns, through a national node and two sites over
//! TLS.

use std::sync::Arc;

use agora_dashboard::client::{Shared, with};
use agora_proto::v1 as pb;
use pb::national_program_entry::Entry;
use tonic::Code;

use crate::common::*;
use crate::site_event::{DAY, HOUR, conference_req, create_conference};
use crate::web_desk::{https_get_with, https_send};

/// A défi on one theme, titled "Défi N ?".
async fn challenge(org: &mut Client, number: u32, theme: &str, capacity: u32) {
    crate::web_desk::challenge(org, number, &format!("Défi {number} ?"), theme, capacity).await;
}

const THEME: &str = "la-qualite-de-l-action-publique";
const OTHER_THEME: &str = "la-cohesion-urbaine";

async fn add_items(org: &mut Client, items: &[(&str, i64)]) {
    org.add_program_items(pb::AddProgramItemsRequest {
        request_id: rid(),
        items: items
            .iter()
            .map(|(title, start_h)| pb::ProgramItemFields {
                kind: pb::ProgramKind::Plenary.into(),
                step: 0,
                title: (*title).to_owned(),
                room: "Amphithéâtre".to_owned(),
                start_ms: DAY + start_h * HOUR,
                end_ms: DAY + (start_h + 1) * HOUR,
            })
            .collect(),
    })
    .await
    .expect("add program items");
}

async fn program(n: &mut NationalClient, site: &str) -> pb::ListNationalProgramResponse {
    n.list_national_program(pb::ListNationalProgramRequest {
        site_id: site.to_owned(),
    })
    .await
    .expect("national program")
    .into_inner()
}

/// (site, title, is a conference) of each line, in order.
fn lines(p: &pb::ListNationalProgramResponse) -> Vec<(String, String, bool)> {
    p.entries
        .iter()
        .map(|e| match e.entry.as_ref().expect("entry") {
            Entry::Item(i) => (
                e.site_id.clone(),
                i.fields.clone().expect("fields").title,
                false,
            ),
            Entry::Conference(c) => (
                e.site_id.clone(),
                c.conference
                    .clone()
                    .expect("conference")
                    .fields
                    .expect("fields")
                    .title,
                true,
            ),
        })
        .collect()
}

/// Logs in to a page with `token` (`/national/login`, `/desk/login`) and returns the
/// header line that carries the session cookie.
async fn session(http: std::net::SocketAddr, login_path: &str, token: &str) -> String {
    let form = format!("token={token}");
    let login = https_send(
        http,
        &format!(
            "POST {login_path} HTTP/1.1\r\nHost: {http}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    let cookie = login
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .unwrap_or_else(|| panic!("a session cookie: {login}"));
    format!("Cookie: {cookie}\r\n")
}

/// The body of an HTTP answer, and its status line.
fn body(answer: &str) -> (&str, &str) {
    let status = answer.lines().next().unwrap_or_default();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body)
}

/// The UIDs and summaries of a calendar's events, parsed back with the icalendar crate.
fn events(ics: &str) -> Vec<(String, String)> {
    use icalendar::{CalendarComponent, Component};
    let cal: icalendar::Calendar = ics.parse().expect("iCalendar parses");
    cal.components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some((
                e.get_uid().expect("uid").to_owned(),
                e.get_summary().expect("summary").to_owned(),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sites_program_and_conferences_reach_the_national_program_and_its_calendars() {
    let dir = temp_dir();
    let national = TestNational::start_with_http(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let kehl = join_site(&mut admin, &dir, "kehl", true, &national.url()).await;
    let mut cluny_org = cluny.organiser();
    let mut kehl_org = kehl.organiser();
    add_items(
        &mut cluny_org,
        &[("Accueil à Cluny", 9), ("Plénière à Cluny", 11)],
    )
    .await;
    add_items(&mut kehl_org, &[("Plenum in Kehl", 10)]).await;
    let mut named = new_participant("Agnès Varda");
    named.consent_share_name = true;
    let speaker = cluny_org
        .create_participant(named)
        .await
        .expect("speaker")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    create_conference(
        &mut cluny_org,
        conference_req(&speaker, "Salle 1", 14, 15, 20),
    )
    .await;
    let shy = create_participant(&mut kehl_org, "Hans Schüchtern").await;
    create_conference(&mut kehl_org, conference_req(&shy, "Raum 2", 9, 10, 20)).await;
    create_challenge(&mut cluny_org, 4, 10).await;

    let mut viewer = national_client(&national.channel, Some(VIEWER));
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    converged(&mut kehl.organiser(), &mut admin, "kehl").await;
    let all = program(&mut viewer, "").await;
    let title = "Les communs numériques en mairie".to_owned();
    assert_eq!(
        lines(&all),
        [
            ("cluny".into(), "Accueil à Cluny".into(), false),
            ("kehl".into(), title.clone(), true),
            ("kehl".into(), "Plenum in Kehl".into(), false),
            ("cluny".into(), "Plénière à Cluny".into(), false),
            ("cluny".into(), title.clone(), true),
        ],
        "every site's program and conferences, by time"
    );
    let conference = |site: &str| {
        all.entries
            .iter()
            .find_map(|e| match &e.entry {
                Some(Entry::Conference(c)) if e.site_id == site => Some(c.clone()),
                _ => None,
            })
            .expect("a conference")
    };
    let varda = conference("cluny");
    assert_eq!(varda.speaker_name, "Agnès Varda", "named with consent");
    let speaker_upstream = varda
        .conference
        .expect("conf")
        .fields
        .expect("f")
        .speaker_participant_id;
    assert_ne!(
        speaker_upstream, speaker,
        "the speaker goes up as a pseudonym"
    );
    assert_eq!(conference("kehl").speaker_name, "", "no consent, no name");
    assert!(
        all.challenges
            .iter()
            .any(|c| c.site_id == "cluny" && c.number == 4 && c.question == "Défi numéro 4 ?"),
        "the défis for the plenary: {:?}",
        all.challenges
    );
    let kehl_only = program(&mut viewer, "kehl").await;
    assert!(lines(&kehl_only).iter().all(|(s, _, _)| s == "kehl"));
    assert_eq!(kehl_only.entries.len(), 2);
    let unknown = viewer
        .list_national_program(pb::ListNationalProgramRequest {
            site_id: "nowhere".into(),
        })
        .await
        .expect_err("no such site");
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(
        unknown.message().starts_with("site_id"),
        "{}",
        unknown.message()
    );
    let anonymous = national_client(&national.channel, None)
        .list_national_program(pb::ListNationalProgramRequest::default())
        .await
        .expect_err("a viewer's call");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // The calendars: every site's, and one site's, with the viewer's token.
    let http = national.http.expect("national page");
    let bearer = format!("Authorization: Bearer {VIEWER}\r\n");
    let answer = https_get_with(http, "/national/program.ics", &bearer).await;
    let (status, ics) = body(&answer);
    assert!(status.contains("200"), "{answer}");
    let got = events(ics);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got.contains(&("1.conference.cluny.agora".into(), title.clone())));
    assert!(got.contains(&("1.program.kehl.agora".into(), "Plenum in Kehl".into())));
    let answer = https_get_with(http, "/national/program/kehl.ics", &bearer).await;
    let got = events(body(&answer).1);
    assert_eq!(got.len(), 2, "kehl's only: {got:?}");
    let answer = https_get_with(http, "/national/program/nowhere.ics", &bearer).await;
    assert!(body(&answer).0.contains("404"), "{answer}");
    let answer = https_get_with(http, "/national/program.ics", "").await;
    assert!(
        body(&answer).0.contains("401"),
        "no session, no token: {answer}"
    );
    // The national page shows it to a logged-in viewer, who also gets the calendar.
    let with_session = session(http, "/national/login", VIEWER).await;
    let page = https_get_with(http, "/national?lang=fr", &with_session).await;
    let (status, html) = body(&page);
    assert!(status.contains("200"), "{page}");
    for shown in [
        "Programme national",
        "Plénière à Cluny",
        "Plenum in Kehl",
        "Agnès Varda",
        "Défi numéro 4 ?",
    ] {
        assert!(html.contains(shown), "the page shows {shown:?}");
    }
    assert!(
        !html.contains("Hans Schüchtern"),
        "a name without consent never shows"
    );
    let answer = https_get_with(http, "/national/program/cluny.ics", &with_session).await;
    assert_eq!(events(body(&answer).1).len(), 3, "{answer}");

    // A restart of the national node keeps the replica's program, and what a site adds
    // afterwards follows.
    let addr = national.addr;
    national.stop().await;
    let national = TestNational::start_on(&data_dir(&dir, "national"), addr).await;
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    assert_eq!(lines(&program(&mut viewer, "").await), lines(&all), "kept");
    add_items(&mut cluny_org, &[("Clôture à Cluny", 16)]).await;
    let mut admin = national.client();
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    let after = lines(&program(&mut viewer, "").await);
    assert_eq!(after.len(), 6);
    assert_eq!(after[5], ("cluny".into(), "Clôture à Cluny".into(), false));
    cluny.stop().await;
    kehl.stop().await;
    national.stop().await;
}

/// (site, title, is a conference) of each line of the dashboard's program.
fn dashboard_lines(board: &Shared) -> Vec<(String, String, bool)> {
    with(board, |b| {
        b.program
            .lines
            .iter()
            .map(|l| (l.site.clone(), l.title.clone(), l.conference.is_some()))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_the_national_program_and_again_when_the_feed_changes_it() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = cluny.organiser();
    add_items(&mut org, &[("Accueil à Cluny", 9)]).await;
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;

    // The dashboard's own client, with the viewer's token, as `agora dashboard` runs it.
    let board: Shared = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(agora_dashboard::client::follow(
        national.url(),
        dial(),
        Some(VIEWER.to_owned()),
        Arc::clone(&board),
        stopped,
    ));
    let lines_are = |n: usize| {
        let board = Arc::clone(&board);
        move || {
            let board = Arc::clone(&board);
            async move { dashboard_lines(&board).len() == n }
        }
    };
    eventually("the dashboard to read the program", lines_are(1)).await;
    assert_eq!(
        dashboard_lines(&board),
        [("cluny".into(), "Accueil à Cluny".into(), false)]
    );

    // What the site adds next reaches the dashboard through the feed: read again.
    let speaker = create_participant(&mut org, "Agnès Varda").await;
    create_conference(&mut org, conference_req(&speaker, "Salle 1", 14, 15, 20)).await;
    add_items(&mut org, &[("Plénière à Cluny", 11)]).await;
    eventually("the dashboard to read the program again", lines_are(3)).await;
    assert_eq!(
        dashboard_lines(&board),
        [
            ("cluny".into(), "Accueil à Cluny".into(), false),
            ("cluny".into(), "Plénière à Cluny".into(), false),
            (
                "cluny".into(),
                "Les communs numériques en mairie".into(),
                true
            ),
        ]
    );
    let (loads, failed) = with(&board, |b| (b.program.loads, b.program.failed.clone()));
    assert!(loads >= 2 && failed.is_none(), "{loads} {failed:?}");

    // The national node goes away: the dashboard says so and keeps the program it read.
    national.stop().await;
    let lost = || {
        let board = Arc::clone(&board);
        async move {
            with(&board, |b| {
                matches!(b.connection, agora_board::Connection::Reconnecting { .. })
            })
        }
    };
    eventually("the dashboard to notice the national node gone", lost).await;
    assert_eq!(dashboard_lines(&board).len(), 3, "the program stays");
    let _ = stop.send(true);
    follower.await.expect("the dashboard's client");
    cluny.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_waits_offers_this_sites_défis_on_the_theme_then_other_sites() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let token = invite(&mut admin, "cluny", false).await;
    let cluny = TestSite::start_with_http(federated(
        "cluny",
        &data_dir(&dir, "cluny"),
        &national.url(),
        &token,
    ))
    .await;
    let kehl = join_site(&mut admin, &dir, "kehl", true, &national.url()).await;
    let mut org = cluny.organiser();
    challenge(&mut org, 1, THEME, 1).await;
    challenge(&mut org, 2, THEME, 3).await;
    challenge(&mut org, 3, OTHER_THEME, 9).await;
    let mut kehl_org = kehl.organiser();
    challenge(&mut kehl_org, 7, THEME, 9).await;
    challenge(&mut kehl_org, 8, OTHER_THEME, 9).await;
    challenge(&mut kehl_org, 9, THEME, 1).await;
    let mut kehl_desk = kehl.desk();
    let taken = create_participant(&mut kehl_desk, "Lena").await;
    register(&mut kehl_desk, &taken, 9).await;
    let directory = || {
        let mut c = cluny.public();
        async move {
            c.get_national_directory(pb::GetNationalDirectoryRequest::default())
                .await
                .map(|d| {
                    let d = d.into_inner();
                    d.challenges.len() == 3
                        && d.challenges.iter().any(|c| {
                            c.challenge.as_ref().is_some_and(|c| c.number == 9)
                                && c.seats.is_some_and(|s| s.seats_left == 0)
                        })
                })
                .unwrap_or(false)
        }
    };
    eventually("kehl's défis to reach cluny's directory", directory).await;

    let mut desk = cluny.desk();
    let first = create_participant(&mut desk, "Zoé").await;
    let answer = desk
        .register(register_req(&first, 1))
        .await
        .expect("register")
        .into_inner();
    assert!(
        answer.alternatives.is_empty(),
        "a seat: nothing else to offer"
    );
    let second = create_participant(&mut desk, "Jonas").await;
    let answer = desk
        .register(register_req(&second, 1))
        .await
        .expect("register")
        .into_inner();
    let reg = answer.registration.expect("registration");
    assert_eq!(reg.state(), pb::RegistrationState::Waitlisted);
    let got: Vec<(&str, u32, u32)> = answer
        .alternatives
        .iter()
        .map(|a| (a.site_id.as_str(), a.challenge_number, a.seats_left))
        .collect();
    // This site's défi on the theme first (though Kehl's has more seats), then Kehl's;
    // not défi 3 or Kehl's 8 (another theme), nor Kehl's 9 (full).
    assert_eq!(got, [("", 2, 3), ("kehl", 7, 9)]);
    assert_eq!(answer.alternatives[1].title, "Défi 7 ?");
    // The desk offers the same, by the same rule: défi 2 to register for here, Kehl's 7
    // to tell about.
    let http = cluny.http.expect("desk");
    let desk_session = session(http, "/desk/login", DESK).await;
    let page = https_get_with(http, &format!("/desk/participants/{second}"), &desk_session).await;
    let (status, html) = body(&page);
    assert!(status.contains("200"), "{page}");
    assert!(
        html.contains("data-alternative=\"2\""),
        "défi 2 offered here"
    );
    assert!(
        !html.contains("data-alternative=\"3\""),
        "défi 3 is on another theme"
    );
    let elsewhere = html
        .split_once("id=\"elsewhere\"")
        .expect("other sites' défis")
        .1;
    assert!(elsewhere.contains("data-site=\"kehl\"") && elsewhere.contains("Défi 7 ?"));
    assert!(!elsewhere.contains("Défi 9 ?") && !elsewhere.contains("Défi 8 ?"));
    cluny.stop().await;
    kehl.stop().await;
    national.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_or_cancelled_program_item_is_edited_or_gone_in_the_national_program() {
    let dir = temp_dir();
    let national = TestNational::start_with_http(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let cluny = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let mut org = cluny.organiser();
    add_items(
        &mut org,
        &[
            ("Accueil à Cluny", 9),
            ("Plénière à Cluny", 11),
            ("Clôture à Cluny", 16),
        ],
    )
    .await;
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    assert_eq!(program(&mut viewer, "cluny").await.entries.len(), 3);

    // The plenary moves to 17:00 under a new title; the welcome is cancelled.
    let moved = pb::ProgramItemFields {
        kind: pb::ProgramKind::Plenary.into(),
        step: 0,
        title: "Plénière déplacée".to_owned(),
        room: "Amphithéâtre".to_owned(),
        start_ms: DAY + 17 * HOUR,
        end_ms: DAY + 18 * HOUR,
    };
    let update = |id: u32, fields: pb::ProgramItemFields| pb::UpdateProgramItemRequest {
        request_id: rid(),
        id,
        fields: Some(fields),
    };
    let overlapping = pb::ProgramItemFields {
        start_ms: DAY + 16 * HOUR,
        ..moved.clone()
    };
    let taken = org
        .update_program_item(update(2, overlapping))
        .await
        .expect_err("the closing holds the room at 16:00");
    assert_eq!(taken.code(), Code::FailedPrecondition, "{taken:?}");
    let edited = org
        .update_program_item(update(2, moved.clone()))
        .await
        .expect("update")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(
        (edited.id, edited.fields.expect("f").title.as_str()),
        (2, "Plénière déplacée")
    );
    let unknown = org
        .update_program_item(update(9, moved.clone()))
        .await
        .expect_err("no item 9");
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = org
        .update_program_item(update(
            2,
            pb::ProgramItemFields {
                title: String::new(),
                ..moved.clone()
            },
        ))
        .await
        .expect_err("a title is required");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("title"), "{}", bad.message());
    let not_organiser = cluny
        .desk()
        .cancel_program_item(pb::CancelProgramItemRequest {
            request_id: rid(),
            id: 1,
        })
        .await
        .expect_err("an organiser's call");
    assert_eq!(not_organiser.code(), Code::PermissionDenied);
    let cancel = pb::CancelProgramItemRequest {
        request_id: rid(),
        id: 1,
    };
    let gone = org
        .cancel_program_item(cancel.clone())
        .await
        .expect("cancel")
        .into_inner();
    let again = org
        .cancel_program_item(cancel)
        .await
        .expect("a retry gets the same answer")
        .into_inner();
    assert_eq!(gone, again);
    let twice = org
        .cancel_program_item(pb::CancelProgramItemRequest {
            request_id: rid(),
            id: 1,
        })
        .await
        .expect_err("already cancelled");
    assert_eq!(twice.code(), Code::NotFound);
    let local: Vec<String> = org
        .list_program(pb::ListProgramRequest::default())
        .await
        .expect("program")
        .into_inner()
        .items
        .into_iter()
        .map(|i| i.fields.expect("f").title)
        .collect();
    assert_eq!(local, ["Clôture à Cluny", "Plénière déplacée"]);

    converged(&mut cluny.organiser(), &mut admin, "cluny").await;
    let expected = [
        ("cluny".to_owned(), "Clôture à Cluny".to_owned(), false),
        ("cluny".to_owned(), "Plénière déplacée".to_owned(), false),
    ];
    assert_eq!(lines(&program(&mut viewer, "").await), expected);
    let http = national.http.expect("national page");
    let bearer = format!("Authorization: Bearer {VIEWER}\r\n");
    let answer = https_get_with(http, "/national/program/cluny.ics", &bearer).await;
    let mut got = events(body(&answer).1);
    got.sort();
    assert_eq!(
        got,
        [
            ("2.program.cluny.agora".into(), "Plénière déplacée".into()),
            ("3.program.cluny.agora".into(), "Clôture à Cluny".into()),
        ],
        "{answer}"
    );
    // A restart of the national node keeps it so.
    let addr = national.addr;
    national.stop().await;
    let national = TestNational::start_on(&data_dir(&dir, "national"), addr).await;
    let mut viewer = national_client(&national.channel, Some(VIEWER));
    assert_eq!(lines(&program(&mut viewer, "").await), expected);
    cluny.stop().await;
    national.stop().await;
}
