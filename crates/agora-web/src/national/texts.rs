//! The national page's words, French first, English and German.

use agora_board::{FeedKind, Lag};
use agora_proto::v1::LinkState;

use crate::i18n::Lang;

/// Every fixed label of the national page.
#[derive(Debug)]
pub struct NationalTexts {
    pub title: &'static str,
    pub login_title: &'static str,
    pub token: &'static str,
    pub token_help: &'static str,
    pub login: &'static str,
    pub logout: &'static str,
    pub wrong_token: &'static str,
    pub too_many: &'static str,
    pub skip: &'static str,
    pub language: &'static str,
    pub sites: &'static str,
    /// Site, country, link, lag, last contact, participants, registered, checked in.
    pub site_columns: [&'static str; 8],
    pub partner: &'static str,
    pub never: &'static str,
    pub themes: &'static str,
    /// Theme, défis, seats, left, waiting.
    pub theme_columns: [&'static str; 5],
    pub with_seats: &'static str,
    pub none_left: &'static str,
    pub chart: &'static str,
    pub registrations: &'static str,
    pub check_ins: &'static str,
    pub no_data: &'static str,
    pub feed: &'static str,
    pub feed_empty: &'static str,
    pub challenge: &'static str,
    /// Sites, participants, registrations, checked in, seats left.
    pub totals: [&'static str; 5],
    pub program: &'static str,
    /// When, site, what, room.
    pub program_columns: [&'static str; 4],
    pub no_program: &'static str,
    pub conference: &'static str,
    pub calendar: &'static str,
    pub plenary: &'static str,
    pub edition: &'static str,
}

const FR: NationalTexts = NationalTexts {
    title: "Tableau de bord national",
    login_title: "Connexion au tableau de bord national",
    token: "Jeton de lecture ou d'administration",
    token_help: "Le jeton « viewer_token » ou « admin_token » du nœud national.",
    login: "Se connecter",
    logout: "Se déconnecter",
    wrong_token: "Ce jeton n'est pas valable pour le nœud national.",
    too_many: "Trop d'essais depuis cette adresse : réessayez dans une minute.",
    skip: "Aller au contenu",
    language: "Langue",
    sites: "Sites",
    site_columns: [
        "Site",
        "Pays",
        "Lien",
        "Retard",
        "Dernier contact",
        "Participants",
        "Inscrits",
        "Arrivés",
    ],
    partner: "partenaire",
    never: "jamais",
    themes: "Places par thème",
    theme_columns: ["Thème", "Défis", "Places", "Libres", "En attente"],
    with_seats: "Défis avec des places",
    none_left: "Plus aucune place sur ce thème.",
    chart: "Inscriptions et arrivées dans le temps",
    registrations: "Inscriptions",
    check_ins: "Arrivées",
    no_data: "Pas encore d'inscription.",
    feed: "En direct",
    feed_empty: "Rien encore.",
    challenge: "défi",
    totals: [
        "sites",
        "participants",
        "inscrits",
        "arrivés",
        "places libres",
    ],
    program: "Programme national",
    program_columns: ["Quand", "Site", "Quoi", "Salle"],
    no_program: "Aucun site n'a encore publié de programme.",
    conference: "mini-conférence",
    calendar: "Agenda (iCalendar)",
    plenary: "Défis pour la plénière",
    edition: "édition",
};

const EN: NationalTexts = NationalTexts {
    title: "National dashboard",
    login_title: "National dashboard login",
    token: "Viewer or administrator token",
    token_help: "The national node's viewer_token or admin_token.",
    login: "Log in",
    logout: "Log out",
    wrong_token: "This token is not valid for the national node.",
    too_many: "Too many attempts from this address: try again in a minute.",
    skip: "Skip to content",
    language: "Language",
    sites: "Sites",
    site_columns: [
        "Site",
        "Country",
        "Link",
        "Lag",
        "Last contact",
        "Participants",
        "Registered",
        "Checked in",
    ],
    partner: "partner",
    never: "never",
    themes: "Seats by theme",
    theme_columns: ["Theme", "Challenges", "Seats", "Left", "Waiting"],
    with_seats: "Challenges with seats",
    none_left: "No seat left on this theme.",
    chart: "Registrations and check-ins over time",
    registrations: "Registrations",
    check_ins: "Check-ins",
    no_data: "No registration yet.",
    feed: "Live feed",
    feed_empty: "Nothing yet.",
    challenge: "challenge",
    totals: [
        "sites",
        "participants",
        "registered",
        "checked in",
        "seats left",
    ],
    program: "National program",
    program_columns: ["When", "Site", "What", "Room"],
    no_program: "No site has published a program yet.",
    conference: "mini-conference",
    calendar: "Calendar (iCalendar)",
    plenary: "Challenges for the plenary",
    edition: "edition",
};

const DE: NationalTexts = NationalTexts {
    title: "Nationales Dashboard",
    login_title: "Anmeldung zum nationalen Dashboard",
    token: "Lese- oder Administrationstoken",
    token_help: "Das viewer_token oder admin_token des nationalen Knotens.",
    login: "Anmelden",
    logout: "Abmelden",
    wrong_token: "Dieses Token gilt nicht für den nationalen Knoten.",
    too_many: "Zu viele Versuche von dieser Adresse: in einer Minute erneut versuchen.",
    skip: "Zum Inhalt",
    language: "Sprache",
    sites: "Standorte",
    site_columns: [
        "Standort",
        "Land",
        "Verbindung",
        "Rückstand",
        "Letzter Kontakt",
        "Teilnehmende",
        "Anmeldungen",
        "Anwesend",
    ],
    partner: "Partner",
    never: "nie",
    themes: "Plätze nach Thema",
    theme_columns: ["Thema", "Challenges", "Plätze", "Frei", "Warteliste"],
    with_seats: "Challenges mit freien Plätzen",
    none_left: "Kein Platz mehr in diesem Thema.",
    chart: "Anmeldungen und Ankünfte im Zeitverlauf",
    registrations: "Anmeldungen",
    check_ins: "Ankünfte",
    no_data: "Noch keine Anmeldung.",
    feed: "Live",
    feed_empty: "Noch nichts.",
    challenge: "Challenge",
    totals: [
        "Standorte",
        "Teilnehmende",
        "angemeldet",
        "anwesend",
        "freie Plätze",
    ],
    program: "Nationales Programm",
    program_columns: ["Wann", "Standort", "Was", "Raum"],
    no_program: "Noch kein Standort hat ein Programm veröffentlicht.",
    conference: "Mini-Konferenz",
    calendar: "Kalender (iCalendar)",
    plenary: "Challenges für das Plenum",
    edition: "Ausgabe",
};

pub fn texts(l: Lang) -> &'static NationalTexts {
    match l {
        Lang::Fr => &FR,
        Lang::En => &EN,
        Lang::De => &DE,
    }
}

fn pick(l: Lang, fr: &'static str, en: &'static str, de: &'static str) -> &'static str {
    match l {
        Lang::Fr => fr,
        Lang::En => en,
        Lang::De => de,
    }
}

/// A link state's word and its CSS class.
pub fn link(l: Lang, s: LinkState) -> (&'static str, &'static str) {
    match s {
        LinkState::Connected => (pick(l, "connecté", "connected", "verbunden"), "ok"),
        LinkState::Lagging => (pick(l, "en retard", "lagging", "im Rückstand"), "warn"),
        LinkState::Offline => (pick(l, "hors ligne", "offline", "offline"), "refused"),
        LinkState::Revoked => (pick(l, "révoqué", "revoked", "widerrufen"), "refused"),
        LinkState::Unspecified => ("?", "warn"),
    }
}

/// A lag in records: exact, at least, or unknown.
pub fn lag(l: Lang, lag: Lag) -> String {
    let unit = pick(l, "enr.", "rec.", "Einträge");
    match lag {
        Lag::Known(n) => format!("{n} {unit}"),
        Lag::AtLeast(n) => format!("≥ {n} {unit}"),
        Lag::Unknown => "?".to_owned(),
    }
}

/// What a feed line says happened.
pub fn kind(l: Lang, k: &FeedKind) -> String {
    let s = match k {
        FeedKind::Registered => pick(l, "inscription", "registered", "Anmeldung"),
        FeedKind::Waitlisted => pick(
            l,
            "inscription en liste d'attente",
            "on the waiting list",
            "auf der Warteliste",
        ),
        FeedKind::Promoted => pick(
            l,
            "place libérée : inscription confirmée",
            "promoted from the waiting list",
            "von der Warteliste nachgerückt",
        ),
        FeedKind::Cancelled => pick(l, "annulation", "cancelled", "Abmeldung"),
        FeedKind::CheckedIn => pick(l, "arrivée", "checked in", "angekommen"),
        FeedKind::ChallengeUpdated => pick(
            l,
            "défi mis à jour",
            "challenge updated",
            "Challenge geändert",
        ),
        FeedKind::NewParticipant => pick(
            l,
            "nouveau participant",
            "new participant",
            "neue:r Teilnehmende:r",
        ),
        FeedKind::ThemeAdded => pick(l, "thème ajouté", "theme added", "Thema hinzugefügt"),
        FeedKind::SiteReset => pick(
            l,
            "réplique reconstruite",
            "replica rebuilt",
            "Replikat neu aufgebaut",
        ),
        FeedKind::SiteJoined => pick(l, "site relié", "site linked", "Standort verbunden"),
        FeedKind::Announcement(text) => {
            let colon = pick(l, " :", ":", ":");
            return format!(
                "{}{colon} {text}",
                pick(l, "annonce", "announcement", "Ankündigung")
            );
        }
    };
    s.to_owned()
}

/// The CSS class of a feed line.
pub fn kind_class(k: &FeedKind) -> &'static str {
    match k {
        FeedKind::Registered | FeedKind::Promoted | FeedKind::CheckedIn => "ok",
        FeedKind::Waitlisted | FeedKind::Cancelled | FeedKind::SiteReset => "warn",
        _ => "",
    }
}
