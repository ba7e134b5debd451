//! Privacy (GDPR): a participant's fields and consent rewritten, a participant erased down
//! to the bytes of the data directory's files after a restart, and a participant's data
//! given to them as JSON.

use std::path::Path;

use agora_proto::v1 as pb;
use pb::watch_changes_response::Item;
use tonic::Code;

use crate::common::*;

const NAME: &str = "Théodora Vuillermoz-Kappeler";
const EMAIL: &str = "t.vuillermoz@exemple-unique.fr";
const OLD_EMAIL: &str = "theodora.k@exemple-unique.fr";
const ORGANISATION: &str = "Syndicat intercommunal du Quartzeux";

/// Every file under `dir`, recursively, holding one of `needles`: (file, needle).
pub(crate) fn files_holding(dir: &Path, needles: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_dir() {
            found.extend(files_holding(&entry.path(), needles));
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read file");
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((entry.path().display().to_string(), (*n).to_owned()));
            }
        }
    }
    found
}

fn person(email: &str) -> pb::CreateParticipantRequest {
    pb::CreateParticipantRequest {
        request_id: rid(),
        display_name: NAME.to_owned(),
        organisation: ORGANISATION.to_owned(),
        organisation_type: pb::OrganisationType::State.into(),
        language: "fr".to_owned(),
        email: email.to_owned(),
        consent_share_name: true,
    }
}

fn update(id: &str, email: &str, consent: bool) -> pb::UpdateParticipantRequest {
    pb::UpdateParticipantRequest {
        request_id: rid(),
        participant_id: id.to_owned(),
        display_name: NAME.to_owned(),
        organisation: ORGANISATION.to_owned(),
        organisation_type: pb::OrganisationType::State.into(),
        language: "fr".to_owned(),
        email: email.to_owned(),
        consent_share_name: consent,
    }
}

fn forget(id: &str) -> pb::ForgetParticipantRequest {
    pb::ForgetParticipantRequest {
        request_id: rid(),
        participant_id: id.to_owned(),
    }
}

/// The whole change log, read through `WatchChanges` until caught up.
async fn whole_log(c: &mut Client) -> Vec<pb::Change> {
    let mut s = c
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut out = Vec::new();
    loop {
        match s.message().await.expect("item").expect("open").item {
            Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(Item::Change(c)) => out.push(c),
            Some(Item::CaughtUp(_)) => return out,
            None => panic!("empty item"),
        }
    }
}

/// Seats of challenge 1 and the waiting list (participant ids, in order).
async fn seats_and_waitlist(c: &mut Client) -> (pb::SeatCounts, Vec<String>) {
    let l = c
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 1,
            conference_id: 0,
        })
        .await
        .expect("list")
        .into_inner();
    let waiting = l
        .waitlist
        .iter()
        .map(|e| e.registration.as_ref().expect("reg").participant_id.clone())
        .collect();
    (l.seats.expect("seats"), waiting)
}

