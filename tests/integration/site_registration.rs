//! Registration rules over gRPC: the race for the last seats, idempotent retries,
//! cancellation promoting the waiting list, moves and check-in.

use std::collections::HashSet;

use agora_proto::v1 as pb;
use tonic::Code;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_desks_racing_for_the_last_seats_confirm_exactly_capacity_and_queue_the_rest_in_order()
{
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 4, 10).await;
    let mut desk = site.desk();
    let mut people = Vec::new();
    for i in 0..48 {
        people.push(create_participant(&mut desk, &format!("Participant {i}")).await);
    }
    // Four "desks", each its own connection, registering concurrently.
    let mut tasks = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let ch = channel(site.addr).await;
        let mut c = client(&ch, Some(DESK));
        let req = register_req(p, 4);
        tasks.push(tokio::spawn(async move {
            let _keep = i;
            c.register(req)
                .await
                .map(|r| r.into_inner().registration.expect("registration"))
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task").expect("register"));
    }
    let confirmed: Vec<_> = results
        .iter()
        .filter(|r| r.state() == pb::RegistrationState::Confirmed)
        .collect();
    let waiting: Vec<_> = results
        .iter()
        .filter(|r| r.state() == pb::RegistrationState::Waitlisted)
        .collect();
    assert_eq!(confirmed.len(), 10);
    assert_eq!(waiting.len(), 38);
    let tickets: HashSet<_> = results.iter().map(|r| r.ticket_code.clone()).collect();
    assert_eq!(tickets.len(), 48, "tickets are unique");

    let list = desk
        .list_registrations(pb::ListRegistrationsRequest {
            challenge_number: 4,
            conference_id: 0,
        })
        .await
        .expect("list")
        .into_inner();
    let seats = list.seats.expect("seats");
    assert_eq!(
        (seats.confirmed, seats.waitlisted, seats.seats_left),
        (10, 38, 0)
    );
    assert_eq!(list.confirmed.len(), 10);
    // The waiting list is in the order the registrations were answered: the position each
    // desk was told is the position listed.
    for (i, e) in list.waitlist.iter().enumerate() {
        let r = e.registration.as_ref().expect("registration");
        assert_eq!(r.waitlist_position, i as u32 + 1);
        let told = waiting
            .iter()
            .find(|w| w.id == r.id)
            .expect("listed registration was answered");
        assert_eq!(
            told.waitlist_position, r.waitlist_position,
            "position told == position listed"
        );
        assert!(!e.participant_display_name.is_empty());
    }
    site.stop().await;
}

#[tokio::test]
async fn a_retried_request_returns_the_first_answer_and_changes_nothing() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 5).await;
    let mut desk = site.desk();
    let p = create_participant(&mut desk, "Anne").await;
    let req = register_req(&p, 1);
    let first = desk
        .register(req.clone())
        .await
        .expect("first")
        .into_inner();
    let seq = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner()
        .last_seq;
    let again = desk
        .register(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again, "same registration, same ticket");
    let info = org
        .get_site_info(pb::GetSiteInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.last_seq, seq, "the retry logged nothing");
    assert_eq!(info.registrations, 1);

    // The same id for a different request is refused.
    let mut other = register_req(&p, 2);
    other.request_id = req.request_id.clone();
    let err = desk.register(other).await.expect_err("reused id");
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(err.message().contains("request_id"), "{}", err.message());
    site.stop().await;
}

