//! The national program on the dashboard: every site's program items and mini-conferences
//! and the plenary's défis, as `ListNationalProgram` last served them; which changes of the
//! national feed make it out of date; which lines run now and which come next. Pure: the
//! client does the reading and says when it failed.

use std::time::Duration;

use agora_proto::v1 as pb;
use agora_sync::link_error::LinkCause;

/// One line of the national program: a site's program item or mini-conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramLine {
    pub site: String,
    /// [start_ms, end_ms), ms since the epoch.
    pub start_ms: i64,
    pub end_ms: i64,
    pub title: String,
    /// Empty: no room given.
    pub room: String,
    /// Set for a mini-conference.
    pub conference: Option<Speaker>,
}

/// Who gives a mini-conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaker {
    /// Their name when they consented to share it; empty otherwise.
    pub name: String,
    /// Their pseudonym: a change of this participant may change (or withdraw) the name.
    pub pseudonym: String,
}

/// A défi as the plenary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlenaryLine {
    pub site: String,
    pub number: u32,
    pub question: String,
    /// The year of the edition it comes from; 0: this edition.
    pub edition: u32,
}

/// Where a line of the program stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum When {
    Now,
    Next,
    Past,
}

impl ProgramLine {
    pub fn when(&self, now_ms: i64) -> When {
        if now_ms < self.start_ms {
            When::Next
        } else if now_ms < self.end_ms {
            When::Now
        } else {
            When::Past
        }
    }
}

/// Longest wait between two attempts while the program cannot be read.
const RETRY_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Program {
    /// By start time, then site (the order `ListNationalProgram` serves).
    pub lines: Vec<ProgramLine>,
    /// Every site's défis: those of past editions first.
    pub plenary: Vec<PlenaryLine>,
    /// Successful loads since start (0: never loaded, nothing to show yet).
    pub loads: u64,
    /// Why the last attempt failed; `None` when it succeeded. The lines stay those of the
    /// last load that succeeded.
    pub failed: Option<LinkCause>,
    /// Attempts failed in a row.
    pub failures: u32,
    /// A change of the feed touched the program since it was loaded.
    pub stale: bool,
}

impl Program {
    /// Replaces everything with what `ListNationalProgram` answered.
    pub fn load(&mut self, p: &pb::ListNationalProgramResponse) {
        use pb::national_program_entry::Entry;
        self.lines = p
            .entries
            .iter()
            .filter_map(|e| {
                // An item's and a conference's fields differ in type, not in what is shown.
                let line = |start_ms, end_ms, title: &str, room: &str, conference| ProgramLine {
                    site: e.site_id.clone(),
                    start_ms,
                    end_ms,
                    title: title.to_owned(),
                    room: room.to_owned(),
                    conference,
                };
                Some(match e.entry.as_ref()? {
                    Entry::Item(i) => {
                        let f = i.fields.as_ref()?;
                        line(f.start_ms, f.end_ms, &f.title, &f.room, None)
                    }
                    Entry::Conference(c) => {
                        let f = c.conference.as_ref()?.fields.as_ref()?;
                        let speaker = Speaker {
                            name: c.speaker_name.clone(),
                            pseudonym: f.speaker_participant_id.clone(),
                        };
                        line(f.start_ms, f.end_ms, &f.title, &f.room, Some(speaker))
                    }
                })
            })
            .collect();
        self.plenary = p
            .challenges
            .iter()
            .map(|c| PlenaryLine {
                site: c.site_id.clone(),
                number: c.number,
                question: c.question.clone(),
                edition: c.edition,
            })
            .collect();
        self.loads += 1;
        self.failed = None;
        self.failures = 0;
        self.stale = false;
    }

    /// A load failed: the last program stays, marked as not reloaded.
    pub fn load_failed(&mut self, cause: LinkCause) {
        self.failed = Some(cause);
        self.failures = self.failures.saturating_add(1);
    }

    /// Whether to read the program now, `since_last_try` after the last attempt: when it
    /// was never loaded, is out of date or failed to load, and, after failures, not before
    /// a wait that doubles from 1 s up to 30 s (a node that cannot serve it, an older one
    /// say, is not asked every second).
    pub fn due(&self, since_last_try: Duration) -> bool {
        let wanted = self.loads == 0 || self.stale || self.failed.is_some();
        wanted && since_last_try >= self.retry_delay()
    }

    fn retry_delay(&self) -> Duration {
        match self.failures {
            0 => Duration::ZERO,
            n => Duration::from_secs(1u64 << (n - 1).min(5)).min(RETRY_MAX),
        }
    }

    /// Whether a change of the national feed may change what `ListNationalProgram`
    /// serves: a program item added, edited or cancelled, a mini-conference, a défi (the
    /// plenary lists them), a site reset (its replica is rebuilt), or a change to a speaker
    /// (their name, shared or withdrawn, or erased).
    pub fn touched_by(&self, c: &pb::NationalChange) -> bool {
        use pb::event::Event as E;
        if c.announcement.is_some() {
            return false;
        }
        if c.site_reset {
            return true;
        }
        c.events.iter().any(|e| match &e.event {
            Some(
                E::ProgramItemAdded(_)
                | E::ProgramItemUpdated(_)
                | E::ProgramItemCancelled(_)
                | E::ConferenceUpserted(_)
                | E::ChallengeUpserted(_),
            ) => true,
            Some(E::ParticipantUpserted(p)) => self.is_speaker(&c.site_id, &p.id),
            Some(E::ParticipantErased(p)) => self.is_speaker(&c.site_id, &p.participant_id),
            Some(_) | None => false,
        })
    }

    fn is_speaker(&self, site: &str, pseudonym: &str) -> bool {
        self.lines.iter().any(|l| {
            l.site == site
                && l.conference
                    .as_ref()
                    .is_some_and(|s| s.pseudonym == pseudonym)
        })
    }

    /// Every line with where it stands at `now_ms`: those running now first, then those to
    /// come, then those over, each group by start time.
    pub fn by_now(&self, now_ms: i64) -> Vec<(&ProgramLine, When)> {
        let mut out: Vec<(&ProgramLine, When)> =
            self.lines.iter().map(|l| (l, l.when(now_ms))).collect();
        // Stable: each group keeps the served order (start time, then site).
        out.sort_by_key(|(_, w)| *w);
        out
    }

    /// How many lines run now and how many come next.
    pub fn now_and_next(&self, now_ms: i64) -> (u64, u64) {
        self.lines
            .iter()
            .fold((0, 0), |(now, next), l| match l.when(now_ms) {
                When::Now => (now + 1, next),
                When::Next => (now, next + 1),
                When::Past => (now, next),
            })
    }

    /// The défis of past editions the plenary shows (this edition's are the board's
    /// challenges).
    pub fn past_challenges(&self) -> impl Iterator<Item = &PlenaryLine> {
        self.plenary.iter().filter(|c| c.edition != 0)
    }
}

#[cfg(test)]
mod tests;
