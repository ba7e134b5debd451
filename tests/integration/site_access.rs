//! Access and input: tokens and roles on every RPC, bad input named field by field, and the
//! standard health and reflection services on the same port.

use agora_proto::v1 as pb;
use tonic::Code;

use crate::common::*;

fn expect_code<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, tonic::Status>,
    code: Code,
    needle: &str,
) {
    match r {
        Ok(v) => panic!("{what}: expected {code:?}, got {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "{what}: {}", s.message());
            assert!(
                s.message().contains(needle),
                "{what}: message {:?} should mention {needle:?}",
                s.message()
            );
        }
    }
}

#[tokio::test]
async fn tokens_and_roles() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut public = site.public();
    let mut desk = site.desk();
    let mut org = site.organiser();
    let mut wrong = client(&site.channel, Some("not-the-token"));

    // Public reads.
    public
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("site info is public");
    public
        .list_themes(pb::ListThemesRequest {})
        .await
        .expect("themes are public");
    public
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .expect("challenges are public");

    let create = || pb::CreateChallengeRequest {
        request_id: rid(),
        number: 0,
        fields: Some(fields("Une question ?", 5)),
    };
    expect_code(
        "no token",
        public.create_challenge(create()).await,
        Code::Unauthenticated,
        "authorization",
    );
    expect_code(
        "wrong token",
        wrong.create_challenge(create()).await,
        Code::Unauthenticated,
        "invalid token",
    );
    expect_code(
        "desk creates a challenge",
        desk.create_challenge(create()).await,
        Code::PermissionDenied,
        "organiser",
    );
    expect_code(
        "desk adds a theme",
        desk.add_theme(pb::AddThemeRequest {
            request_id: rid(),
            label: "Identité territoriale".into(),
        })
        .await,
        Code::PermissionDenied,
        "organiser",
    );
    org.create_challenge(create())
        .await
        .expect("organiser creates");

    expect_code(
        "participant without token",
        public.create_participant(new_participant("A")).await,
        Code::Unauthenticated,
        "authorization",
    );
    let p = create_participant(&mut desk, "Anne").await;
    // The organiser can do what the desk does.
    register(&mut org, &p, 1).await;
    expect_code(
        "registrations without token",
        public
            .list_registrations(pb::ListRegistrationsRequest {
                challenge_number: 1,
                conference_id: 0,
            })
            .await,
        Code::Unauthenticated,
        "authorization",
    );
    expect_code(
        "desk watches changes",
        desk.watch_changes(pb::WatchChangesRequest {
            after_seq: 0,
            batched: false,
        })
        .await,
        Code::PermissionDenied,
        "organiser",
    );
    site.stop().await;
}

