//! The national dashboard's state: loaded from an overview, then moved forward by the
//! national feed, change by change, each national position applied once. Pure (no IO):
//! the terminal dashboard (`agora-dashboard`) and the national web page (`agora-web`) both
//! hold one. The national program ([`program`]) is read apart; the feed marks it stale.

pub mod program;

use std::collections::{BTreeMap, VecDeque};

use agora_proto::v1 as pb;
use agora_sync::link_error::LinkCause;

pub use program::{PlenaryLine, Program, ProgramLine, Speaker, When};

/// Lines of the live feed kept.
pub const FEED_LINES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub partner: bool,
    pub link: pb::LinkState,
    /// Records the national node is behind the site (see [`site_lag`]).
    pub lag: Lag,
    /// When the national node last heard from the site (ms since the epoch; 0: not since
    /// it started).
    pub last_seen_ms: i64,
    pub participants: u32,
    pub registrations: u32,
    pub checked_in: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    pub site: String,
    pub number: u32,
    pub title: String,
    pub themes: Vec<String>,
    pub capacity: u32,
    pub confirmed: u32,
    pub waitlisted: u32,
    pub checked_in: u32,
}

impl ChallengeRow {
    pub fn seats_left(&self) -> u32 {
        self.capacity.saturating_sub(self.confirmed)
    }
    /// Confirmed over capacity, 0.0..=1.0.
    pub fn fill(&self) -> f64 {
        if self.capacity == 0 {
            0.0
        } else {
            f64::from(self.confirmed.min(self.capacity)) / f64::from(self.capacity)
        }
    }
}

/// What a feed line says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedKind {
    Registered,
    Waitlisted,
    Promoted,
    Cancelled,
    CheckedIn,
    ChallengeUpdated,
    NewParticipant,
    ThemeAdded,
    SiteReset,
    SiteJoined,
    Announcement(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLine {
    pub position: u64,
    pub at_ms: i64,
    pub site: String,
    pub kind: FeedKind,
    /// The challenge concerned, if any.
    pub challenge: Option<u32>,
}

/// The link between the dashboard and the national node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// Lost or never made; retrying.
    Reconnecting {
        /// Attempts failed in a row.
        attempt: u32,
        /// The national node's address, as given.
        address: String,
        /// Why the last attempt failed.
        cause: LinkCause,
    },
}

#[derive(Debug, Clone)]
pub struct Board {
    /// National position of the last change applied.
    pub position: u64,
    pub sites: BTreeMap<String, SiteRow>,
    pub challenges: BTreeMap<(String, u32), ChallengeRow>,
    pub theme_labels: BTreeMap<String, String>,
    pub feed: VecDeque<FeedLine>,
    pub connection: Connection,
    /// How many times the feed resumed after a lost connection.
    pub resumes: u32,
    /// Changes applied since start.
    pub applied: u64,
    /// The national program, read apart (`ListNationalProgram`): the feed only says when it
    /// is out of date.
    pub program: Program,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            position: 0,
            sites: BTreeMap::new(),
            challenges: BTreeMap::new(),
            theme_labels: BTreeMap::new(),
            feed: VecDeque::new(),
            connection: Connection::Connecting,
            resumes: 0,
            applied: 0,
            program: Program::default(),
        }
    }
}

/// How far the national node is behind a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// While the site is linked: what the national node has not applied yet.
    Known(u64),
    /// Offline: behind the last head the site announced, and the site may have written
    /// more since.
    AtLeast(u64),
    /// Offline, and the national node never heard a head from it since it started.
    Unknown,
}

/// A site's lag: exact while linked; offline, at least what it was behind the last head
/// the site announced (the national node keeps it, `site_last_seq`), or unknown.
pub fn site_lag(s: &pb::SiteSummary) -> Lag {
    match s.link() {
        pb::LinkState::Connected | pb::LinkState::Lagging => Lag::Known(s.lag),
        _ if s.site_last_seq > 0 => Lag::AtLeast(s.lag),
        _ => Lag::Unknown,
    }
}

