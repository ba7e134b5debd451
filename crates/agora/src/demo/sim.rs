//! The simulated venue desks: participants arriving in waves and registering (some onto
//! waiting lists, some cancelling, some moving), mini-conferences filling up, check-ins.
//! Everything goes through the public gRPC API with a desk token, as a real desk would.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tonic::Code;

use agora_proto::v1 as pb;

use super::{SiteClient, rid};

/// Participants a desk registers at most, per site (the seed's 100–200 a day).
const MAX_PARTICIPANTS: usize = 200;

/// SplitMix64: a small, seedable generator; the demo does not need more.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct DeskStats {
    pub participants: u32,
    pub registrations: u32,
    pub waitlisted: u32,
    pub cancellations: u32,
    pub moves: u32,
    pub check_ins: u32,
    pub conference_registrations: u32,
    /// Refused by the rules (full, already registered...): expected now and then.
    pub refused: u32,
    /// Anything else: transport errors, internal errors.
    pub failures: u32,
}

struct Person {
    id: String,
    /// (registration id, ticket) of the active challenge registration.
    registration: Option<(String, String)>,
}

pub struct Desk {
    pub client: SiteClient,
    pub defis: Vec<u32>,
    pub conferences: Vec<u32>,
    pub rng: Rng,
    people: Vec<Person>,
    pub stats: DeskStats,
}

impl Desk {
    pub fn new(client: SiteClient, defis: Vec<u32>, conferences: Vec<u32>, seed: u64) -> Desk {
        Desk {
            client,
            defis,
            conferences,
            rng: Rng::new(seed),
            people: Vec::new(),
            stats: DeskStats::default(),
        }
    }

    fn note(&mut self, s: &tonic::Status) {
        match s.code() {
            Code::FailedPrecondition | Code::AlreadyExists | Code::NotFound => {
                self.stats.refused += 1
            }
            _ => self.stats.failures += 1,
        }
    }

    /// A popular défi more often than the others: the first ones of the list get most.
    fn pick_defi(&mut self) -> u32 {
        let n = self.defis.len();
        let i = self.rng.below(n * 2).min(self.rng.below(n * 2)) % n;
        self.defis[i]
    }

    /// Runs waves until `deadline` or `stop`.
    pub async fn run(mut self, deadline: Instant, mut stop: watch::Receiver<bool>) -> DeskStats {
        while Instant::now() < deadline && !*stop.borrow() {
            for _ in 0..1 + self.rng.below(3) {
                self.step().await;
            }
            let pause = Duration::from_millis(120 + self.rng.below(280) as u64);
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
        self.stats
    }

    async fn step(&mut self) {
        if self.people.len() < MAX_PARTICIPANTS {
            self.arrive().await;
        }
        if self.people.is_empty() {
            return;
        }
        let who = self.rng.below(self.people.len());
        let roll = self.rng.below(100);
        if roll < 8 {
            self.cancel(who).await;
        } else if roll < 16 {
            self.move_to_another(who).await;
        } else if roll < 50 {
            self.check_in(who).await;
        } else if roll < 75 {
            self.conference(who).await;
        }
    }

    async fn arrive(&mut self) {
        let n = self.people.len();
        let types = [
            pb::OrganisationType::Collectivity,
            pb::OrganisationType::Collectivity,
            pb::OrganisationType::State,
            pb::OrganisationType::Association,
            pb::OrganisationType::Research,
            pb::OrganisationType::Citizen,
        ];
        let req = pb::CreateParticipantRequest {
            request_id: rid(),
            display_name: format!("Participant·e {}", n + 1),
            organisation: "Collectivité".into(),
            organisation_type: types[self.rng.below(types.len())].into(),
            language: String::new(),
            email: String::new(),
            consent_share_name: self.rng.chance(0.3),
        };
        let id = match self.client.create_participant(req).await {
            Ok(r) => r.into_inner().participant.map(|p| p.id).unwrap_or_default(),
            Err(s) => return self.note(&s),
        };
        self.stats.participants += 1;
        self.people.push(Person {
            id,
            registration: None,
        });
        let defi = self.pick_defi();
        self.register(self.people.len() - 1, defi, false).await;
    }

    async fn register(&mut self, who: usize, defi: u32, move_: bool) {
        let req = pb::RegisterRequest {
            request_id: rid(),
            participant_id: self.people[who].id.clone(),
            challenge_number: defi,
            r#move: move_,
            conference_id: 0,
            site_id: String::new(),
        };
        match self.client.register(req).await {
            Ok(r) => {
                let Some(reg) = r.into_inner().registration else {
                    return;
                };
                if reg.state() == pb::RegistrationState::Waitlisted {
                    self.stats.waitlisted += 1;
                }
                self.stats.registrations += 1;
                if move_ {
                    self.stats.moves += 1;
                }
                self.people[who].registration = Some((reg.id, reg.ticket_code));
            }
            Err(s) => self.note(&s),
        }
    }

    async fn cancel(&mut self, who: usize) {
        let Some((id, _)) = self.people[who].registration.take() else {
            return;
        };
        let req = pb::CancelRegistrationRequest {
            request_id: rid(),
            key: Some(pb::cancel_registration_request::Key::RegistrationId(id)),
            ..Default::default()
        };
        match self.client.cancel_registration(req).await {
            Ok(_) => self.stats.cancellations += 1,
            Err(s) => self.note(&s),
        }
    }

    async fn move_to_another(&mut self, who: usize) {
        if self.people[who].registration.is_none() || self.defis.len() < 2 {
            return;
        }
        let defi = self.pick_defi();
        self.register(who, defi, true).await;
    }

    async fn check_in(&mut self, who: usize) {
        let Some((_, ticket)) = self.people[who].registration.clone() else {
            return;
        };
        let req = pb::CheckInRequest {
            request_id: rid(),
            ticket_code: ticket,
        };
        match self.client.check_in(req).await {
            Ok(r) => {
                if !r.into_inner().already_checked_in {
                    self.stats.check_ins += 1;
                }
            }
            Err(s) => self.note(&s),
        }
    }

    async fn conference(&mut self, who: usize) {
        if self.conferences.is_empty() {
            return;
        }
        let conference = self.conferences[self.rng.below(self.conferences.len())];
        let req = pb::RegisterRequest {
            request_id: rid(),
            participant_id: self.people[who].id.clone(),
            challenge_number: 0,
            r#move: false,
            conference_id: conference,
            site_id: String::new(),
        };
        match self.client.register(req).await {
            Ok(_) => self.stats.conference_registrations += 1,
            Err(s) => self.note(&s),
        }
    }
}