#[tokio::test]
async fn cancelling_promotes_the_first_waiting_and_a_move_releases_the_old_seat() {
    let dir = temp_dir();
    let site = TestSite::start(config("volvic", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 1).await;
    create_challenge(&mut org, 2, 3).await;
    let mut desk = site.desk();
    let a = create_participant(&mut desk, "Anne").await;
    let b = create_participant(&mut desk, "Bruno").await;
    let c = create_participant(&mut desk, "Chloé").await;
    let ra = register(&mut desk, &a, 1).await;
    let rb = register(&mut desk, &b, 1).await;
    let rc = register(&mut desk, &c, 1).await;
    assert_eq!((rb.waitlist_position, rc.waitlist_position), (1, 2));

    // Anne moves to défi 2: her seat in défi 1 goes to Bruno, first in line.
    let err = desk
        .register(register_req(&a, 2))
        .await
        .expect_err("needs move");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("move"), "{}", err.message());
    let mut mv = register_req(&a, 2);
    mv.r#move = true;
    let moved = desk.register(mv).await.expect("move").into_inner();
    assert_eq!(
        moved.released.as_ref().map(|r| r.id.clone()),
        Some(ra.id.clone())
    );
    assert_eq!(ids(&moved.promoted), vec![rb.id.clone()]);

    // Bruno cancels by ticket: Chloé gets the seat.
    let cancelled = desk
        .cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::TicketCode(
                rb.ticket_code.to_lowercase(),
            )),
            ..Default::default()
        })
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(
        cancelled.registration.map(|r| r.state()),
        Some(pb::RegistrationState::Cancelled)
    );
    assert_eq!(ids(&cancelled.promoted), vec![rc.id.clone()]);
    let again = desk
        .cancel_registration(pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::RegistrationId(
                rb.id.clone(),
            )),
            ..Default::default()
        })
        .await
        .expect_err("already cancelled");
    assert_eq!(again.code(), Code::FailedPrecondition);

    let got = desk
        .get_participant(pb::GetParticipantRequest {
            participant_id: c.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        got.registration.map(|r| r.state()),
        Some(pb::RegistrationState::Confirmed)
    );
    let seats = org
        .get_challenge(pb::GetChallengeRequest { number: 1 })
        .await
        .expect("get")
        .into_inner()
        .seats
        .expect("seats");
    assert_eq!((seats.confirmed, seats.waitlisted), (1, 0));
    site.stop().await;
}

#[tokio::test]
async fn capacity_changes_promote_or_are_refused_and_stale_versions_are_refused() {
    let dir = temp_dir();
    let site = TestSite::start(config("macon", dir.path())).await;
    let mut org = site.organiser();
    let ch = create_challenge(&mut org, 3, 1).await;
    let mut desk = site.desk();
    for name in ["A", "B", "C"] {
        let p = create_participant(&mut desk, name).await;
        register(&mut desk, &p, 3).await;
    }
    let update = |version, capacity| pb::UpdateChallengeRequest {
        request_id: rid(),
        number: 3,
        expected_version: version,
        fields: Some(fields("Défi numéro 3 ?", capacity)),
    };
    let up = org
        .update_challenge(update(ch.version, 2))
        .await
        .expect("grow")
        .into_inner();
    assert_eq!(up.promoted.len(), 1);
    let v2 = up.challenge.expect("challenge").version;
    let err = org
        .update_challenge(update(v2, 1))
        .await
        .expect_err("shrink below confirmed");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("below the 2 confirmed"),
        "{}",
        err.message()
    );
    let err = org
        .update_challenge(update(ch.version, 5))
        .await
        .expect_err("stale");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("version"), "{}", err.message());
    site.stop().await;
}

#[tokio::test]
async fn check_in_is_idempotent_and_says_when_it_first_happened() {
    let dir = temp_dir();
    let site = TestSite::start(config("cluny", dir.path())).await;
    let mut org = site.organiser();
    create_challenge(&mut org, 1, 1).await;
    let mut desk = site.desk();
    let a = create_participant(&mut desk, "Anne").await;
    let b = create_participant(&mut desk, "Bruno").await;
    let ra = register(&mut desk, &a, 1).await;
    let rb = register(&mut desk, &b, 1).await;
    let check = |code: &str| pb::CheckInRequest {
        request_id: rid(),
        ticket_code: code.to_owned(),
    };
    let first = desk
        .check_in(check(&ra.ticket_code))
        .await
        .expect("check in")
        .into_inner();
    assert!(!first.already_checked_in);
    assert_eq!(first.participant_display_name, "Anne");
    // Typed without the dash, in lowercase, at another desk.
    let typed = ra.ticket_code.replace('-', "").to_lowercase();
    let second = desk
        .check_in(check(&typed))
        .await
        .expect("again")
        .into_inner();
    assert!(second.already_checked_in);
    let at = |r: &pb::CheckInResponse| r.registration.as_ref().map(|r| r.checked_in_at_ms);
    assert_eq!(at(&first), at(&second));
    assert!(at(&first).unwrap_or(0) > 0);
    let err = desk
        .check_in(check(&rb.ticket_code))
        .await
        .expect_err("waitlisted");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("waitlisted"), "{}", err.message());
    let seats = org
        .get_challenge(pb::GetChallengeRequest { number: 1 })
        .await
        .expect("get")
        .into_inner()
        .seats
        .expect("seats");
    assert_eq!(seats.checked_in, 1);
    site.stop().await;
}

/// The ids of some registrations, in order.
fn ids(rs: &[pb::Registration]) -> Vec<String> {
    rs.iter().map(|r| r.id.clone()).collect()
}