fn challenge_row(site: &str, c: &pb::Challenge, seats: Option<&pb::SeatCounts>) -> ChallengeRow {
    let s = seats.copied().unwrap_or_default();
    ChallengeRow {
        site: site.to_owned(),
        number: c.number,
        title: c.title.clone(),
        themes: c.themes.clone(),
        capacity: c.capacity,
        confirmed: s.confirmed,
        waitlisted: s.waitlisted,
        checked_in: s.checked_in,
    }
}

/// The feed lines of one change of the national feed, in order: what [`Board::apply`]
/// adds to the feed, for a reader that only shows the feed (a web page resuming a stream).
pub fn feed_lines(c: &pb::NationalChange) -> Vec<FeedLine> {
    let line = |kind, challenge| FeedLine {
        position: c.position,
        at_ms: c.at_ms,
        site: c.site_id.clone(),
        kind,
        challenge,
    };
    if let Some(a) = &c.announcement {
        return vec![line(FeedKind::Announcement(a.text.clone()), None)];
    }
    if c.site_reset {
        return vec![line(FeedKind::SiteReset, None)];
    }
    if c.events.is_empty() {
        return vec![line(FeedKind::SiteJoined, None)];
    }
    let mut out = Vec::new();
    for e in &c.events {
        use pb::RegistrationEventKind as K;
        use pb::event::Event as E;
        match &e.event {
            Some(E::ThemeAdded(_)) => out.push(line(FeedKind::ThemeAdded, None)),
            Some(E::ChallengeUpserted(ch)) => {
                out.push(line(FeedKind::ChallengeUpdated, Some(ch.number)));
            }
            Some(E::ParticipantUpserted(_)) => out.push(line(FeedKind::NewParticipant, None)),
            Some(E::Registration(r)) => {
                let Some(reg) = &r.registration else { continue };
                let kind = match r.kind() {
                    K::Confirmed => FeedKind::Registered,
                    K::Waitlisted => FeedKind::Waitlisted,
                    K::Promoted => FeedKind::Promoted,
                    K::Cancelled => FeedKind::Cancelled,
                    K::CheckedIn => FeedKind::CheckedIn,
                    K::Unspecified => FeedKind::ChallengeUpdated,
                };
                out.push(line(kind, Some(reg.challenge_number)));
            }
            Some(_) | None => {}
        }
    }
    out
}

impl Board {
    /// Replaces everything with an overview (a consistent snapshot at `o.position`).
    pub fn load_overview(&mut self, o: &pb::GetOverviewResponse) {
        self.position = o.position;
        self.update_sites(&o.sites);
        self.challenges = o
            .challenges
            .iter()
            .filter_map(|c| {
                let ch = c.challenge.as_ref()?;
                Some((
                    (c.site_id.clone(), ch.number),
                    challenge_row(&c.site_id, ch, c.seats.as_ref()),
                ))
            })
            .collect();
        for t in &o.themes {
            self.theme_labels
                .insert(t.theme_id.clone(), t.label.clone());
        }
        // A fresh overview means changes were skipped, some maybe to the program.
        self.program.stale = true;
    }

    /// Takes the sites' link states and counts from a listing.
    pub fn update_sites(&mut self, sites: &[pb::SiteSummary]) {
        self.sites = sites
            .iter()
            .map(|s| {
                (
                    s.site_id.clone(),
                    SiteRow {
                        id: s.site_id.clone(),
                        name: s.name.clone(),
                        country: s.country.clone(),
                        partner: s.partner,
                        link: s.link(),
                        lag: site_lag(s),
                        last_seen_ms: s.last_seen_ms,
                        participants: s.participants,
                        registrations: s.registrations,
                        checked_in: s.checked_in,
                    },
                )
            })
            .collect();
    }

