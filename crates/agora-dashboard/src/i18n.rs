//! Labels, French first (the event's language), English and German. The full screen and
//! `--plain` take their words from here, so both say the same thing.

use agora_proto::v1::LinkState;
use agora_sync::link_error::LinkCause;

use crate::board::{Board, Connection, FeedKind, Program, ProgramLine, When};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::En, Lang::De];

    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    fn pick(self, fr: &'static str, en: &'static str, de: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
            Lang::De => de,
        }
    }

    /// `n` and its noun, singular or plural by the language's rule (French: 0 and 1 take
    /// the singular).
    pub fn count(self, n: u64, one: &str, many: &str) -> String {
        format!("{n} {}", self.noun(n, one, many))
    }
    /// The noun for `n` things: `one` or `many`.
    pub fn noun<'a>(self, n: u64, one: &'a str, many: &'a str) -> &'a str {
        let singular = match self {
            Lang::Fr => n <= 1,
            Lang::En | Lang::De => n == 1,
        };
        if singular { one } else { many }
    }

    pub fn title(self) -> &'static str {
        self.pick(
            "Université européenne de l'innovation publique territoriale",
            "European university of territorial public innovation",
            "Europäische Universität für territoriale öffentliche Innovation",
        )
    }
    pub fn sites(self) -> &'static str {
        self.pick("Sites", "Sites", "Standorte")
    }
    pub fn challenges(self) -> &'static str {
        self.pick("Défis", "Challenges", "Challenges")
    }
    pub fn themes(self) -> &'static str {
        self.pick("Thèmes", "Themes", "Themen")
    }
    pub fn feed(self) -> &'static str {
        self.pick("En direct", "Live feed", "Live")
    }
    pub fn partner(self) -> &'static str {
        self.pick("partenaire", "partner", "Partner")
    }
    /// A site's name as the tables and the feed show it.
    pub fn site_label(self, name: &str, partner: bool) -> String {
        if partner {
            format!("{name} · {}", self.partner())
        } else {
            name.to_owned()
        }
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
            Lang::De => [
                "Standort",
                "Land",
                "Verbindung",
                "Rückstand",
                "Teilnehmende",
                "Anmeldungen",
                "Anwesend",
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
            Lang::De => ["Standort", "Nr.", "Belegung", "Frei", "Wartend", "Frage"],
        }
    }
    pub fn columns_themes(self) -> [&'static str; 4] {
        match self {
            Lang::Fr => ["Thème", "Places", "Confirmés", "En attente"],
            Lang::En => ["Theme", "Seats", "Confirmed", "Waiting"],
            Lang::De => ["Thema", "Plätze", "Bestätigt", "Wartend"],
        }
    }
    pub fn link(self, l: LinkState) -> &'static str {
        match l {
            LinkState::Connected => self.pick("connecté", "connected", "verbunden"),
            LinkState::Lagging => self.pick("en retard", "lagging", "verzögert"),
            LinkState::Offline | LinkState::Unspecified => {
                self.pick("hors ligne", "offline", "getrennt")
            }
            LinkState::Revoked => self.pick("révoqué", "revoked", "widerrufen"),
        }
    }
    /// A site's lag in records; unknown (`?`) while the site is offline.
    pub fn lag(self, lag: crate::board::Lag) -> String {
        use crate::board::Lag;
        match lag {
            Lag::Known(n) => n.to_string(),
            Lag::AtLeast(n) => format!("≥{n}"),
            Lag::Unknown => "?".to_owned(),
        }
    }
    /// Why the dashboard's link to the national node failed.
    pub fn cause(self, c: &LinkCause) -> String {
        let s = match c {
            LinkCause::Refused => self.pick(
                "connexion refusée",
                "connection refused",
                "Verbindung abgelehnt",
            ),
            LinkCause::Reset => self.pick(
                "connexion coupée",
                "connection reset",
                "Verbindung zurückgesetzt",
            ),
            LinkCause::Closed => self.pick(
                "connexion fermée",
                "connection closed",
                "Verbindung geschlossen",
            ),
            LinkCause::TimedOut => self.pick("délai dépassé", "timed out", "Zeitüberschreitung"),
            LinkCause::Tls => self.pick("échec TLS", "TLS failed", "TLS-Fehler"),
            LinkCause::TokenRefused => {
                self.pick("jeton refusé", "token refused", "Token abgelehnt")
            }
            LinkCause::NotAllowed => self.pick("accès refusé", "not allowed", "nicht erlaubt"),
            LinkCause::UnknownHost => self.pick("hôte inconnu", "unknown host", "unbekannter Host"),
            LinkCause::BadAddress => {
                self.pick("adresse invalide", "invalid address", "ungültige Adresse")
            }
            LinkCause::Unavailable => self.pick("indisponible", "unavailable", "nicht verfügbar"),
            LinkCause::Other(s) => return s.clone(),
        };
        s.to_owned()
    }
    pub fn connection(self, c: &Connection) -> String {
        match c {
            Connection::Connecting => self
                .pick("connexion…", "connecting…", "verbinde…")
                .to_owned(),
            Connection::Live => self.pick("en direct", "live", "live").to_owned(),
            Connection::Reconnecting {
                attempt,
                address,
                cause,
            } => {
                let cause = self.cause(cause);
                match self {
                    Lang::Fr => {
                        format!("nœud national {address} injoignable ({cause}), essai {attempt}…")
                    }
                    Lang::En => {
                        format!("national node {address} unreachable ({cause}), retry {attempt}…")
                    }
                    Lang::De => {
                        format!(
                            "Nationalknoten {address} unerreichbar ({cause}), Versuch {attempt}…"
                        )
                    }
                }
            }
        }
    }
    pub fn resumed(self, n: u32) -> String {
        match self {
            Lang::Fr => format!("flux repris ×{n}, sans perte ni doublon"),
            Lang::En => format!("feed resumed ×{n}, nothing lost or repeated"),
            Lang::De => format!("Feed fortgesetzt ×{n}, nichts verloren oder doppelt"),
        }
    }
    pub fn kind(self, k: &FeedKind) -> String {
        let s = match k {
            FeedKind::Registered => self.pick("inscription", "registration", "Anmeldung"),
            FeedKind::Waitlisted => self.pick("liste d'attente", "waiting list", "Warteliste"),
            FeedKind::Promoted => self.pick(
                "place libérée → confirmé",
                "promoted from waiting list",
                "nachgerückt → bestätigt",
            ),
            FeedKind::Cancelled => self.pick("désinscription", "cancellation", "Abmeldung"),
            FeedKind::CheckedIn => self.pick("arrivée", "check-in", "Ankunft"),
            FeedKind::ChallengeUpdated => self.pick(
                "défi publié",
                "challenge published",
                "Challenge veröffentlicht",
            ),
            FeedKind::NewParticipant => {
                self.pick("nouveau participant", "new participant", "neue Teilnahme")
            }
            FeedKind::ThemeAdded => self.pick("nouveau thème", "new theme", "neues Thema"),
            FeedKind::SiteReset => self.pick(
                "site resynchronisé",
                "site resynchronised",
                "Standort neu synchronisiert",
            ),
            FeedKind::SiteJoined => self.pick(
                "site rejoint l'événement",
                "site joined the event",
                "Standort nimmt teil",
            ),
            FeedKind::Announcement(text) => {
                return format!(
                    "{}{text}",
                    self.pick("annonce : ", "announcement: ", "Ankündigung: ")
                );
            }
        };
        s.to_owned()
    }
    pub fn challenge(self, n: u32) -> String {
        match self {
            Lang::Fr => format!("défi {n}"),
            Lang::En => format!("challenge {n}"),
            Lang::De => format!("Challenge {n}"),
        }
    }
    /// One line of the live feed, as the full screen and `--plain` print it.
    pub fn feed_line(self, b: &Board, l: &crate::board::FeedLine) -> String {
        let mut s = format!("{} · {}", b.site_name(&l.site), self.kind(&l.kind));
        if let Some(n) = l.challenge {
            s.push_str(" · ");
            s.push_str(&self.challenge(n));
        }
        s
    }
    pub fn keys(self) -> &'static str {
        self.pick(
            "q quitter · tab panneau · o tri · s site · t thème · ↑↓ défiler",
            "q quit · tab panel · o sort · s site · t theme · ↑↓ scroll",
            "q Ende · tab Ansicht · o Sortierung · s Standort · t Thema · ↑↓ blättern",
        )
    }
    pub fn sort(self, s: crate::tui::Sort) -> &'static str {
        use crate::tui::Sort;
        match s {
            Sort::Fill => self.pick(
                "tri : remplissage",
                "sort: fill rate",
                "Sortierung: Belegung",
            ),
            Sort::Site => self.pick("tri : site", "sort: site", "Sortierung: Standort"),
            Sort::Theme => self.pick("tri : thème", "sort: theme", "Sortierung: Thema"),
        }
    }
    pub fn site_filter(self, site: Option<&str>) -> String {
        let all = self.pick("tous", "all", "alle");
        format!(
            "{}{}",
            self.pick("site : ", "site: ", "Standort: "),
            site.unwrap_or(all)
        )
    }
    pub fn theme_filter(self, theme: Option<&str>) -> String {
        let all = self.pick("tous", "all", "alle");
        format!(
            "{}{}",
            self.pick("thème : ", "theme: ", "Thema: "),
            theme.unwrap_or(all)
        )
    }
    /// Shown instead of an empty table when the site and theme filters match no défi.
    pub fn no_match(self) -> &'static str {
        self.pick(
            "aucun défi pour ce site et ce thème (s, t : changer de filtre)",
            "no challenge for this site and theme (s, t: change the filter)",
            "keine Challenge für diesen Standort und dieses Thema (s, t: Filter ändern)",
        )
    }
    /// The head's status: the connection, the national position, the sites online, and
    /// whether the feed resumed (last: the first to give way on a narrow screen).
    pub fn status(self, b: &Board) -> Vec<String> {
        let mut parts = vec![self.connection(&b.connection)];
        parts.extend(self.position_and_sites(b));
        if b.resumes > 0 && b.connection == Connection::Live {
            parts.push(self.resumed(b.resumes));
        }
        parts
    }
    fn position_and_sites(self, b: &Board) -> [String; 2] {
        let online = b
            .sites
            .values()
            .filter(|s| matches!(s.link, LinkState::Connected | LinkState::Lagging))
            .count();
        let total = b.sites.len() as u64;
        let (one, many) = match self {
            Lang::Fr => ("site en ligne", "sites en ligne"),
            Lang::En => ("site online", "sites online"),
            Lang::De => ("Standort online", "Standorte online"),
        };
        [
            format!(
                "{} {}",
                self.pick("position", "position", "Position"),
                b.position
            ),
            format!("{online}/{}", self.count(total, one, many)),
        ]
    }
    /// The totals over every défi and site, each number with its unit.
    pub fn totals(self, b: &Board) -> Vec<String> {
        let (mut seats, mut conf, mut wait) = (0u64, 0u64, 0u64);
        for c in b.challenges.values() {
            seats += u64::from(c.capacity);
            conf += u64::from(c.confirmed);
            wait += u64::from(c.waitlisted);
        }
        let checked: u64 = b.sites.values().map(|s| u64::from(s.checked_in)).sum();
        let n = b.challenges.len() as u64;
        match self {
            Lang::Fr => vec![
                self.count(n, "défi", "défis"),
                self.count(seats, "place", "places"),
                self.count(conf, "confirmé", "confirmés"),
                format!("{wait} en attente"),
                self.count(checked, "arrivé", "arrivés"),
            ],
            Lang::En => vec![
                self.count(n, "challenge", "challenges"),
                self.count(seats, "seat", "seats"),
                format!("{conf} confirmed"),
                format!("{wait} waiting"),
                format!("{checked} checked in"),
            ],
            Lang::De => vec![
                self.count(n, "Challenge", "Challenges"),
                self.count(seats, "Platz", "Plätze"),
                format!("{conf} bestätigt"),
                format!("{wait} wartend"),
                format!("{checked} anwesend"),
            ],
        }
    }
    pub fn program(self) -> &'static str {
        self.pick("Programme", "Program", "Programm")
    }
    /// The program's columns (the national page's words, the time zone said).
    pub fn columns_program(self) -> [&'static str; 4] {
        match self {
            Lang::Fr => ["Quand (UTC)", "Site", "Quoi", "Salle"],
            Lang::En => ["When (UTC)", "Site", "What", "Room"],
            Lang::De => ["Wann (UTC)", "Standort", "Was", "Raum"],
        }
    }
    /// A time of the program, UTC: `14/09 09:00` (`14.09. 09:00` in German).
    pub fn at(self, ms: i64) -> String {
        // "2026-09-14 09:00 UTC"
        let s = agora_model::schedule::Utc(ms).to_string();
        let part = |r: std::ops::Range<usize>| s.get(r).unwrap_or_default();
        let (month, day, time) = (part(5..7), part(8..10), part(11..16));
        match self {
            Lang::Fr | Lang::En => format!("{day}/{month} {time}"),
            Lang::De => format!("{day}.{month}. {time}"),
        }
    }
    /// What a line of the program is: its title, and for a mini-conference the word and
    /// the speaker's name when shared.
    pub fn program_what(self, l: &ProgramLine) -> String {
        match &l.conference {
            None => l.title.clone(),
            Some(s) => {
                let word = self.pick("mini-conférence", "mini-conference", "Mini-Konferenz");
                if s.name.is_empty() {
                    format!("{} · {word}", l.title)
                } else {
                    format!("{} · {word}, {}", l.title, s.name)
                }
            }
        }
    }
    /// A défi of a past edition, in the program's "when" column.
    pub fn edition(self, year: u32) -> String {
        format!("{} {year}", self.pick("édition", "edition", "Ausgabe"))
    }
    /// How many lines run now and how many come next, each with its words.
    pub fn now_and_next(self, now: u64, next: u64) -> [String; 2] {
        match self {
            Lang::Fr => [format!("{now} en cours"), format!("{next} à venir")],
            Lang::En => [format!("{now} on now"), format!("{next} coming up")],
            Lang::De => [format!("{now} laufend"), format!("{next} demnächst")],
        }
    }
    /// Why the program shown is not the current one, if it may not be: the last reading
    /// failed (the last program read stays).
    pub fn program_failed(self, p: &Program) -> Option<String> {
        let cause = self.cause(p.failed.as_ref()?);
        Some(if p.loads > 0 {
            match self {
                Lang::Fr => format!("non relu ({cause}), dernier reçu affiché"),
                Lang::En => format!("not reloaded ({cause}), showing the last one"),
                Lang::De => format!("nicht neu geladen ({cause}), letzter Stand"),
            }
        } else {
            match self {
                Lang::Fr => format!("non chargé ({cause}), nouvel essai bientôt"),
                Lang::En => format!("not loaded ({cause}), retrying soon"),
                Lang::De => format!("nicht geladen ({cause}), neuer Versuch bald"),
            }
        })
    }
    /// The program's title: the word, a failed reading (first: the last to give way), and
    /// how many lines run now and come next.
    pub fn program_title(self, p: &Program, now_ms: i64) -> String {
        let mut parts = vec![self.program().to_owned()];
        parts.extend(self.program_failed(p));
        if p.loads > 0 {
            let (now, next) = p.now_and_next(now_ms);
            parts.extend(self.now_and_next(now, next));
        }
        parts.join(" · ")
    }
    /// Shown instead of an empty program: not read yet (and why, if reading failed), or
    /// nothing published.
    pub fn no_program(self, p: &Program) -> String {
        if p.loads > 0 {
            return self
                .pick(
                    "Aucun site n'a encore publié de programme.",
                    "No site has published a program yet.",
                    "Noch kein Standort hat ein Programm veröffentlicht.",
                )
                .to_owned();
        }
        self.program_failed(p).unwrap_or_else(|| {
            self.pick(
                "lecture du programme…",
                "reading the program…",
                "Programm wird gelesen…",
            )
            .to_owned()
        })
    }
    /// One line of the program as `--plain` prints it; "▶" marks what runs now.
    pub fn program_line(self, b: &Board, l: &ProgramLine, when: When) -> String {
        let mut parts = vec![
            self.at(l.start_ms),
            b.site_name(&l.site).to_owned(),
            self.program_what(l),
        ];
        if !l.room.is_empty() {
            parts.push(l.room.clone());
        }
        let mark = if when == When::Now { "▶" } else { " " };
        format!("{mark} {}", parts.join(" · "))
    }
    /// Lines left out of a list: "… 3 more".
    pub fn more(self, n: usize) -> String {
        let n = n as u64;
        match self {
            Lang::Fr => format!("… {}", self.count(n, "autre", "autres")),
            Lang::En => format!("… {n} more"),
            Lang::De => format!("… {n} weitere"),
        }
    }
    /// `--plain`'s summary line: the head's words after the connection, on one line.
    pub fn summary(self, b: &Board) -> String {
        let mut parts = self.position_and_sites(b).to_vec();
        parts.extend(self.totals(b));
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_in_number() {
        let check = |l: Lang, n, expected: &str| assert_eq!(l.count(n, "défi", "défis"), expected);
        check(Lang::Fr, 0, "0 défi");
        check(Lang::Fr, 1, "1 défi");
        check(Lang::Fr, 2, "2 défis");
        check(Lang::En, 0, "0 défis");
        check(Lang::En, 1, "1 défi");
        check(Lang::De, 1, "1 défi");
    }

    #[test]
    fn german_is_a_language_of_its_own() {
        assert_eq!(Lang::parse("DE"), Some(Lang::De));
        for l in Lang::ALL {
            assert_eq!(
                Lang::ALL.iter().filter(|o| o.title() == l.title()).count(),
                1
            );
        }
    }

    /// Regression (issue 22): an offline site's lag reads "at least" or unknown.
    #[test]
    fn an_offline_lag_says_at_least_or_unknown() {
        use crate::board::Lag;
        assert_eq!(Lang::Fr.lag(Lag::Unknown), "?");
        assert_eq!(Lang::En.lag(Lag::AtLeast(39_999)), "≥39999");
    }
}