async fn assert_forgotten(c: &mut Client, id: &str) {
    let p = c
        .get_participant(pb::GetParticipantRequest {
            participant_id: id.to_owned(),
        })
        .await
        .expect("get")
        .into_inner()
        .participant
        .expect("participant");
    assert_eq!(
        (
            p.display_name.as_str(),
            p.organisation.as_str(),
            p.email.as_str()
        ),
        ("", "", "")
    );
    let log = format!("{:?}", whole_log(c).await);
    for needle in [NAME, EMAIL, OLD_EMAIL, ORGANISATION] {
        assert!(!log.contains(needle), "the log still holds {needle:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_participant_leaves_no_byte_in_the_data_directory_after_a_restart() {
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let site = ChildSite::start("cluny", &data).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    create_challenge(&mut org, 1, 1).await;
    let x = desk
        .create_participant(person(OLD_EMAIL))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    desk.update_participant(update(&x, EMAIL, true))
        .await
        .expect("update");
    let y = create_participant(&mut desk, "Yvon").await;
    let rx = register(&mut desk, &x, 1).await;
    register(&mut desk, &y, 1).await;
    desk.check_in(pb::CheckInRequest {
        request_id: rid(),
        ticket_code: rx.ticket_code.clone(),
    })
    .await
    .expect("check in");
    let before = seats_and_waitlist(&mut desk).await;
    assert_eq!(before.1, vec![y.clone()]);

    let denied = desk.forget_participant(forget(&x)).await.expect_err("desk");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let done = org.forget_participant(forget(&x)).await.expect("forget");
    assert!(!done.into_inner().already_erased);
    let again = org.forget_participant(forget(&x)).await.expect("again");
    assert!(again.into_inner().already_erased);
    // At once: the participant, the log (same positions) and the lists hold no name.
    assert_forgotten(&mut org, &x).await;
    let log = whole_log(&mut org).await;
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());
    assert!(log.iter().flat_map(|c| &c.events).any(|e| matches!(
        &e.event,
        Some(pb::event::Event::ParticipantErased(p)) if p.participant_id == x
    )));
    assert_eq!(seats_and_waitlist(&mut desk).await, before);
    // An erased participant cannot be updated or registered again.
    let refused = desk
        .update_participant(update(&x, EMAIL, false))
        .await
        .expect_err("update of an erased participant");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

    // kill -9, then the documented step: a restart.
    site.kill();
    let needles = [NAME, EMAIL, OLD_EMAIL, ORGANISATION];
    assert!(
        !files_holding(&data, &needles).is_empty(),
        "before the restart the files still hold the person (else this test proves nothing)"
    );
    let site = ChildSite::start("cluny", &data).await;
    assert_eq!(
        files_holding(&data, &needles),
        Vec::<(String, String)>::new()
    );
    let (mut org, mut desk) = (site.organiser(), site.desk());
    assert_forgotten(&mut org, &x).await;
    assert_eq!(seats_and_waitlist(&mut desk).await, before);
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.participants, 2, "the anonymous row still counts");

    // Writes go on; a second erasure, then a clean stop and a restart.
    let z = desk
        .create_participant(pb::CreateParticipantRequest {
            display_name: "Zéphirine Obrecht-Lamouille".to_owned(),
            ..person("z.obrecht@exemple-unique.fr")
        })
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    register(&mut desk, &z, 1).await;
    org.forget_participant(forget(&z)).await.expect("forget z");
    site.terminate();
    let site = ChildSite::start("cluny", &data).await;
    let needles = [
        NAME,
        EMAIL,
        OLD_EMAIL,
        ORGANISATION,
        "Zéphirine Obrecht-Lamouille",
        "z.obrecht@exemple-unique.fr",
    ];
    assert_eq!(
        files_holding(&data, &needles),
        Vec::<(String, String)>::new()
    );
    let (mut org, mut desk) = (site.organiser(), site.desk());
    assert_forgotten(&mut org, &z).await;
    let (seats, waiting) = seats_and_waitlist(&mut desk).await;
    assert_eq!((seats.confirmed, seats.waitlisted), (1, 2));
    assert_eq!(
        waiting,
        vec![y, z],
        "the erased keep their place in the list"
    );
    site.terminate();
}

