//! Board tests: applying a stream of changes, and resuming after a reconnect.

use super::*;

fn overview() -> pb::GetOverviewResponse {
    pb::GetOverviewResponse {
        position: 10,
        sites: vec![pb::SiteSummary {
            site_id: "kehl".into(),
            name: "Kehl".into(),
            country: "DE".into(),
            partner: true,
            link: pb::LinkState::Connected.into(),
            registrations: 1,
            ..Default::default()
        }],
        challenges: vec![pb::NationalChallenge {
            site_id: "kehl".into(),
            challenge: Some(pb::Challenge {
                number: 19,
                title: "Jeunes migrants ?".into(),
                capacity: 2,
                themes: vec!["t".into()],
                ..Default::default()
            }),
            seats: Some(pb::SeatCounts {
                capacity: 2,
                confirmed: 1,
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn reg(
    position: u64,
    kind: pb::RegistrationEventKind,
    confirmed_at: i64,
    checked_in_at: i64,
) -> pb::NationalChange {
    pb::NationalChange {
        position,
        site_id: "kehl".into(),
        site_seq: position,
        events: vec![pb::Event {
            event: Some(pb::event::Event::Registration(pb::RegistrationEvent {
                kind: kind.into(),
                registration: Some(pb::Registration {
                    challenge_number: 19,
                    confirmed_at_ms: confirmed_at,
                    checked_in_at_ms: checked_in_at,
                    ..Default::default()
                }),
            })),
        }],
        ..Default::default()
    }
}

fn check(b: &Board, expected: (u32, u32, u32)) {
    let r = &b.challenges[&("kehl".to_owned(), 19)];
    assert_eq!((r.confirmed, r.waitlisted, r.checked_in), expected);
}

#[test]
fn a_stream_of_changes_moves_the_counts() {
    use pb::RegistrationEventKind as K;
    let mut b = Board::default();
    b.load_overview(&overview());
    check(&b, (1, 0, 0));
    assert!(b.apply(&reg(11, K::Confirmed, 5, 0)));
    assert!(b.apply(&reg(12, K::Waitlisted, 0, 0)));
    check(&b, (2, 1, 0));
    assert!(b.apply(&reg(13, K::CheckedIn, 5, 6)));
    // A checked-in registration is cancelled: its seat and check-in go; the first waiting
    // one is promoted.
    assert!(b.apply(&reg(14, K::Cancelled, 5, 6)));
    assert!(b.apply(&reg(15, K::Promoted, 7, 0)));
    check(&b, (2, 0, 0));
    // A waiting registration cancelled.
    assert!(b.apply(&reg(16, K::Waitlisted, 0, 0)));
    assert!(b.apply(&reg(17, K::Cancelled, 0, 0)));
    check(&b, (2, 0, 0));
    assert_eq!(b.sites["kehl"].registrations, 2);
    assert_eq!(b.feed.len(), 7);
    assert_eq!(b.feed[0].kind, FeedKind::Registered);
    assert_eq!(b.position, 17);
}

#[test]
fn resuming_after_a_reconnect_neither_loses_nor_repeats_lines() {
    use pb::RegistrationEventKind as K;
    let mut b = Board::default();
    b.load_overview(&overview());
    for p in 11..=13 {
        b.apply(&reg(p, K::Waitlisted, 0, 0));
    }
    // The connection drops; the feed resumes from b.position, but a server may resend
    // what it had in flight: those positions are ignored.
    b.resumes += 1;
    let resent: Vec<_> = (12..=15).map(|p| reg(p, K::Waitlisted, 0, 0)).collect();
    let applied: Vec<bool> = resent.iter().map(|c| b.apply(c)).collect();
    assert_eq!(applied, vec![false, false, true, true]);
    let positions: Vec<u64> = b.feed.iter().map(|l| l.position).collect();
    assert_eq!(positions, vec![11, 12, 13, 14, 15]);
    check(&b, (1, 5, 0));
}

#[test]
fn a_site_reset_forgets_its_challenges_and_the_feed_is_bounded() {
    let mut b = Board::default();
    b.load_overview(&overview());
    b.apply(&pb::NationalChange {
        position: 11,
        site_id: "kehl".into(),
        site_reset: true,
        ..Default::default()
    });
    assert!(b.challenges.is_empty());
    for p in 12..(12 + FEED_LINES as u64 + 5) {
        b.apply(&pb::NationalChange {
            position: p,
            site_id: "kehl".into(),
            ..Default::default()
        });
    }
    assert_eq!(b.feed.len(), FEED_LINES);
}

/// Regression (issue 22): Mâcon showed "lag 0" while offline. Offline, the lag is at least
/// what the site was behind its last announced head, or unknown if it announced none.
#[test]
fn an_offline_site_has_no_exact_lag() {
    let mut o = overview();
    o.sites[0].link = pb::LinkState::Offline.into();
    o.sites[0].lag = 0;
    o.sites[0].site_last_seq = 0;
    let mut b = Board::default();
    b.load_overview(&o);
    assert_eq!(b.sites["kehl"].lag, Lag::Unknown);
    o.sites[0].site_last_seq = 41_000;
    o.sites[0].lag = 39_999;
    b.load_overview(&o);
    assert_eq!(b.sites["kehl"].lag, Lag::AtLeast(39_999));
    o.sites[0].link = pb::LinkState::Lagging.into();
    o.sites[0].lag = 3000;
    b.load_overview(&o);
    assert_eq!(b.sites["kehl"].lag, Lag::Known(3000));
}
