//! Labels, French first (the event's language) and English.

use crate::board::{Connection, FeedKind};
use agora_proto::v1::LinkState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn pick(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    pub fn title(self) -> &'static str {
        self.pick(
            "Université européenne de l'innovation publique territoriale",
            "European university of territorial public innovation",
        )
    }
    pub fn sites(self) -> &'static str {
        self.pick("Sites", "Sites")
    }
    pub fn challenges(self) -> &'static str {
        self.pick("Défis", "Challenges")
    }
    pub fn themes(self) -> &'static str {
        self.pick("Thèmes", "Themes")
    }
    pub fn feed(self) -> &'static str {
        self.pick("En direct", "Live feed")
    }
    pub fn partner(self) -> &'static str {
        self.pick("partenaire", "partner")
    }
    pub fn columns_sites(self) -> [&'static str; 7] {
        match self {
            Lang::Fr => [
                "Site",
                "Pays",
                "Lien",
                "Retard",
                "Participants",
                "Inscrits",
                "Arrivés",
            ],
            Lang::En => [
                "Site",
                "Country",
                "Link",
                "Lag",
                "Participants",
                "Registered",
                "Checked in",
            ],
        }
    }
    pub fn columns_challenges(self) -> [&'static str; 6] {
        match self {
            Lang::Fr => [
                "Site",
                "Défi",
                "Remplissage",
                "Places",
                "Attente",
                "Question",
            ],
            Lang::En => ["Site", "No.", "Fill", "Left", "Waiting", "Question"],
        }
    }
    pub fn columns_themes(self) -> [&'static str; 4] {
        match self {
            Lang::Fr => ["Thème", "Places", "Confirmés", "En attente"],
            Lang::En => ["Theme", "Seats", "Confirmed", "Waiting"],
        }
    }
    pub fn link(self, l: LinkState) -> &'static str {
        match l {
            LinkState::Connected => self.pick("connecté", "connected"),
            LinkState::Lagging => self.pick("en retard", "lagging"),
            LinkState::Offline | LinkState::Unspecified => self.pick("hors ligne", "offline"),
            LinkState::Revoked => self.pick("révoqué", "revoked"),
        }
    }
    pub fn connection(self, c: Connection) -> String {
        match c {
            Connection::Connecting => self.pick("connexion…", "connecting…").to_owned(),
            Connection::Live => self.pick("en direct", "live").to_owned(),
            Connection::Reconnecting(n) => match self {
                Lang::Fr => format!("connexion perdue, nouvelle tentative ({n})…"),
                Lang::En => format!("connection lost, retrying ({n})…"),
            },
        }
    }
    pub fn resumed(self, n: u32) -> String {
        match self {
            Lang::Fr => format!("reprise du flux ×{n}, sans perte ni doublon"),
            Lang::En => format!("feed resumed ×{n}, nothing lost or repeated"),
        }
    }
    pub fn kind(self, k: &FeedKind) -> String {
        let s = match k {
            FeedKind::Registered => self.pick("inscription", "registration"),
            FeedKind::Waitlisted => self.pick("liste d'attente", "waiting list"),
            FeedKind::Promoted => {
                self.pick("place libérée → confirmé", "promoted from waiting list")
            }
            FeedKind::Cancelled => self.pick("désinscription", "cancellation"),
            FeedKind::CheckedIn => self.pick("arrivée", "check-in"),
            FeedKind::ChallengeUpdated => self.pick("défi publié", "challenge published"),
            FeedKind::NewParticipant => self.pick("nouveau participant", "new participant"),
            FeedKind::ThemeAdded => self.pick("nouveau thème", "new theme"),
            FeedKind::SiteReset => self.pick("site resynchronisé", "site resynchronised"),
            FeedKind::SiteJoined => self.pick("site rejoint l'événement", "site joined the event"),
            FeedKind::Announcement(text) => {
                return format!("{} : {text}", self.pick("annonce", "announcement"));
            }
        };
        s.to_owned()
    }
    pub fn challenge(self, n: u32) -> String {
        match self {
            Lang::Fr => format!("défi {n}"),
            Lang::En => format!("challenge {n}"),
        }
    }
    pub fn keys(self) -> &'static str {
        self.pick(
            "q quitter · tab panneau · o tri · s site · t thème",
            "q quit · tab panel · o sort · s site · t theme",
        )
    }
    pub fn sort(self, s: crate::tui::Sort) -> &'static str {
        use crate::tui::Sort;
        match s {
            Sort::Fill => self.pick("tri : remplissage", "sort: fill rate"),
            Sort::Site => self.pick("tri : site", "sort: site"),
            Sort::Theme => self.pick("tri : thème", "sort: theme"),
        }
    }
    pub fn all(self) -> &'static str {
        self.pick("tous", "all")
    }
    pub fn summary(self, b: &crate::board::Board) -> String {
        let (mut seats, mut conf, mut wait) = (0, 0, 0);
        for c in b.challenges.values() {
            seats += c.capacity;
            conf += c.confirmed;
            wait += c.waitlisted;
        }
        let checked: u32 = b.sites.values().map(|s| s.checked_in).sum();
        let online = b
            .sites
            .values()
            .filter(|s| matches!(s.link, LinkState::Connected | LinkState::Lagging))
            .count();
        match self {
            Lang::Fr => format!(
                "position {} · sites {online}/{} en ligne · défis {} · places {seats} · confirmés {conf} · en attente {wait} · arrivés {checked}",
                b.position,
                b.sites.len(),
                b.challenges.len()
            ),
            Lang::En => format!(
                "position {} · sites {online}/{} online · challenges {} · seats {seats} · confirmed {conf} · waiting {wait} · checked in {checked}",
                b.position,
                b.sites.len(),
                b.challenges.len()
            ),
        }
    }
}