#[tokio::test]
async fn bad_input_on_every_rpc_is_refused_with_the_field_named_and_nothing_written() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 2).await;
    let p = create_participant(&mut org, "Anne").await;
    let before = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();

    let with = |f: fn(&mut pb::ChallengeFields)| {
        let mut x = fields("Une question ?", 5);
        f(&mut x);
        pb::CreateChallengeRequest {
            request_id: rid(),
            number: 0,
            fields: Some(x),
        }
    };
    let cases: Vec<(&str, pb::CreateChallengeRequest, Code, &str)> = vec![
        (
            "empty title",
            with(|f| f.title = "  ".into()),
            Code::InvalidArgument,
            "title: must not be empty",
        ),
        (
            "long title",
            with(|f| f.title = "x".repeat(301)),
            Code::InvalidArgument,
            "title: must hold at most 300",
        ),
        (
            "zero capacity",
            with(|f| f.capacity = 0),
            Code::InvalidArgument,
            "capacity",
        ),
        (
            "absurd capacity",
            with(|f| f.capacity = 1_000_000),
            Code::InvalidArgument,
            "capacity",
        ),
        (
            "no theme",
            with(|f| f.themes.clear()),
            Code::InvalidArgument,
            "themes",
        ),
        (
            "unknown theme",
            with(|f| f.themes = vec!["astrologie".into()]),
            Code::InvalidArgument,
            "themes[0]: unknown theme",
        ),
        (
            "eleven people",
            with(|f| f.facilitators = (0..10).map(|i| format!("F{i}")).collect()),
            Code::InvalidArgument,
            "people: at most 10",
        ),
        (
            "a facilitator's organisation too long",
            with(|f| {
                f.facilitator_people = vec![pb::Person {
                    name: "Carine Hertel".into(),
                    role: String::new(),
                    organisation: "I".repeat(201),
                    private: false,
                }]
            }),
            Code::InvalidArgument,
            "facilitators[0].organisation",
        ),
        (
            "a question asked twice",
            with(|f| f.more_questions = vec![f.title.to_uppercase()]),
            Code::InvalidArgument,
            "more_questions[0]",
        ),
        (
            "an open duplicate",
            with(|f| f.duplicate_of = 1),
            Code::InvalidArgument,
            "status",
        ),
        (
            "an unknown translation language",
            with(|f| {
                f.translations = vec![pb::ChallengeTranslation {
                    lang: "it".into(),
                    title: "Come?".into(),
                    more_questions: vec![],
                }]
            }),
            Code::InvalidArgument,
            "fields.translations[0].lang",
        ),
        (
            "no facilitator",
            with(|f| f.facilitators.clear()),
            Code::InvalidArgument,
            "facilitators",
        ),
        (
            "empty holder name",
            with(|f| f.holders[0].name.clear()),
            Code::InvalidArgument,
            "holders[0].name",
        ),
        (
            "bad status",
            with(|f| f.status = 42),
            Code::InvalidArgument,
            "fields.status",
        ),
        (
            "control characters",
            with(|f| f.room = "a\u{0}b".into()),
            Code::InvalidArgument,
            "room",
        ),
    ];
    for (what, req, code, needle) in cases {
        expect_code(what, org.create_challenge(req).await, code, needle);
    }
    let mut no_fields = with(|_| ());
    no_fields.fields = None;
    expect_code(
        "no fields",
        org.create_challenge(no_fields).await,
        Code::InvalidArgument,
        "fields",
    );
    let mut no_rid = with(|_| ());
    no_rid.request_id.clear();
    expect_code(
        "no request id",
        org.create_challenge(no_rid).await,
        Code::InvalidArgument,
        "request_id",
    );
    let mut big_number = with(|_| ());
    big_number.number = 10_000;
    expect_code(
        "number too large",
        org.create_challenge(big_number).await,
        Code::InvalidArgument,
        "number",
    );
    let mut taken = with(|_| ());
    taken.number = 1;
    expect_code(
        "number taken",
        org.create_challenge(taken).await,
        Code::AlreadyExists,
        "challenge 1 already exists",
    );

    expect_code(
        "update unknown",
        org.update_challenge(pb::UpdateChallengeRequest {
            request_id: rid(),
            number: 77,
            expected_version: 1,
            fields: Some(fields("Q ?", 1)),
        })
        .await,
        Code::NotFound,
        "challenge 77 not found",
    );
    expect_code(
        "update without version",
        org.update_challenge(pb::UpdateChallengeRequest {
            request_id: rid(),
            number: 1,
            expected_version: 0,
            fields: Some(fields("Q ?", 1)),
        })
        .await,
        Code::InvalidArgument,
        "expected_version",
    );
    expect_code(
        "get number 0",
        org.get_challenge(pb::GetChallengeRequest { number: 0 })
            .await,
        Code::InvalidArgument,
        "number",
    );
    expect_code(
        "get unknown",
        org.get_challenge(pb::GetChallengeRequest { number: 9 })
            .await,
        Code::NotFound,
        "challenge 9",
    );
    expect_code(
        "list by unknown theme",
        org.list_challenges(pb::ListChallengesRequest {
            theme: "astrologie".into(),
            status: 0,
            edition: 0,
        })
        .await,
        Code::InvalidArgument,
        "theme",
    );
    expect_code(
        "list by bad status",
        org.list_challenges(pb::ListChallengesRequest {
            theme: String::new(),
            status: 9,
            edition: 0,
        })
        .await,
        Code::InvalidArgument,
        "status",
    );
    expect_code(
        "empty theme label",
        org.add_theme(pb::AddThemeRequest {
            request_id: rid(),
            label: " ".into(),
        })
        .await,
        Code::InvalidArgument,
        "label",
    );
    expect_code(
        "existing theme",
        org.add_theme(pb::AddThemeRequest {
            request_id: rid(),
            label: "La cohésion urbaine".into(),
        })
        .await,
        Code::AlreadyExists,
        "la-cohesion-urbaine",
    );

    let person = |f: fn(&mut pb::CreateParticipantRequest)| {
        let mut x = new_participant("Anne");
        f(&mut x);
        x
    };
    let people: Vec<(&str, pb::CreateParticipantRequest, &str)> = vec![
        (
            "no name",
            person(|p| p.display_name.clear()),
            "display_name",
        ),
        (
            "long name",
            person(|p| p.display_name = "é".repeat(121)),
            "display_name",
        ),
        (
            "no organisation type",
            person(|p| p.organisation_type = 0),
            "organisation_type",
        ),
        (
            "unknown organisation type",
            person(|p| p.organisation_type = 99),
            "organisation_type",
        ),
        (
            "bad language",
            person(|p| p.language = "français".into()),
            "language",
        ),
        (
            "bad email",
            person(|p| p.email = "anne at kehl.de".into()),
            "email",
        ),
    ];
    for (what, req, needle) in people {
        expect_code(
            what,
            org.create_participant(req).await,
            Code::InvalidArgument,
            needle,
        );
    }
    expect_code(
        "participant id",
        org.get_participant(pb::GetParticipantRequest {
            participant_id: "42".into(),
        })
        .await,
        Code::InvalidArgument,
        "participant_id",
    );
    expect_code(
        "unknown participant",
        org.get_participant(pb::GetParticipantRequest {
            participant_id: "0194f0c2-0000-7000-8000-000000000000".into(),
        })
        .await,
        Code::NotFound,
        "participant",
    );
    expect_code(
        "register bad id",
        org.register(register_req("nope", 1)).await,
        Code::InvalidArgument,
        "participant_id",
    );
    expect_code(
        "register number 0",
        org.register(register_req(&p, 0)).await,
        Code::InvalidArgument,
        "challenge_number",
    );
    expect_code(
        "register unknown challenge",
        org.register(register_req(&p, 5)).await,
        Code::NotFound,
        "challenge 5",
    );
    expect_code(
        "cancel without key",
        org.cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: None,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "registration_id or ticket_code",
    );
    expect_code(
        "cancel bad ticket",
        org.cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::TicketCode(
                "ABC-DE0".into(),
            )),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "ticket_code",
    );
    expect_code(
        "cancel unknown ticket",
        org.cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::TicketCode(
                "AAA-AAA".into(),
            )),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        "ticket AAA-AAA",
    );
    expect_code(
        "list regs number 0",
        org.list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 0,
            conference_id: 0,
        })
        .await,
        Code::InvalidArgument,
        "challenge_number",
    );
    expect_code(
        "list regs unknown",
        org.list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 8,
            conference_id: 0,
        })
        .await,
        Code::NotFound,
        "challenge 8",
    );
    expect_code(
        "check in malformed",
        org.check_in(pb::CheckInRequest {
            request_id: rid(),
            ticket_code: "1234".into(),
        })
        .await,
        Code::InvalidArgument,
        "ticket_code",
    );
    expect_code(
        "check in unknown",
        org.check_in(pb::CheckInRequest {
            request_id: rid(),
            ticket_code: "CCC-CCC".into(),
        })
        .await,
        Code::NotFound,
        "ticket",
    );
    expect_code(
        "watch ahead",
        org.watch_changes(pb::WatchChangesRequest {
            after_seq: 1_000,
            batched: false,
        })
        .await,
        Code::OutOfRange,
        "ahead",
    );

    let after = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(
        after.last_seq, before.last_seq,
        "no refused request wrote anything"
    );
    assert_eq!(
        (after.challenges, after.participants, after.registrations),
        (1, 1, 0)
    );
    site.stop().await;
}

