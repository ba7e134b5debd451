//! The rest of the event over gRPC: the call for défis, mini-conferences on the registration
//! machinery, learning teams and notebooks, the program, the exhibition; conflicts, bad input
//! and roles.

use agora_proto::v1 as pb;
use pb::watch_changes_response::Item;
use tonic::Code;

use crate::common::*;

/// 2026-09-14 00:00 UTC.
pub const DAY: i64 = 1_789_344_000_000;
pub const HOUR: i64 = 3_600_000;

/// The question of défis 12 and 18 in the seed's 2017 list: the same défi, twice.
pub const SEED_QUESTION: &str = "Comment apprendre ensemble entre pairs dans le cadre d'un réseau social d'apprentissage et d'un MOOC sur l'innovation publique collaborative ?";

pub fn proposal_fields(question: &str) -> pb::ProposalFields {
    pb::ProposalFields {
        question: question.to_owned(),
        context: "Un MOOC et un réseau social d'apprentissage.".to_owned(),
        holder: Some(pb::Holder {
            name: "Sandrine Barret".to_owned(),
            role: "cheffe de projet".to_owned(),
            collectivity: "CNFPT".to_owned(),
            private: false,
        }),
        themes: vec!["la-qualite-de-l-action-publique".to_owned()],
        wished_site: "Cluny".to_owned(),
        expected_participants: 10,
    }
}

pub async fn submit_proposal(c: &mut Client, question: &str) -> pb::ChallengeProposal {
    c.submit_proposal(pb::SubmitProposalRequest {
        request_id: rid(),
        fields: Some(proposal_fields(question)),
    })
    .await
    .expect("submit proposal")
    .into_inner()
    .proposal
    .expect("proposal")
}

pub fn accept(proposal_id: u32, number: u32) -> pb::ReviewProposalRequest {
    pb::ReviewProposalRequest {
        request_id: rid(),
        proposal_id,
        decision: pb::ProposalDecision::Accept.into(),
        comment: "Retenu pour Cluny".to_owned(),
        challenge_number: number,
        facilitators: vec!["Olivier Ryckewaert".to_owned()],
        room: "Farinier".to_owned(),
        capacity: 10,
    }
}

pub fn conference_req(
    speaker: &str,
    room: &str,
    start_h: i64,
    end_h: i64,
    capacity: u32,
) -> pb::CreateConferenceRequest {
    pb::CreateConferenceRequest {
        request_id: rid(),
        fields: Some(pb::ConferenceFields {
            title: "Les communs numériques en mairie".to_owned(),
            speaker_participant_id: speaker.to_owned(),
            r#abstract: "Retour d'expérience.".to_owned(),
            room: room.to_owned(),
            start_ms: DAY + start_h * HOUR,
            end_ms: DAY + end_h * HOUR,
            capacity,
            language: "fr".to_owned(),
        }),
    }
}

pub async fn create_conference(c: &mut Client, req: pb::CreateConferenceRequest) -> u32 {
    c.create_conference(req)
        .await
        .expect("create conference")
        .into_inner()
        .conference
        .expect("conference")
        .id
}

/// A learning team (0 for a bound: the site's default).
pub async fn create_team(c: &mut Client, name: &str, min: u32, max: u32) -> pb::LearningTeam {
    c.create_learning_team(pb::CreateLearningTeamRequest {
        request_id: rid(),
        name: name.to_owned(),
        min_members: min,
        max_members: max,
    })
    .await
    .expect("team")
    .into_inner()
    .team
    .expect("team")
}

pub async fn register_conference(
    c: &mut Client,
    participant: &str,
    conference: u32,
) -> Result<pb::Registration, tonic::Status> {
    c.register(pb::RegisterRequest {
        request_id: rid(),
        participant_id: participant.to_owned(),
        challenge_number: 0,
        r#move: false,
        conference_id: conference,
        site_id: String::new(),
    })
    .await
    .map(|r| r.into_inner().registration.expect("registration"))
}

fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, needle: &str) {
    let e = r.expect_err("should be refused");
    assert_eq!(e.code(), code, "{}", e.message());
    assert!(
        e.message().contains(needle),
        "{:?} should mention {needle:?}",
        e.message()
    );
}