    /// Applies one change of the national feed. A position already applied is ignored
    /// (returns false): after a reconnect nothing is counted twice.
    pub fn apply(&mut self, c: &pb::NationalChange) -> bool {
        if c.position <= self.position {
            return false;
        }
        self.position = c.position;
        self.applied += 1;
        if self.program.touched_by(c) {
            self.program.stale = true;
        }
        if c.announcement.is_some() {
            // Only a line.
        } else if c.site_reset {
            self.challenges.retain(|(site, _), _| *site != c.site_id);
        } else {
            for e in &c.events {
                use pb::event::Event as E;
                match &e.event {
                    Some(E::ThemeAdded(t)) => {
                        self.theme_labels.insert(t.id.clone(), t.label.clone());
                    }
                    Some(E::ChallengeUpserted(ch)) => {
                        let key = (c.site_id.clone(), ch.number);
                        let seats = self.challenges.get(&key).map(|r| pb::SeatCounts {
                            confirmed: r.confirmed,
                            waitlisted: r.waitlisted,
                            checked_in: r.checked_in,
                            ..Default::default()
                        });
                        self.challenges
                            .insert(key, challenge_row(&c.site_id, ch, seats.as_ref()));
                    }
                    Some(E::ParticipantUpserted(_)) => {
                        if let Some(s) = self.sites.get_mut(&c.site_id) {
                            s.participants += 1;
                        }
                    }
                    Some(E::Registration(r)) => {
                        if let Some(reg) = &r.registration {
                            self.count(&c.site_id, r.kind(), reg);
                        }
                    }
                    // The program and conferences are served apart (ListNationalProgram,
                    // marked stale above); the other kinds stay on their site.
                    Some(_) | None => {}
                }
            }
        }
        for l in feed_lines(c) {
            self.push(l);
        }
        true
    }

    /// Moves the counts of one registration event; the event says what the registration
    /// was before (a cancelled one that had been confirmed carries `confirmed_at_ms`).
    fn count(&mut self, site: &str, kind: pb::RegistrationEventKind, r: &pb::Registration) {
        use pb::RegistrationEventKind as K;
        let row = self
            .challenges
            .get_mut(&(site.to_owned(), r.challenge_number));
        let site_row = self.sites.get_mut(site);
        let (d_conf, d_wait, d_in, d_active): (i64, i64, i64, i64) = match kind {
            K::Confirmed => (1, 0, 0, 1),
            K::Waitlisted => (0, 1, 0, 1),
            K::Promoted => (1, -1, 0, 0),
            K::Cancelled => {
                let was_confirmed = r.confirmed_at_ms != 0;
                let was_in = r.checked_in_at_ms != 0;
                (
                    -i64::from(was_confirmed),
                    -i64::from(!was_confirmed),
                    -i64::from(was_in),
                    -1,
                )
            }
            K::CheckedIn => (0, 0, 1, 0),
            K::Unspecified => (0, 0, 0, 0),
        };
        let add = |v: &mut u32, d: i64| {
            *v = u32::try_from((i64::from(*v) + d).max(0)).unwrap_or(u32::MAX)
        };
        if let Some(row) = row {
            add(&mut row.confirmed, d_conf);
            add(&mut row.waitlisted, d_wait);
            add(&mut row.checked_in, d_in);
        }
        if let Some(s) = site_row {
            add(&mut s.registrations, d_active);
            add(&mut s.checked_in, d_in);
        }
    }

    fn push(&mut self, l: FeedLine) {
        if self.feed.len() == FEED_LINES {
            self.feed.pop_front();
        }
        self.feed.push_back(l);
    }

    /// Demand against seats per theme: (theme id, seats, confirmed, waitlisted).
    pub fn theme_totals(&self) -> Vec<(String, u32, u32, u32)> {
        let mut t: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
        for c in self.challenges.values() {
            for th in &c.themes {
                let e = t.entry(th).or_default();
                e.0 += c.capacity;
                e.1 += c.confirmed;
                e.2 += c.waitlisted;
            }
        }
        t.into_iter()
            .map(|(k, (a, b, c))| (k.to_owned(), a, b, c))
            .collect()
    }

    pub fn site_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.sites.get(id).map_or(id, |s| s.name.as_str())
    }
}

#[cfg(test)]
mod tests;