#[tokio::test]
async fn health_and_reflection_are_served_on_the_same_port() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut health = HealthClient::new(site.channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "agora.v1.SiteService".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(
        status.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    let mut reflection = ServerReflectionClient::new(site.channel.clone());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer {answer:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"agora.v1.SiteService"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    site.stop().await;
}

/// Issue 19: a refusal says its human part in the language the call asks for
/// (`accept-language`); the status code and the field's name stay the same.
#[tokio::test]
async fn refusals_speak_the_callers_language_and_keep_code_and_field() {
    let tmp = temp_dir();
    let site = TestSite::start(config("kehl", &data_dir(&tmp, "kehl"))).await;
    let mut org = site.organiser();
    let asked = |lang: Option<&str>| {
        let mut f = fields("", 10);
        f.title.clear();
        let mut req = tonic::Request::new(pb::CreateChallengeRequest {
            request_id: rid(),
            number: 1,
            fields: Some(f),
        });
        if let Some(l) = lang {
            req.metadata_mut()
                .insert("accept-language", l.parse().expect("ascii"));
        }
        req
    };
    let mut said = Vec::new();
    for lang in [None, Some("de-DE,de;q=0.9"), Some("fr"), Some("it")] {
        let err = org
            .create_challenge(asked(lang))
            .await
            .expect_err("an empty title is refused");
        assert_eq!(err.code(), Code::InvalidArgument);
        said.push(err.message().to_owned());
    }
    assert_eq!(
        said,
        [
            "title: must not be empty",
            "title: darf nicht leer sein",
            "title: ne doit pas être vide",
            "title: must not be empty",
        ]
    );
    let mut req = tonic::Request::new(pb::GetChallengeRequest { number: 19 });
    req.metadata_mut()
        .insert("accept-language", "de".parse().expect("ascii"));
    let err = org.get_challenge(req).await.expect_err("no défi 19");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "Défi 19 nicht gefunden");
    site.stop().await;
}

/// Issue 19: the rarer refusals too (a rule about seats, an unknown learning team, a
/// request's missing id) come back in the caller's language, with the same code and field.
#[tokio::test]
async fn rarer_refusals_speak_the_callers_language_too() {
    let tmp = temp_dir();
    let site = TestSite::start(config("kehl", &data_dir(&tmp, "kehl"))).await;
    let mut org = site.organiser();
    fn in_lang<T>(lang: &str, mut req: tonic::Request<T>) -> tonic::Request<T> {
        req.metadata_mut()
            .insert("accept-language", lang.parse().expect("ascii"));
        req
    }
    let speaker = "6f1c2a8e-9a51-4d0e-8f55-0d7e3c1c2b11".to_owned();
    let err = org
        .create_conference(in_lang(
            "de",
            tonic::Request::new(crate::site_event::conference_req(&speaker, "A", 9, 10, 0)),
        ))
        .await
        .expect_err("no seats is refused");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "capacity: muss zwischen 1 und 10000 Plätzen liegen (erhalten: 0)"
    );
    let err = org
        .join_learning_team(in_lang(
            "fr",
            tonic::Request::new(pb::JoinLearningTeamRequest {
                request_id: rid(),
                team_id: 42,
                participant_id: speaker.clone(),
            }),
        ))
        .await
        .expect_err("no team 42");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "équipe apprenante 42 introuvable");
    let err = org
        .create_challenge(in_lang(
            "fr",
            tonic::Request::new(pb::CreateChallengeRequest {
                request_id: String::new(),
                number: 1,
                fields: Some(fields("Une question ?", 10)),
            }),
        ))
        .await
        .expect_err("a write without a request id is refused");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("request_id: est requis sur toute requête qui écrit"),
        "{}",
        err.message()
    );
    site.stop().await;
}
