//! What the desk's pages show, as plain values, and their askama templates
//! (`templates/*.html`, compiled into the binary and escaped by default).

use askama::Template;

use agora_model::schedule::Utc;
use agora_model::{Challenge, Conference, Registration, RegistrationState, SeatPool, Target};

use crate::i18n::{Lang, ORG_TYPES, Texts};
use crate::session::Notice;

/// Common to every page: language, labels, header.
pub struct Frame {
    pub lang: Lang,
    pub t: &'static Texts,
    pub site: String,
    /// The page's path, for the language links.
    pub path: String,
    /// This session's anti-forgery token; empty when logged out.
    pub csrf: String,
    pub notice: Option<NoticeView>,
}

pub struct NoticeView {
    pub class: &'static str,
    pub alert: bool,
    pub text: String,
    pub at: Option<TimeView>,
}

impl From<Notice> for NoticeView {
    fn from(n: Notice) -> Self {
        NoticeView {
            class: n.tone.class(),
            alert: n.tone == crate::session::Tone::Refused,
            text: n.text,
            at: n.at_ms.map(TimeView::new),
        }
    }
}

/// A moment: ISO 8601 for the browser to show in local time, and a UTC fallback.
pub struct TimeView {
    pub iso: String,
    pub utc: String,
    pub day_utc: String,
}

impl TimeView {
    pub fn new(ms: i64) -> Self {
        let s = Utc(ms).to_string(); // "2026-09-14 09:00 UTC"
        TimeView {
            iso: format!("{}T{}:00Z", &s[..10], &s[11..16]),
            utc: format!("{} UTC", &s[11..16]),
            day_utc: s,
        }
    }
}

impl Frame {
    pub fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.name(), *l == self.lang))
            .collect()
    }

    /// A fresh request id for one form: a double tap or a retry sends the same one back,
    /// and the store answers it once.
    pub fn rid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A défi or a mini-conference in a table, with its live seat counts.
pub struct TargetRow {
    /// `c7` for challenge 7, `k2` for conference 2: the key of the live counts.
    pub key: String,
    pub id: u32,
    pub title: String,
    pub themes: String,
    pub room: String,
    pub when: Option<TimeView>,
    pub capacity: u32,
    pub left: u32,
    pub waiting: u32,
    pub open: bool,
    /// The shown participant's own registration is here.
    pub mine: bool,
    /// Chosen beforehand (a poster's QR code, `?defi=`).
    pub chosen: bool,
}

impl TargetRow {
    pub fn challenge(c: &Challenge, p: &SeatPool, theme_label: impl Fn(&str) -> String) -> Self {
        TargetRow {
            key: format!("c{}", c.number),
            id: c.number,
            title: c.fields.title.clone(),
            themes: c
                .fields
                .themes
                .iter()
                .map(|t| theme_label(t))
                .collect::<Vec<_>>()
                .join(", "),
            room: c.fields.room.clone(),
            when: None,
            capacity: p.capacity,
            left: p.seats_left(),
            waiting: p.waitlisted,
            open: c.fields.status == agora_model::ChallengeStatus::Open,
            mine: false,
            chosen: false,
        }
    }

    pub fn conference(c: &Conference, p: &SeatPool) -> Self {
        TargetRow {
            key: format!("k{}", c.id),
            id: c.id,
            title: c.fields.title.clone(),
            themes: String::new(),
            room: c.fields.room.clone(),
            when: Some(TimeView::new(c.fields.start_ms)),
            capacity: p.capacity,
            left: p.seats_left(),
            waiting: p.waitlisted,
            open: true,
            mine: false,
            chosen: false,
        }
    }

    pub fn full(&self) -> bool {
        self.left == 0
    }
}

/// The key of a target's live counts.
pub fn seat_key(t: Target) -> String {
    match t {
        Target::Challenge(n) => format!("c{n}"),
        Target::Conference(n) => format!("k{n}"),
    }
}

/// One of the participant's registrations.
pub struct RegView {
    pub id: String,
    pub target: String,
    pub title: String,
    pub state: &'static str,
    pub waiting: bool,
    pub position: u32,
    pub ticket: String,
    pub checked_in: Option<TimeView>,
}

impl RegView {
    pub fn new(lang: Lang, r: &Registration, title: String, position: Option<u32>) -> Self {
        RegView {
            id: r.id.to_string(),
            target: lang.label(r.target),
            title,
            state: lang.state(r.state),
            waiting: r.state == RegistrationState::Waitlisted,
            position: position.unwrap_or(0),
            ticket: r.ticket.to_string(),
            checked_in: r.checked_in_at_ms.map(TimeView::new),
        }
    }
}

pub struct PersonView {
    pub id: String,
    pub name: String,
    pub organisation: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub f: Frame,
    pub refused: bool,
    pub throttled: bool,
    /// The défi a poster's QR code chose, carried through the login.
    pub defi: Option<u32>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub f: Frame,
    pub query: String,
    pub searched: bool,
    pub found: Vec<PersonView>,
    /// The défi chosen beforehand, carried by the new-person form; empty if none.
    pub chosen: String,
    pub challenges: Vec<TargetRow>,
    pub conferences: Vec<TargetRow>,
    pub org_types: Vec<(usize, &'static str)>,
}

impl HomePage {
    pub fn org_types(t: &Texts) -> Vec<(usize, &'static str)> {
        ORG_TYPES
            .iter()
            .enumerate()
            .map(|(i, _)| (i, t.org_types[i]))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "participant.html")]
pub struct ParticipantPage {
    pub f: Frame,
    pub person: PersonView,
    pub current: Option<RegView>,
    pub conference_regs: Vec<RegView>,
    pub alternatives: Vec<TargetRow>,
    /// Other sites' challenges with seats on the same theme (from the national directory),
    /// after this site's: to tell about, not to register for here.
    pub elsewhere: Vec<RemoteRow>,
    /// The person's request for another site's défi, as it stands (`desk::remote`).
    pub remote: Option<RemoteView>,
    /// Other sites' défis open to registrations from this one (from the directory).
    pub open_remote: Vec<OpenRemoteRow>,
    pub challenges: Vec<TargetRow>,
    pub conferences: Vec<TargetRow>,
}

/// A request for another site's défi: what its owner answered, in words.
pub struct RemoteView {
    pub text: String,
    /// `confirmed`, `waiting`, `refused` or `pending`: the look of the line.
    pub tone: &'static str,
    pub pending: bool,
}

/// Another site's défi that takes registrations from this site.
pub struct OpenRemoteRow {
    pub site: String,
    pub site_name: String,
    pub id: u32,
    pub title: String,
    pub themes: String,
    pub left: u32,
}

/// Another site's challenge offered as an alternative.
pub struct RemoteRow {
    pub site: String,
    pub id: u32,
    pub title: String,
    pub themes: String,
    pub left: u32,
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub f: Frame,
    pub person: PersonView,
    pub reg: RegView,
    pub qr: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub f: Frame,
    pub title: String,
}