#[tokio::test]
async fn update_participant_rewrites_fields_and_consent_and_names_bad_fields() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&dir, "cluny"))).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    let x = desk
        .create_participant(person(OLD_EMAIL))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant");
    let got = desk
        .update_participant(update(&x.id, EMAIL, false))
        .await
        .expect("update")
        .into_inner()
        .participant
        .expect("participant");
    assert_eq!(got.id, x.id);
    assert_eq!(got.created_at_ms, x.created_at_ms);
    assert_eq!(got.email, EMAIL);
    assert!(!got.consent_share_name);
    let log = whole_log(&mut org).await;
    let last = log.last().expect("a change");
    assert!(matches!(
        &last.events[0].event,
        Some(pb::event::Event::ParticipantUpserted(p)) if p.id == x.id && !p.consent_share_name
    ));
    let bad = desk
        .update_participant(pb::UpdateParticipantRequest {
            email: "not an email".into(),
            ..update(&x.id, EMAIL, false)
        })
        .await
        .expect_err("bad email");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("email"), "{}", bad.message());
    let unknown = desk
        .update_participant(update("00000000-0000-0000-0000-000000000000", EMAIL, false))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    let anonymous = site
        .public()
        .update_participant(update(&x.id, EMAIL, false))
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_gets_everything_the_site_holds_about_them_as_json() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&dir, "cluny"))).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    create_challenge(&mut org, 1, 5).await;
    let x = desk
        .create_participant(person(EMAIL))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    let r = register(&mut desk, &x, 1).await;
    let team = org
        .create_learning_team(pb::CreateLearningTeamRequest {
            request_id: rid(),
            name: "Les Curieux".into(),
            min_members: 1,
            max_members: 0,
        })
        .await
        .expect("team")
        .into_inner()
        .team
        .expect("team");
    desk.join_learning_team(pb::JoinLearningTeamRequest {
        request_id: rid(),
        team_id: team.id,
        participant_id: x.clone(),
    })
    .await
    .expect("join");
    desk.add_notebook_entry(pb::AddNotebookEntryRequest {
        request_id: rid(),
        team_id: team.id,
        moment: 1,
        author_participant_id: x.clone(),
        text: "Nous avons appris à écouter.".into(),
    })
    .await
    .expect("entry");
    let export = |c: &mut Client| {
        let mut c = c.clone();
        let x = x.clone();
        async move {
            c.export_participant_data(pb::ExportParticipantDataRequest { participant_id: x })
                .await
        }
    };
    let denied = export(&mut desk).await.expect_err("desk");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let json = export(&mut org).await.expect("export").into_inner().json;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["participant"]["display_name"], NAME);
    assert_eq!(v["participant"]["email"], EMAIL);
    assert_eq!(v["participant"]["organisation"], ORGANISATION);
    assert_eq!(v["registrations"][0]["id"], r.id);
    assert_eq!(v["team"]["name"], "Les Curieux");
    assert_eq!(
        v["notebook_entries"][0]["text"],
        "Nous avons appris à écouter."
    );
    // The same through the command line.
    let url = url(site.addr);
    let ca = pki().ca.to_str().expect("utf-8 path").to_owned();
    let args = [
        "agora",
        "export",
        "person",
        "--site",
        &url,
        "--ca",
        &ca,
        "--token",
        ORGANISER,
        "--participant",
        &x,
    ]
    .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_child_to_end(&args)
    })
    .await
    .expect("cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let at = stdout.find('{').expect("json on stdout");
    // The harness of the child process prints its own lines around the output.
    let cli: serde_json::Value = serde_json::Deserializer::from_str(&stdout[at..])
        .into_iter()
        .next()
        .expect("a json value")
        .expect("json");
    assert_eq!(cli, v);
    // After an erasure, what is left is anonymous.
    org.forget_participant(forget(&x)).await.expect("forget");
    let json = export(&mut org).await.expect("export").into_inner().json;
    assert!(!json.contains(NAME) && !json.contains(EMAIL) && !json.contains(ORGANISATION));
    let unknown = org
        .export_participant_data(pb::ExportParticipantDataRequest {
            participant_id: "00000000-0000-0000-0000-000000000000".to_owned(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    site.stop().await;
}

/// The national feed's events of site `id`, from the start until it is up to date.
async fn national_events(n: &mut NationalClient, id: &str) -> Vec<pb::event::Event> {
    use tokio_stream::StreamExt;
    let mut feed = n
        .watch(pb::WatchRequest {
            after_position: 0,
            from_now: false,
            site_ids: vec![id.to_owned()],
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut out = Vec::new();
    while let Some(item) = feed.next().await {
        match item.expect("watch item").item {
            Some(pb::watch_response::Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(pb::watch_response::Item::Change(c)) => {
                out.extend(c.events.into_iter().filter_map(|e| e.event));
            }
            Some(pb::watch_response::Item::Progress(_)) => break,
            None => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawn_consent_and_erasure_go_up_and_registration_ids_stay_on_the_site() {
    let dir = temp_dir();
    let national = TestNational::start(&data_dir(&dir, "national")).await;
    let mut admin = national.client();
    let site = join_site(&mut admin, &dir, "cluny", false, &national.url()).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    create_challenge(&mut org, 1, 1).await;
    let x = desk
        .create_participant(person(EMAIL))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    let r = register(&mut desk, &x, 1).await;
    let y = create_participant(&mut desk, "Yvon").await;
    register(&mut desk, &y, 1).await;
    converged(&mut org, &mut admin, "cluny").await;
    let named = |events: &[pb::event::Event]| {
        events.iter().rev().find_map(|e| match e {
            pb::event::Event::ParticipantUpserted(p) if p.display_name == NAME => {
                Some(p.id.clone())
            }
            _ => None,
        })
    };
    let events = national_events(&mut admin, "cluny").await;
    let pseudonym = named(&events).expect("the name went up with consent");
    assert_ne!(pseudonym, x, "participants go up as pseudonyms");
    for e in &events {
        if let pb::event::Event::Registration(reg) = e {
            let reg = reg.registration.as_ref().expect("registration");
            assert_ne!(reg.id, r.id, "registration ids go up as pseudonyms");
            assert!(reg.ticket_code.is_empty());
        }
        if let pb::event::Event::ParticipantUpserted(p) = e {
            assert!(p.email.is_empty() && p.organisation.is_empty(), "{p:?}");
        }
    }

    // Consent withdrawn: the last word upstream has no name, and the replica agrees with
    // the site (the digests compare names).
    desk.update_participant(update(&x, EMAIL, false))
        .await
        .expect("withdraw consent");
    converged(&mut org, &mut admin, "cluny").await;
    let events = national_events(&mut admin, "cluny").await;
    let last = events
        .iter()
        .rev()
        .find_map(|e| match e {
            pb::event::Event::ParticipantUpserted(p) if p.id == pseudonym => Some(p.clone()),
            _ => None,
        })
        .expect("the participant's last record");
    assert!(last.display_name.is_empty() && !last.consent_share_name);

    // Erasure: the record goes up under the pseudonym; totals stay.
    org.forget_participant(forget(&x)).await.expect("forget");
    converged(&mut org, &mut admin, "cluny").await;
    let events = national_events(&mut admin, "cluny").await;
    assert!(events.iter().any(|e| matches!(
        e,
        pb::event::Event::ParticipantErased(p) if p.participant_id == pseudonym
    )));
    let totals = admin
        .get_overview(pb::GetOverviewRequest {})
        .await
        .expect("overview")
        .into_inner()
        .totals
        .expect("totals");
    assert_eq!(
        (totals.participants, totals.confirmed, totals.waitlisted),
        (2, 1, 1)
    );
    site.stop().await;
    national.stop().await;
}

async fn program_from(org: &mut Client, first_day: &str) {
    org.create_default_program(pb::CreateDefaultProgramRequest {
        request_id: rid(),
        first_day: first_day.to_owned(),
        utc_offset_minutes: 60,
        time_zone: String::new(),
    })
    .await
    .expect("program");
}

#[tokio::test]
async fn personal_data_is_purged_at_start_once_retention_is_past_and_kept_before() {
    let dir = temp_dir();
    let data = data_dir(&dir, "cluny");
    let with = |days: u32| {
        let mut c = config("cluny", &data);
        c.retain_personal_data_days = days;
        c
    };
    let site = TestSite::start(with(30)).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    // An event that ended in March 2020.
    program_from(&mut org, "2020-03-02").await;
    create_challenge(&mut org, 1, 1).await;
    let x = desk
        .create_participant(person(EMAIL))
        .await
        .expect("create")
        .into_inner()
        .participant
        .expect("participant")
        .id;
    let y = create_participant(&mut desk, "Yvon").await;
    register(&mut desk, &x, 1).await;
    register(&mut desk, &y, 1).await;
    let before = seats_and_waitlist(&mut desk).await;
    site.stop().await;
    let needles = [NAME, EMAIL, ORGANISATION];

    // 0 keeps personal data, whatever the dates.
    let site = TestSite::start(with(0)).await;
    let named = site
        .organiser()
        .get_participant(pb::GetParticipantRequest {
            participant_id: x.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(named.participant.expect("participant").display_name, NAME);
    site.stop().await;
    assert!(!files_holding(&data, &needles).is_empty());

    // 30 days after March 2020: erased, and purged from the files before serving.
    let site = TestSite::start(with(30)).await;
    let (mut org, mut desk) = (site.organiser(), site.desk());
    assert_forgotten(&mut org, &x).await;
    assert_eq!(
        files_holding(&data, &needles),
        Vec::<(String, String)>::new()
    );
    assert_forgotten(&mut org, &x).await;
    assert_forgotten(&mut org, &y).await;
    assert_eq!(seats_and_waitlist(&mut desk).await, before);
    site.stop().await;

    // An event still to come keeps its people.
    let dir = temp_dir();
    let data = data_dir(&dir, "volvic");
    let mut c = config("volvic", &data);
    c.retain_personal_data_days = 1;
    let site = TestSite::start(c.clone()).await;
    let mut org = site.organiser();
    program_from(&mut org, "2099-03-02").await;
    let z = create_participant(&mut site.desk(), "Zoé Future").await;
    site.stop().await;
    let site = TestSite::start(c).await;
    let p = site
        .organiser()
        .get_participant(pb::GetParticipantRequest { participant_id: z })
        .await
        .expect("get")
        .into_inner()
        .participant
        .expect("participant");
    assert_eq!(p.display_name, "Zoé Future");
    site.stop().await;
}