#[tokio::test]
async fn proposals_are_reviewed_into_challenges_and_the_seed_duplicate_is_flagged() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let twelve = submit_proposal(&mut org, SEED_QUESTION).await;
    assert!(twelve.duplicates.is_empty());
    assert_eq!(twelve.status(), pb::ProposalStatus::Submitted);
    // Défi 18 of the seed: the same question, typed a little differently.
    let eighteen = submit_proposal(
        &mut org,
        "comment apprendre ensemble entre pairs dans le cadre d’un reseau social d’apprentissage et d’un MOOC sur l’innovation publique collaborative",
    )
    .await;
    assert_eq!(
        eighteen.duplicates,
        [pb::QuestionRef {
            r#ref: Some(pb::question_ref::Ref::ProposalId(twelve.id))
        }]
    );

    let reviewed = org
        .review_proposal(accept(twelve.id, 12))
        .await
        .expect("accept")
        .into_inner();
    let challenge = reviewed.challenge.expect("challenge");
    assert_eq!(challenge.number, 12);
    assert_eq!(challenge.title, SEED_QUESTION);
    assert_eq!(challenge.proposal_id, twelve.id);
    assert_eq!(challenge.holders[0].collectivity, "CNFPT");
    let proposal = reviewed.proposal.expect("proposal");
    assert_eq!(proposal.status(), pb::ProposalStatus::Accepted);
    assert_eq!(proposal.challenge_number, 12);
    let got = site
        .public()
        .get_challenge(pb::GetChallengeRequest { number: 12 })
        .await
        .expect("get")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(
        got.proposal_id, twelve.id,
        "the challenge links to its proposal"
    );
    let listed = site
        .public()
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed.challenges[0]
            .challenge
            .as_ref()
            .expect("c")
            .proposal_id,
        twelve.id
    );

    // A retried submission (same request_id) answers the same and files nothing twice.
    let req = pb::SubmitProposalRequest {
        request_id: "proposal-retry".to_owned(),
        fields: Some(proposal_fields("Comment ouvrir les données publiques ?")),
    };
    let once = org.submit_proposal(req.clone()).await.expect("submit");
    let twice = org.submit_proposal(req).await.expect("retry");
    assert_eq!(once.into_inner().proposal, twice.into_inner().proposal);

    // The duplicate is declined; a decided proposal stays decided.
    let declined = org
        .review_proposal(pb::ReviewProposalRequest {
            request_id: rid(),
            proposal_id: eighteen.id,
            decision: pb::ProposalDecision::Decline.into(),
            comment: "Doublon du défi 12".to_owned(),
            ..Default::default()
        })
        .await
        .expect("decline")
        .into_inner();
    assert!(declined.challenge.is_none());
    refused(
        org.review_proposal(accept(eighteen.id, 18)).await,
        Code::FailedPrecondition,
        "declined",
    );
    // A third proposal repeating an accepted challenge's question points at both.
    let third = submit_proposal(&mut org, SEED_QUESTION).await;
    assert_eq!(third.duplicates.len(), 3, "{:?}", third.duplicates);

    let submitted = org
        .list_proposals(pb::ListProposalsRequest {
            status: pb::ProposalStatus::Submitted.into(),
        })
        .await
        .expect("list")
        .into_inner()
        .proposals;
    assert_eq!(
        submitted.iter().map(|p| p.id).collect::<Vec<_>>(),
        [third.id - 1, third.id],
        "the retried proposal exists once"
    );
    site.stop().await;
}

