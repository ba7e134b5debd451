//! The desk's words in French (first), English and German, and the sentences that say why
//! something was refused.

use agora_model::{DomainError, OrganisationType, RegistrationState, Target};
use agora_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::En, Lang::De];

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// The model's language of the same name (its refusals and theme labels).
    pub fn model(self) -> agora_model::i18n::Lang {
        match self {
            Lang::Fr => agora_model::i18n::Lang::Fr,
            Lang::En => agora_model::i18n::Lang::En,
            Lang::De => agora_model::i18n::Lang::De,
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}

/// What became of a request for another site's défi, for [`Lang::remote`].
#[derive(Debug, Clone, Copy)]
pub enum RemoteWords<'a> {
    Confirmed,
    Waitlisted(u32),
    Refused(&'a str),
    /// Until this time (UTC, as written).
    Pending(&'a str),
    Expired,
    /// Cancelled at this desk (a seat taken from a lease, given back).
    Cancelled,
}

/// Every fixed label of the desk's pages.
#[derive(Debug)]
pub struct Texts {
    pub desk: &'static str,
    pub login_title: &'static str,
    pub token: &'static str,
    pub login: &'static str,
    pub logout: &'static str,
    pub wrong_token: &'static str,
    pub too_many: &'static str,
    pub session_over: &'static str,
    pub check_in: &'static str,
    pub check_in_help: &'static str,
    pub ticket_code: &'static str,
    pub find: &'static str,
    pub search: &'static str,
    pub search_label: &'static str,
    pub no_match: &'static str,
    pub new_participant: &'static str,
    pub name: &'static str,
    pub organisation: &'static str,
    pub organisation_type: &'static str,
    pub email: &'static str,
    pub optional: &'static str,
    pub language: &'static str,
    pub consent: &'static str,
    pub create: &'static str,
    pub challenges: &'static str,
    pub conferences: &'static str,
    pub number: &'static str,
    pub title: &'static str,
    pub themes: &'static str,
    pub room: &'static str,
    pub when: &'static str,
    pub seats_left: &'static str,
    pub waiting: &'static str,
    pub full: &'static str,
    pub register: &'static str,
    pub join_waitlist: &'static str,
    pub move_here: &'static str,
    pub cancel: &'static str,
    pub current: &'static str,
    pub confirmed: &'static str,
    pub waitlisted: &'static str,
    pub cancelled: &'static str,
    pub arrived: &'static str,
    pub no_registration: &'static str,
    pub show_ticket: &'static str,
    pub ticket: &'static str,
    pub print: &'static str,
    pub back: &'static str,
    pub alternatives: &'static str,
    pub no_alternative: &'static str,
    pub elsewhere: &'static str,
    pub instead: &'static str,
    pub live: &'static str,
    pub not_found: &'static str,
    pub expired_form: &'static str,
    pub participant: &'static str,
    pub conference_registrations: &'static str,
    pub skip: &'static str,
    pub other_sites: &'static str,
    pub ask_seat: &'static str,
    pub check_again: &'static str,
    pub org_types: [&'static str; 7],
}

static FR: Texts = Texts {
    desk: "Accueil",
    login_title: "Connexion de l'accueil",
    token: "Jeton de l'accueil",
    login: "Se connecter",
    logout: "Se déconnecter",
    wrong_token: "Ce jeton n'est pas valable : vérifiez-le et réessayez.",
    too_many: "Trop d'essais depuis cet appareil : attendez une minute avant de réessayer.",
    session_over: "Votre session a pris fin : reconnectez-vous.",
    check_in: "Arrivée",
    check_in_help: "Tapez ou scannez le code du ticket, puis Entrée.",
    ticket_code: "Code du ticket",
    find: "Trouver une personne",
    search: "Chercher",
    search_label: "Nom, organisation ou courriel",
    no_match: "Personne ne correspond à cette recherche.",
    new_participant: "Nouvelle personne",
    name: "Nom affiché",
    organisation: "Organisation",
    organisation_type: "Type d'organisation",
    email: "Courriel",
    optional: "facultatif",
    language: "Langue",
    consent: "J'accepte que mon nom soit visible des autres sites de l'Université",
    create: "Créer",
    challenges: "Défis",
    conferences: "Mini-conférences",
    number: "N°",
    title: "Titre",
    themes: "Thèmes",
    room: "Salle",
    when: "Quand",
    seats_left: "Places libres",
    waiting: "En attente",
    full: "Complet",
    register: "Inscrire",
    join_waitlist: "Inscrire en liste d'attente",
    move_here: "Changer pour ce défi",
    cancel: "Désinscrire",
    current: "Inscription",
    confirmed: "Confirmé",
    waitlisted: "Liste d'attente",
    cancelled: "Annulé",
    arrived: "Arrivé·e",
    no_registration: "Pas encore inscrit·e à un défi.",
    show_ticket: "Voir le ticket",
    ticket: "Ticket",
    print: "Imprimer",
    back: "Retour",
    alternatives: "Défis du même thème avec des places",
    no_alternative: "Aucun autre défi du même thème n'a de place libre.",
    elsewhere: "Ailleurs dans l'évènement",
    instead: "S'inscrire plutôt ici",
    live: "Places mises à jour en direct",
    not_found: "Introuvable",
    expired_form: "Ce formulaire a expiré : la page a été rechargée, refaites l'action.",
    participant: "Personne",
    conference_registrations: "Mini-conférences de cette personne",
    skip: "Aller au contenu",
    other_sites: "Défis des autres sites (suivis à distance)",
    ask_seat: "Demander une place",
    check_again: "Voir si la réponse est arrivée",
    org_types: [
        "Collectivité",
        "État",
        "Association",
        "Recherche",
        "Entreprise",
        "Citoyen·ne",
        "Autre",
    ],
};

static EN: Texts = Texts {
    desk: "Desk",
    login_title: "Desk login",
    token: "Desk token",
    login: "Log in",
    logout: "Log out",
    wrong_token: "This token is not valid: check it and try again.",
    too_many: "Too many attempts from this device: wait a minute before trying again.",
    session_over: "Your session has ended: please log in again.",
    check_in: "Check-in",
    check_in_help: "Type or scan the ticket code, then Enter.",
    ticket_code: "Ticket code",
    find: "Find a person",
    search: "Search",
    search_label: "Name, organisation or email",
    no_match: "Nobody matches this search.",
    new_participant: "New person",
    name: "Display name",
    organisation: "Organisation",
    organisation_type: "Type of organisation",
    email: "Email",
    optional: "optional",
    language: "Language",
    consent: "I agree that my name may be seen by the other sites of the Université",
    create: "Create",
    challenges: "Challenges",
    conferences: "Mini-conferences",
    number: "No.",
    title: "Title",
    themes: "Themes",
    room: "Room",
    when: "When",
    seats_left: "Seats left",
    waiting: "Waiting",
    full: "Full",
    register: "Register",
    join_waitlist: "Join the waiting list",
    move_here: "Move to this challenge",
    cancel: "Cancel",
    current: "Registration",
    confirmed: "Confirmed",
    waitlisted: "Waiting list",
    cancelled: "Cancelled",
    arrived: "Checked in",
    no_registration: "Not registered to a challenge yet.",
    show_ticket: "Show the ticket",
    ticket: "Ticket",
    print: "Print",
    back: "Back",
    alternatives: "Challenges on the same theme with seats",
    no_alternative: "No other challenge on the same theme has a seat left.",
    elsewhere: "Elsewhere in the event",
    instead: "Register here instead",
    live: "Seats updated live",
    not_found: "Not found",
    expired_form: "This form had expired: the page was reloaded, please do it again.",
    participant: "Person",
    conference_registrations: "This person's mini-conferences",
    skip: "Skip to content",
    other_sites: "Other sites' challenges (followed remotely)",
    ask_seat: "Ask for a seat",
    check_again: "See whether the answer came",
    org_types: [
        "Local authority",
        "State",
        "Association",
        "Research",
        "Company",
        "Citizen",
        "Other",
    ],
};

static DE: Texts = Texts {
    desk: "Empfang",
    login_title: "Anmeldung am Empfang",
    token: "Empfangs-Token",
    login: "Anmelden",
    logout: "Abmelden",
    wrong_token: "Dieses Token ist ungültig: bitte prüfen und erneut versuchen.",
    too_many: "Zu viele Versuche von diesem Gerät: bitte eine Minute warten.",
    session_over: "Ihre Sitzung ist beendet: bitte erneut anmelden.",
    check_in: "Einlass",
    check_in_help: "Ticketcode eintippen oder scannen, dann Eingabe.",
    ticket_code: "Ticketcode",
    find: "Person suchen",
    search: "Suchen",
    search_label: "Name, Organisation oder E-Mail",
    no_match: "Niemand passt zu dieser Suche.",
    new_participant: "Neue Person",
    name: "Angezeigter Name",
    organisation: "Organisation",
    organisation_type: "Art der Organisation",
    email: "E-Mail",
    optional: "freiwillig",
    language: "Sprache",
    consent: "Ich bin einverstanden, dass mein Name für die anderen Standorte sichtbar ist",
    create: "Anlegen",
    challenges: "Challenges",
    conferences: "Mini-Konferenzen",
    number: "Nr.",
    title: "Titel",
    themes: "Themen",
    room: "Raum",
    when: "Wann",
    seats_left: "Freie Plätze",
    waiting: "Warteliste",
    full: "Ausgebucht",
    register: "Anmelden",
    join_waitlist: "Auf die Warteliste",
    move_here: "Zu dieser Challenge wechseln",
    cancel: "Stornieren",
    current: "Anmeldung",
    confirmed: "Bestätigt",
    waitlisted: "Warteliste",
    cancelled: "Storniert",
    arrived: "Eingelassen",
    no_registration: "Noch bei keiner Challenge angemeldet.",
    show_ticket: "Ticket zeigen",
    ticket: "Ticket",
    print: "Drucken",
    back: "Zurück",
    alternatives: "Challenges zum selben Thema mit freien Plätzen",
    no_alternative: "Keine andere Challenge zum selben Thema hat noch Platz.",
    elsewhere: "Anderswo in der Veranstaltung",
    instead: "Stattdessen hier anmelden",
    live: "Plätze live aktualisiert",
    not_found: "Nicht gefunden",
    expired_form: "Dieses Formular war abgelaufen: die Seite wurde neu geladen, bitte erneut.",
    participant: "Person",
    conference_registrations: "Mini-Konferenzen dieser Person",
    skip: "Zum Inhalt",
    other_sites: "Challenges anderer Standorte (aus der Ferne)",
    ask_seat: "Platz anfragen",
    check_again: "Nachsehen, ob die Antwort da ist",
    org_types: [
        "Kommune",
        "Staat",
        "Verein",
        "Forschung",
        "Unternehmen",
        "Bürger·in",
        "Andere",
    ],
};

/// The organisation types in the order of the form's choices.
pub const ORG_TYPES: [OrganisationType; 7] = [
    OrganisationType::Collectivity,
    OrganisationType::State,
    OrganisationType::Association,
    OrganisationType::Research,
    OrganisationType::Company,
    OrganisationType::Citizen,
    OrganisationType::Other,
];

impl Lang {
    pub fn state(self, s: RegistrationState) -> &'static str {
        let t = self.t();
        match s {
            RegistrationState::Confirmed => t.confirmed,
            RegistrationState::Waitlisted => t.waitlisted,
            RegistrationState::Cancelled => t.cancelled,
        }
    }

    /// "défi 7", "challenge 7", "Challenge 7"; "mini-conférence 2" …
    fn noun(self, t: Target) -> String {
        match (self, t) {
            (Lang::Fr, Target::Challenge(n)) => format!("défi {n}"),
            (Lang::Fr, Target::Conference(n)) => format!("mini-conférence {n}"),
            (Lang::En, Target::Challenge(n)) => format!("challenge {n}"),
            (Lang::En, Target::Conference(n)) => format!("mini-conference {n}"),
            (Lang::De, Target::Challenge(n)) => format!("Challenge {n}"),
            (Lang::De, Target::Conference(n)) => format!("Mini-Konferenz {n}"),
        }
    }

    /// As a heading: "Défi 7", "Challenge 7".
    pub fn label(self, t: Target) -> String {
        capitalise(&self.noun(t))
    }

    /// As a subject: "le défi 7", "challenge 7".
    pub fn target(self, t: Target) -> String {
        match (self, t) {
            (Lang::Fr, Target::Challenge(_)) => format!("le {}", self.noun(t)),
            (Lang::Fr, Target::Conference(_)) => format!("la {}", self.noun(t)),
            _ => self.noun(t),
        }
    }

    /// After "to": "au défi 7", "à la mini-conférence 2", "challenge 7".
    fn to(self, t: Target) -> String {
        match (self, t) {
            (Lang::Fr, Target::Challenge(_)) => format!("au {}", self.noun(t)),
            (Lang::Fr, Target::Conference(_)) => format!("à la {}", self.noun(t)),
            _ => self.noun(t),
        }
    }

    pub fn registered(self, name: &str, target: Target, ticket: &str) -> String {
        let t = self.to(target);
        match self {
            Lang::Fr => format!("{name} est inscrit·e {t} : ticket {ticket}."),
            Lang::En => format!("{name} is registered to {t}: ticket {ticket}."),
            Lang::De => format!("{name} ist für {t} angemeldet: Ticket {ticket}."),
        }
    }

    /// Where a request for another site's défi stands, in words: `site` is the owner's name.
    pub fn remote(self, site: &str, number: u32, state: RemoteWords<'_>) -> String {
        use RemoteWords as W;
        match (self, state) {
            (Lang::Fr, W::Confirmed) => format!("Confirmé à {site} : défi {number}."),
            (Lang::En, W::Confirmed) => format!("Confirmed at {site}: challenge {number}."),
            (Lang::De, W::Confirmed) => format!("Bestätigt in {site}: Challenge {number}."),
            (Lang::Fr, W::Waitlisted(n)) => {
                format!("Liste d'attente à {site} ({n}) : défi {number}.")
            }
            (Lang::En, W::Waitlisted(n)) => {
                format!("Waiting list at {site} ({n}): challenge {number}.")
            }
            (Lang::De, W::Waitlisted(n)) => {
                format!("Warteliste in {site} ({n}): Challenge {number}.")
            }
            (Lang::Fr, W::Refused(why)) => format!("Refusé par {site} (défi {number}) : {why}"),
            (Lang::En, W::Refused(why)) => {
                format!("Refused by {site} (challenge {number}): {why}")
            }
            (Lang::De, W::Refused(why)) => {
                format!("Abgelehnt von {site} (Challenge {number}): {why}")
            }
            (Lang::Fr, W::Pending(until)) => format!(
                "En attente à {site} jusqu'au {until} (défi {number}) : {site} n'a pas encore répondu, la réponse arrivera ici."
            ),
            (Lang::En, W::Pending(until)) => format!(
                "Pending at {site} until {until} (challenge {number}): {site} has not answered yet; the answer will show here."
            ),
            (Lang::De, W::Pending(until)) => format!(
                "Ausstehend in {site} bis {until} (Challenge {number}): {site} hat noch nicht geantwortet; die Antwort erscheint hier."
            ),
            (Lang::Fr, W::Expired) => {
                format!("Expiré : {site} n'a pas répondu à temps (défi {number}).")
            }
            (Lang::En, W::Expired) => {
                format!("Expired: {site} did not answer in time (challenge {number}).")
            }
            (Lang::De, W::Expired) => {
                format!(
                    "Abgelaufen: {site} hat nicht rechtzeitig geantwortet (Challenge {number})."
                )
            }
            (Lang::Fr, W::Cancelled) => format!("Annulé : défi {number} à {site}."),
            (Lang::En, W::Cancelled) => format!("Cancelled: challenge {number} at {site}."),
            (Lang::De, W::Cancelled) => format!("Storniert: Challenge {number} in {site}."),
        }
    }

    pub fn waitlisted(self, name: &str, target: Target, position: u32) -> String {
        let t = self.target(target);
        match self {
            Lang::Fr => format!(
                "{} est complet : {name} est {position}{} sur la liste d'attente.",
                capitalise(&t),
                if position == 1 { "re" } else { "e" }
            ),
            Lang::En => format!(
                "{} is full: {name} is number {position} on the waiting list.",
                capitalise(&t)
            ),
            Lang::De => {
                format!("{t} ist ausgebucht: {name} steht auf Platz {position} der Warteliste.")
            }
        }
    }

    pub fn released(self, target: Target) -> String {
        let t = self.to(target);
        match self {
            Lang::Fr => format!("La place {t} a été libérée."),
            Lang::En => format!("The seat at {t} was released."),
            Lang::De => format!("Der Platz bei {t} wurde freigegeben."),
        }
    }

    pub fn promoted(self, count: usize) -> String {
        match self {
            Lang::Fr => format!("{count} personne(s) de la liste d'attente ont reçu la place."),
            Lang::En => format!("{count} person(s) from the waiting list got the seat."),
            Lang::De => format!("{count} Person(en) von der Warteliste bekamen den Platz."),
        }
    }

    pub fn cancelled_msg(self, target: Target) -> String {
        let t = self.to(target);
        match self {
            Lang::Fr => format!("Inscription {t} annulée."),
            Lang::En => format!("Registration to {t} cancelled."),
            Lang::De => format!("Anmeldung für {t} storniert."),
        }
    }

    pub fn checked_in(self, name: &str, target: Target) -> String {
        let t = self.target(target);
        match self {
            Lang::Fr => format!("Bienvenue {name} ! Arrivée enregistrée pour {t}."),
            Lang::En => format!("Welcome {name}! Checked in for {t}."),
            Lang::De => format!("Willkommen {name}! Einlass für {t} erfasst."),
        }
    }

    /// The start of "X already checked in at 10:42": the page adds the time, in the
    /// desk's local time, and the full stop.
    pub fn already_checked_in(self, name: &str) -> String {
        match self {
            Lang::Fr => format!("{name} est déjà arrivé·e, à"),
            Lang::En => format!("{name} already checked in, at"),
            Lang::De => format!("{name} ist bereits eingelassen, um"),
        }
    }

    pub fn created(self, name: &str) -> String {
        match self {
            Lang::Fr => format!("{name} est enregistré·e : choisissez un défi."),
            Lang::En => format!("{name} is recorded: choose a challenge."),
            Lang::De => format!("{name} ist erfasst: bitte eine Challenge wählen."),
        }
    }

    /// A refusal as one clear sentence.
    pub fn refusal(self, e: &StoreError) -> String {
        match e {
            StoreError::Domain(d) => self.domain_refusal(d),
            StoreError::DiskFull { .. } => match self {
                Lang::Fr => "Le disque du site est plein : rien n'a été enregistré, prévenez l'équipe technique.".into(),
                Lang::En => "The site's disk is full: nothing was saved, tell the technical team.".into(),
                Lang::De => "Die Festplatte des Standorts ist voll: nichts wurde gespeichert, bitte Technik informieren.".into(),
            },
            StoreError::RequestIdReused(_) => self.t().expired_form.into(),
            _ => match self {
                Lang::Fr => "Le site ne peut pas enregistrer pour l'instant : réessayez dans un moment.".into(),
                Lang::En => "The site cannot save right now: try again in a moment.".into(),
                Lang::De => "Der Standort kann gerade nicht speichern: bitte gleich erneut versuchen.".into(),
            },
        }
    }

    fn domain_refusal(self, d: &DomainError) -> String {
        use DomainError as D;
        match (self, d) {
            (_, D::AlreadyRegistered { target, ticket, .. }) => match self {
                Lang::Fr => format!(
                    "Cette personne est déjà inscrite {} (ticket {ticket}).",
                    self.to(*target)
                ),
                Lang::En => format!(
                    "This person is already registered to {} (ticket {ticket}).",
                    self.target(*target)
                ),
                Lang::De => format!(
                    "Diese Person ist bereits für {} angemeldet (Ticket {ticket}).",
                    self.target(*target)
                ),
            },
            (_, D::AlreadyRegisteredConference { conference, .. }) => {
                let t = self.to(Target::Conference(*conference));
                match self {
                    Lang::Fr => format!("Cette personne est déjà inscrite {t}."),
                    Lang::En => format!("This person is already registered to {t}."),
                    Lang::De => format!("Diese Person ist bereits für {t} angemeldet."),
                }
            }
            (_, D::RegisteredElsewhere { challenge, .. }) => {
                let t = self.to(Target::Challenge(*challenge));
                match self {
                    Lang::Fr => format!(
                        "Cette personne est déjà inscrite ailleurs, {t} : utilisez « Changer pour ce défi »."
                    ),
                    Lang::En => format!(
                        "This person is already registered elsewhere, to {t}: use “Move to this challenge”."
                    ),
                    Lang::De => format!(
                        "Diese Person ist bereits anderswo angemeldet, bei {t}: „Zu dieser Challenge wechseln“ verwenden."
                    ),
                }
            }
            (_, D::TicketNotFound(code)) => match self {
                Lang::Fr => format!("Code inconnu : {code}. Vérifiez le ticket."),
                Lang::En => format!("Unknown code: {code}. Check the ticket."),
                Lang::De => format!("Unbekannter Code: {code}. Bitte Ticket prüfen."),
            },
            (_, D::Invalid { field, .. }) if field == "ticket_code" || field == "code" => {
                match self {
                    Lang::Fr => "Code inconnu : un ticket a 6 caractères, comme K7D-4QM.".into(),
                    Lang::En => "Unknown code: a ticket has 6 characters, such as K7D-4QM.".into(),
                    Lang::De => "Unbekannter Code: ein Ticket hat 6 Zeichen, wie K7D-4QM.".into(),
                }
            }
            (_, D::NotConfirmed { ticket, state }) => match (self, state) {
                (Lang::Fr, RegistrationState::Waitlisted) => format!(
                    "Le ticket {ticket} est sur liste d'attente : pas encore de place, pas d'entrée."
                ),
                (Lang::En, RegistrationState::Waitlisted) => {
                    format!("Ticket {ticket} is on the waiting list: no seat yet, no entry.")
                }
                (Lang::De, RegistrationState::Waitlisted) => format!(
                    "Ticket {ticket} steht auf der Warteliste: noch kein Platz, kein Einlass."
                ),
                (Lang::Fr, _) => format!("Le ticket {ticket} a été annulé."),
                (Lang::En, _) => format!("Ticket {ticket} was cancelled."),
                (Lang::De, _) => format!("Ticket {ticket} wurde storniert."),
            },
            (_, D::NotOpen { challenge, .. }) => {
                let t = capitalise(&self.target(Target::Challenge(*challenge)));
                match self {
                    Lang::Fr => format!("{t} n'est pas ouvert aux inscriptions."),
                    Lang::En => format!("{t} is not open for registration."),
                    Lang::De => format!("{t} ist nicht für Anmeldungen geöffnet."),
                }
            }
            (_, D::AttendeeBusy { conference, .. }) => {
                let t = self.to(Target::Conference(*conference));
                match self {
                    Lang::Fr => format!("Cette personne est inscrite {t}, à la même heure."),
                    Lang::En => format!("This person is registered to {t}, at the same time."),
                    Lang::De => format!("Diese Person ist für {t} zur selben Zeit angemeldet."),
                }
            }
            (_, D::AlreadyCancelled(_)) => match self {
                Lang::Fr => "Cette inscription était déjà annulée.".into(),
                Lang::En => "This registration was already cancelled.".into(),
                Lang::De => "Diese Anmeldung war bereits storniert.".into(),
            },
            (_, D::ParticipantNotFound(_)) => match self {
                Lang::Fr => "Cette personne n'existe pas sur ce site.".into(),
                Lang::En => "This person does not exist on this site.".into(),
                Lang::De => "Diese Person gibt es an diesem Standort nicht.".into(),
            },
            (_, D::ChallengeNotFound(n)) => match self {
                Lang::Fr => format!("Le défi {n} n'existe pas."),
                Lang::En => format!("Challenge {n} does not exist."),
                Lang::De => format!("Challenge {n} gibt es nicht."),
            },
            (_, D::ConferenceNotFound(n)) => match self {
                Lang::Fr => format!("La mini-conférence {n} n'existe pas."),
                Lang::En => format!("Mini-conference {n} does not exist."),
                Lang::De => format!("Mini-Konferenz {n} gibt es nicht."),
            },
            (_, D::Invalid { field, rule }) => {
                let t = self.t();
                let label = match field.as_str() {
                    "display_name" => t.name,
                    "organisation" => t.organisation,
                    "email" => t.email,
                    "language" => t.language,
                    "organisation_type" => t.organisation_type,
                    other => other,
                };
                let rule = agora_model::i18n::rule_in(rule, self.model());
                match self {
                    Lang::Fr => format!("Champ « {label} » à corriger : {rule}."),
                    Lang::En => format!("Please correct “{label}”: {rule}."),
                    Lang::De => format!("Bitte „{label}“ korrigieren: {rule}."),
                }
            }
            // The rarer refusals: the model's own words in this language.
            (_, other) => {
                let text = agora_model::i18n::error_message(other, self.model());
                match self {
                    Lang::Fr => format!("Refusé : {text}."),
                    Lang::En => format!("Refused: {text}."),
                    Lang::De => format!("Abgelehnt: {text}."),
                }
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_model::{ParticipantId, TicketCode};

    #[test]
    fn french_says_au_defi() {
        assert_eq!(
            Lang::Fr.registered("Zoé", Target::Challenge(7), "K7D-4QM"),
            "Zoé est inscrit·e au défi 7 : ticket K7D-4QM."
        );
        assert_eq!(
            Lang::Fr.cancelled_msg(Target::Conference(2)),
            "Inscription à la mini-conférence 2 annulée."
        );
        assert_eq!(Lang::Fr.label(Target::Challenge(7)), "Défi 7");
    }

    #[test]
    fn refusals_are_sentences_in_each_language() {
        let code = TicketCode::parse("t", "K7D4QM").expect("code");
        let e = StoreError::Domain(DomainError::TicketNotFound(code));
        assert_eq!(
            Lang::Fr.refusal(&e),
            "Code inconnu : K7D-4QM. Vérifiez le ticket."
        );
        assert_eq!(
            Lang::En.refusal(&e),
            "Unknown code: K7D-4QM. Check the ticket."
        );
        let elsewhere = StoreError::Domain(DomainError::RegisteredElsewhere {
            participant: ParticipantId(uuid::Uuid::nil()),
            challenge: 4,
        });
        assert!(Lang::De.refusal(&elsewhere).contains("Challenge 4"));
    }

    #[test]
    fn rarer_refusals_take_the_models_words() {
        let e = StoreError::Domain(DomainError::CapacityBelowConfirmed {
            challenge: 3,
            capacity: 2,
            confirmed: 5,
        });
        assert!(
            Lang::Fr.refusal(&e).starts_with("Refusé : 2 places"),
            "{}",
            Lang::Fr.refusal(&e)
        );
    }

    #[test]
    fn waiting_positions_read_naturally() {
        assert_eq!(
            Lang::Fr.waitlisted("Zoé", Target::Challenge(7), 1),
            "Le défi 7 est complet : Zoé est 1re sur la liste d'attente."
        );
        assert_eq!(
            Lang::En.waitlisted("Zoé", Target::Challenge(7), 2),
            "Challenge 7 is full: Zoé is number 2 on the waiting list."
        );
    }
}