#[tokio::test]
async fn proposals_refuse_bad_input_by_field_and_need_the_organiser() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let mut no_holder = proposal_fields("Une question ?");
    no_holder.holder = None;
    refused(
        org.submit_proposal(pb::SubmitProposalRequest {
            request_id: rid(),
            fields: Some(no_holder),
        })
        .await,
        Code::InvalidArgument,
        "fields.holder",
    );
    let mut bad_theme = proposal_fields("Une question ?");
    bad_theme.themes = vec!["pas-un-theme".to_owned()];
    refused(
        org.submit_proposal(pb::SubmitProposalRequest {
            request_id: rid(),
            fields: Some(bad_theme),
        })
        .await,
        Code::InvalidArgument,
        "themes[0]",
    );
    refused(
        site.desk()
            .submit_proposal(pb::SubmitProposalRequest {
                request_id: rid(),
                fields: Some(proposal_fields("Une question ?")),
            })
            .await,
        Code::PermissionDenied,
        "organiser",
    );
    let p = submit_proposal(&mut org, "Une question ?").await;
    let updated = org
        .update_proposal(pb::UpdateProposalRequest {
            request_id: rid(),
            proposal_id: p.id,
            fields: Some(proposal_fields("Une question plus précise ?")),
        })
        .await
        .expect("update")
        .into_inner()
        .proposal
        .expect("proposal");
    assert_eq!(
        updated.fields.expect("fields").question,
        "Une question plus précise ?"
    );
    let mut no_facilitator = accept(p.id, 0);
    no_facilitator.facilitators.clear();
    refused(
        org.review_proposal(no_facilitator).await,
        Code::InvalidArgument,
        "facilitators",
    );
    refused(
        org.review_proposal(pb::ReviewProposalRequest {
            request_id: rid(),
            proposal_id: p.id,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "decision",
    );
    refused(
        org.review_proposal(accept(99, 0)).await,
        Code::NotFound,
        "proposal 99",
    );
    site.stop().await;
}

#[tokio::test]
async fn conference_seats_waitlist_check_in_and_cancel_go_through_the_registration_machinery() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    let speaker = create_participant(&mut desk, "Anne Speaker").await;
    let conf = create_conference(&mut org, conference_req(&speaker, "Salle 1", 9, 10, 1)).await;
    let a = create_participant(&mut desk, "Amélie").await;
    let b = create_participant(&mut desk, "Bruno").await;
    // A challenge registration and conference registrations live side by side.
    create_challenge(&mut org, 1, 5).await;
    register(&mut desk, &a, 1).await;

    let ra = register_conference(&mut desk, &a, conf).await.expect("a");
    assert_eq!(ra.state(), pb::RegistrationState::Confirmed);
    assert_eq!((ra.conference_id, ra.challenge_number), (conf, 0));
    let rb = register_conference(&mut desk, &b, conf).await.expect("b");
    assert_eq!(rb.state(), pb::RegistrationState::Waitlisted);
    assert_eq!(rb.waitlist_position, 1);
    refused(
        register_conference(&mut desk, &a, conf).await,
        Code::AlreadyExists,
        "already registered",
    );

    let list = desk
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 0,
            conference_id: conf,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!((list.confirmed.len(), list.waitlist.len()), (1, 1));
    assert_eq!(list.waitlist[0].participant_display_name, "Bruno");

    let checked = desk
        .check_in(pb::CheckInRequest {
            request_id: rid(),
            ticket_code: ra.ticket_code.clone(),
        })
        .await
        .expect("check in")
        .into_inner();
    assert_eq!(checked.participant_display_name, "Amélie");
    let cancelled = desk
        .cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::TicketCode(
                ra.ticket_code.clone(),
            )),
            ..Default::default()
        })
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.promoted.len(), 1);
    assert_eq!(cancelled.promoted[0].id, rb.id);
    // Amélie keeps her défi; Bruno's seat shows on his record.
    let amelie = desk
        .get_participant(pb::GetParticipantRequest {
            participant_id: a.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(amelie.registration.expect("défi").challenge_number, 1);
    assert!(amelie.conference_registrations.is_empty());
    let bruno = desk
        .get_participant(pb::GetParticipantRequest {
            participant_id: b.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(bruno.conference_registrations.len(), 1);
    assert_eq!(
        bruno.conference_registrations[0].state(),
        pb::RegistrationState::Confirmed
    );

    let confs = site
        .public()
        .list_conferences(pb::ListConferencesRequest {})
        .await
        .expect("list")
        .into_inner()
        .conferences;
    let seats = confs[0].seats.expect("seats");
    assert_eq!(
        (seats.confirmed, seats.waitlisted, seats.checked_in),
        (1, 0, 0)
    );

    // Every step is in the change feed.
    let mut feed = org
        .watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut conference_seen = false;
    loop {
        match feed.message().await.expect("item").expect("open").item {
            Some(Item::Changes(_)) => panic!("a batched answer, not asked for"),
            Some(Item::Change(c)) => {
                conference_seen |= c
                    .events
                    .iter()
                    .any(|e| matches!(e.event, Some(pb::event::Event::ConferenceUpserted(_))));
            }
            Some(Item::CaughtUp(_)) => break,
            None => {}
        }
    }
    assert!(conference_seen);
    site.stop().await;
}

#[tokio::test]
async fn rooms_speakers_and_attendees_cannot_be_double_booked() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    let anne = create_participant(&mut desk, "Anne").await;
    let bruno = create_participant(&mut desk, "Bruno").await;
    let c1 = create_conference(&mut org, conference_req(&anne, "Salle 1", 9, 10, 10)).await;
    refused(
        org.create_conference(conference_req(&bruno, "salle 1", 9, 11, 10))
            .await,
        Code::FailedPrecondition,
        "room \"salle 1\" is taken by conference 1",
    );
    refused(
        org.create_conference(conference_req(&anne, "Salle 2", 9, 11, 10))
            .await,
        Code::FailedPrecondition,
        "already gives conference 1",
    );
    // Back to back in the same room, by another speaker.
    let c2 = create_conference(&mut org, conference_req(&bruno, "Salle 1", 10, 11, 10)).await;
    let c3 = create_conference(&mut org, conference_req(&bruno, "Salle 2", 9, 10, 10)).await;
    let p = create_participant(&mut desk, "Paul").await;
    register_conference(&mut desk, &p, c1).await.expect("c1");
    register_conference(&mut desk, &p, c2)
        .await
        .expect("back to back");
    refused(
        register_conference(&mut desk, &p, c3).await,
        Code::FailedPrecondition,
        "overlaps",
    );
    // Bad input names the field; roles hold.
    refused(
        org.create_conference(conference_req(&anne, "Salle 3", 12, 11, 10))
            .await,
        Code::InvalidArgument,
        "end_ms",
    );
    refused(
        org.create_conference(conference_req("nobody", "Salle 3", 12, 13, 10))
            .await,
        Code::InvalidArgument,
        "fields.speaker_participant_id",
    );
    refused(
        org.create_conference(conference_req(&anne, "Salle 3", 12, 13, 0))
            .await,
        Code::InvalidArgument,
        "capacity",
    );
    refused(
        desk.create_conference(conference_req(&anne, "Salle 3", 12, 13, 10))
            .await,
        Code::PermissionDenied,
        "organiser",
    );
    refused(
        desk.register(pb::RegisterRequest {
            request_id: rid(),
            participant_id: p.clone(),
            challenge_number: 1,
            r#move: false,
            conference_id: c1,
            site_id: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "not both",
    );
    refused(
        register_conference(&mut desk, &p, 42).await,
        Code::NotFound,
        "conference 42",
    );
    site.stop().await;
}

#[tokio::test]
async fn learning_teams_fill_up_and_write_their_notebook_per_moment() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut desk = site.desk();
    let team = create_team(&mut desk, "Les Colibris", 2, 3).await;
    let default = create_team(&mut desk, "Équipe par défaut", 0, 0).await;
    assert_eq!((default.min_members, default.max_members), (6, 10));
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(create_participant(&mut desk, &format!("Membre {i}")).await);
    }
    let join = |p: &str, team_id: u32| pb::JoinLearningTeamRequest {
        request_id: rid(),
        team_id,
        participant_id: p.to_owned(),
    };
    for p in &people[..3] {
        desk.join_learning_team(join(p, team.id))
            .await
            .expect("join");
    }
    refused(
        desk.join_learning_team(join(&people[3], team.id)).await,
        Code::FailedPrecondition,
        "is full (3 members)",
    );
    refused(
        desk.join_learning_team(join(&people[0], default.id)).await,
        Code::AlreadyExists,
        "already in learning team",
    );
    refused(
        desk.join_learning_team(join(&people[3], 77)).await,
        Code::NotFound,
        "learning team 77",
    );

    let entry = |author: &str, moment: u32, text: &str| pb::AddNotebookEntryRequest {
        request_id: rid(),
        team_id: team.id,
        moment,
        author_participant_id: author.to_owned(),
        text: text.to_owned(),
    };
    desk.add_notebook_entry(entry(
        &people[0],
        1,
        "Nos objectifs : apprendre à prototyper.",
    ))
    .await
    .expect("entry");
    desk.add_notebook_entry(entry(&people[1], 2, "Ce que nous avons appris."))
        .await
        .expect("entry");
    desk.add_notebook_entry(entry(&people[2], 1, "Et les miens."))
        .await
        .expect("entry");
    refused(
        desk.add_notebook_entry(entry(&people[3], 1, "Pas membre"))
            .await,
        Code::FailedPrecondition,
        "not a member",
    );
    refused(
        desk.add_notebook_entry(entry(&people[0], 4, "Moment 4 ?"))
            .await,
        Code::InvalidArgument,
        "moment",
    );
    refused(
        desk.add_notebook_entry(entry(&people[0], 1, "  ")).await,
        Code::InvalidArgument,
        "text",
    );
    let list = |moment| pb::ListNotebookEntriesRequest {
        team_id: team.id,
        moment,
    };
    let first = desk
        .list_notebook_entries(list(1))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        first
            .entries
            .iter()
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>(),
        ["Nos objectifs : apprendre à prototyper.", "Et les miens."]
    );
    let all = desk
        .list_notebook_entries(list(0))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        all.entries.iter().map(|e| e.moment).collect::<Vec<_>>(),
        [1, 1, 2]
    );
    refused(
        site.public().list_notebook_entries(list(0)).await,
        Code::Unauthenticated,
        "authorization",
    );
    // Leaving frees the place.
    desk.leave_learning_team(pb::LeaveLearningTeamRequest {
        request_id: rid(),
        team_id: team.id,
        participant_id: people[0].clone(),
    })
    .await
    .expect("leave");
    desk.join_learning_team(join(&people[3], team.id))
        .await
        .expect("join after a departure");
    let teams = desk
        .list_learning_teams(pb::ListLearningTeamsRequest {})
        .await
        .expect("teams")
        .into_inner()
        .teams;
    assert_eq!(teams[0].member_ids.len(), 3);
    site.stop().await;
}

pub async fn default_program(org: &mut Client) -> Vec<pb::ProgramItem> {
    org.create_default_program(pb::CreateDefaultProgramRequest {
        request_id: rid(),
        first_day: "2026-09-14".to_owned(),
        utc_offset_minutes: 120,
        time_zone: String::new(),
    })
    .await
    .expect("default program")
    .into_inner()
    .items
}

#[tokio::test]
async fn the_default_program_follows_the_briques_and_rooms_cannot_overlap() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let items = default_program(&mut org).await;
    assert_eq!(items.len(), 14);
    let first = items[0].fields.as_ref().expect("fields");
    assert_eq!(first.kind(), pb::ProgramKind::Welcome);
    // 09:00 in Paris in September is 07:00 UTC.
    assert_eq!(first.start_ms, DAY + 7 * HOUR);
    let steps: Vec<u32> = items
        .iter()
        .filter_map(|i| i.fields.as_ref())
        .filter(|f| f.kind() == pb::ProgramKind::ChallengeStep)
        .map(|f| f.step)
        .collect();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6]);
    let day2 = site
        .public()
        .list_program(pb::ListProgramRequest {
            day: "2026-09-15".to_owned(),
            utc_offset_minutes: 120,
            time_zone: String::new(),
        })
        .await
        .expect("list")
        .into_inner()
        .items;
    assert_eq!(day2.len(), 4);
    assert_eq!(
        day2[0].fields.as_ref().expect("f").kind(),
        pb::ProgramKind::MiniConferences
    );

    // A plenary over the closing, in the same room (other spelling), is refused.
    let closing = items[13].fields.clone().expect("closing");
    let clash = pb::ProgramItemFields {
        kind: pb::ProgramKind::Plenary.into(),
        step: 0,
        title: "Plénière en trop".to_owned(),
        room: "AMPHITHEATRE".to_owned(),
        start_ms: closing.start_ms - HOUR,
        end_ms: closing.start_ms + 60_000,
    };
    refused(
        org.add_program_items(pb::AddProgramItemsRequest {
            request_id: rid(),
            items: vec![clash.clone()],
        })
        .await,
        Code::FailedPrecondition,
        "is taken by program item 14",
    );
    refused(
        org.create_default_program(pb::CreateDefaultProgramRequest {
            request_id: rid(),
            first_day: "2026-09-14".to_owned(),
            utc_offset_minutes: 120,
            time_zone: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "is taken",
    );
    // Bad input names the field.
    let mut bad_step = clash.clone();
    bad_step.kind = pb::ProgramKind::ChallengeStep.into();
    bad_step.step = 7;
    bad_step.room = "Ailleurs".to_owned();
    refused(
        org.add_program_items(pb::AddProgramItemsRequest {
            request_id: rid(),
            items: vec![clash.clone(), bad_step],
        })
        .await,
        Code::InvalidArgument,
        "items[1].step",
    );
    refused(
        org.create_default_program(pb::CreateDefaultProgramRequest {
            request_id: rid(),
            first_day: "14/09/2026".to_owned(),
            utc_offset_minutes: 0,
            time_zone: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "first_day",
    );
    refused(
        site.desk()
            .add_program_items(pb::AddProgramItemsRequest {
                request_id: rid(),
                items: vec![clash],
            })
            .await,
        Code::PermissionDenied,
        "organiser",
    );
    site.stop().await;
}

#[tokio::test]
async fn exhibition_feedback_and_next_actions_are_recorded_and_followed_up() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    let mut desk = site.desk();
    create_challenge(&mut org, 7, 10).await;
    desk.add_feedback(pb::AddFeedbackRequest {
        request_id: rid(),
        challenge_number: 7,
        author: "Élise, visiteuse".to_owned(),
        text: "Le prototype « accueil unique » est très clair.".to_owned(),
    })
    .await
    .expect("feedback");
    refused(
        desk.add_feedback(pb::AddFeedbackRequest {
            request_id: rid(),
            challenge_number: 8,
            author: "X".to_owned(),
            text: "Y".to_owned(),
        })
        .await,
        Code::NotFound,
        "challenge 8",
    );
    let action = org
        .add_next_action(pb::AddNextActionRequest {
            request_id: rid(),
            challenge_number: 7,
            what: "Tester l'accueil unique en mairie".to_owned(),
            owner: "Ville de Cluny".to_owned(),
            due_ms: DAY + 14 * 24 * HOUR,
        })
        .await
        .expect("action")
        .into_inner()
        .action
        .expect("action");
    assert_eq!(action.status(), pb::NextActionStatus::Open);
    refused(
        desk.add_next_action(pb::AddNextActionRequest {
            request_id: rid(),
            challenge_number: 7,
            what: "x".to_owned(),
            owner: "y".to_owned(),
            due_ms: 0,
        })
        .await,
        Code::PermissionDenied,
        "organiser",
    );
    refused(
        org.add_next_action(pb::AddNextActionRequest {
            request_id: rid(),
            challenge_number: 7,
            what: String::new(),
            owner: "y".to_owned(),
            due_ms: 0,
        })
        .await,
        Code::InvalidArgument,
        "what",
    );
    // September: the bilan.
    let done = org
        .update_next_action(pb::UpdateNextActionRequest {
            request_id: rid(),
            next_action_id: action.id,
            status: pb::NextActionStatus::Done.into(),
        })
        .await
        .expect("update")
        .into_inner()
        .action
        .expect("action");
    assert_eq!(done.status(), pb::NextActionStatus::Done);
    refused(
        org.update_next_action(pb::UpdateNextActionRequest {
            request_id: rid(),
            next_action_id: action.id,
            status: 0,
        })
        .await,
        Code::InvalidArgument,
        "status",
    );
    let expo = desk
        .get_exhibition(pb::GetExhibitionRequest {
            challenge_number: 7,
        })
        .await
        .expect("exhibition")
        .into_inner();
    assert_eq!(expo.feedback.len(), 1);
    assert_eq!(expo.next_actions[0].status(), pb::NextActionStatus::Done);
    let open = desk
        .list_next_actions(pb::ListNextActionsRequest {
            challenge_number: 0,
            status: pb::NextActionStatus::Open.into(),
        })
        .await
        .expect("list")
        .into_inner();
    assert!(open.next_actions.is_empty());
    site.stop().await;
}

/// Issue 19: a défi names its people with role and organisation, asks several questions,
/// belongs to an edition, may be the duplicate of another and carry translations; all of
/// it comes back from GetChallenge, and ListChallenges filters by edition. Older clients
/// still read the facilitators' names.
#[tokio::test]
async fn a_challenge_carries_people_questions_edition_duplicate_and_translations() {
    let tmp = temp_dir();
    let site = TestSite::start(config("cluny", &data_dir(&tmp, "cluny"))).await;
    let mut org = site.organiser();
    let person = |name: &str, role: &str, organisation: &str| pb::Person {
        name: name.into(),
        role: role.into(),
        organisation: organisation.into(),
        private: false,
    };
    let mut f12 = fields(SEED_QUESTION, 12);
    f12.facilitators.clear();
    f12.facilitator_people = vec![
        person(
            "Bernadette Guillaud",
            "conseillère innovation",
            "Grand Paris Sud est",
        ),
        person("Bénédicte Richoux", "conseillère innovation", "CD91"),
        person("Carine Hertel", "cheffe de service", "INET"),
    ];
    f12.speakers = vec![person("Mme AULUCK", "élue", "Coventry")];
    f12.more_questions = vec!["Comment donner envie à une direction générale ?".into()];
    f12.edition = 2017;
    f12.translations = vec![pb::ChallengeTranslation {
        lang: "de".into(),
        title: "Wie lernen wir gemeinsam?".into(),
        more_questions: vec!["Wie überzeugen wir eine Generaldirektion?".into()],
    }];
    let made = org
        .create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 12,
            fields: Some(f12),
        })
        .await
        .expect("défi 12")
        .into_inner()
        .challenge
        .expect("challenge");
    let got = org
        .get_challenge(pb::GetChallengeRequest { number: 12 })
        .await
        .expect("get")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(got, made);
    assert_eq!(got.facilitator_people.len(), 3);
    assert_eq!(got.facilitator_people[2].organisation, "INET");
    assert_eq!(
        got.facilitators,
        ["Bernadette Guillaud", "Bénédicte Richoux", "Carine Hertel"]
    );
    assert_eq!(got.speakers[0].name, "Mme AULUCK");
    assert_eq!(got.more_questions.len(), 1);
    assert_eq!(got.edition, 2017);
    assert_eq!(got.translations[0].lang, "de");

    let mut f18 = fields(SEED_QUESTION, 12);
    f18.duplicate_of = 12;
    f18.status = pb::ChallengeStatus::Closed.into();
    let d = org
        .create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 18,
            fields: Some(f18.clone()),
        })
        .await
        .expect("défi 18")
        .into_inner()
        .challenge
        .expect("challenge");
    assert_eq!(d.duplicate_of, 12);
    f18.duplicate_of = 99;
    let err = org
        .create_challenge(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 19,
            fields: Some(f18),
        })
        .await
        .expect_err("duplicate of a missing défi");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("duplicate_of"),
        "{}",
        err.message()
    );

    let of_2017 = org
        .list_challenges(pb::ListChallengesRequest {
            edition: 2017,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .challenges;
    assert_eq!(of_2017.len(), 1);
    let themes = org
        .list_themes(pb::ListThemesRequest {})
        .await
        .expect("themes")
        .into_inner()
        .themes;
    let quality = themes
        .iter()
        .find(|t| t.id == "la-qualite-de-l-action-publique")
        .expect("quality theme");
    assert!(
        quality
            .labels
            .iter()
            .any(|l| l.lang == "de" && l.text == "Die Qualität des öffentlichen Handelns")
    );
    site.stop().await;
}
