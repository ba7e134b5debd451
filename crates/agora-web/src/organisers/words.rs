//! The organisers' and the posters' words in French (first), English and German.

use agora_model::{ActionStatus, ChallengeStatus, ProposalStatus};

use crate::i18n::Lang;

/// Every fixed label of the organisers' pages and of the posters.
#[derive(Debug)]
pub struct OrgTexts {
    pub organisers: &'static str,
    pub login_title: &'static str,
    pub token: &'static str,
    pub desk_link: &'static str,
    pub nav: &'static str,
    pub defis: &'static str,
    pub proposals: &'static str,
    pub program: &'static str,
    pub conferences: &'static str,
    pub teams: &'static str,
    pub actions: &'static str,
    pub posters: &'static str,
    pub new_defi: &'static str,
    pub edit: &'static str,
    pub save: &'static str,
    pub number_auto: &'static str,
    pub question: &'static str,
    pub description: &'static str,
    pub more_questions: &'static str,
    pub one_per_line: &'static str,
    pub holders: &'static str,
    pub facilitators: &'static str,
    pub people_help: &'static str,
    pub capacity: &'static str,
    pub status: &'static str,
    pub registered: &'static str,
    pub csv: &'static str,
    pub csv_excel: &'static str,
    pub ical: &'static str,
    pub poster: &'static str,
    pub holder: &'static str,
    pub wished_site: &'static str,
    pub expected: &'static str,
    pub duplicates: &'static str,
    pub no_proposal: &'static str,
    pub no_program: &'static str,
    pub whole_site: &'static str,
    pub time: &'static str,
    pub speaker: &'static str,
    pub members: &'static str,
    pub size: &'static str,
    pub no_team: &'static str,
    pub no_conference: &'static str,
    pub what: &'static str,
    pub owner: &'static str,
    pub due: &'static str,
    pub add_action: &'static str,
    pub set_status: &'static str,
    pub no_action: &'static str,
    pub print_all: &'static str,
    pub print_a4: &'static str,
    pub print_a3: &'static str,
    pub scan_to_register: &'static str,
    pub at_the_desk: &'static str,
    pub stub_name: &'static str,
    pub stub_help: &'static str,
    pub speakers: &'static str,
    pub no_defi: &'static str,
    pub defi: &'static str,
    pub review: &'static str,
    pub comment: &'static str,
    pub accept: &'static str,
    pub decline: &'static str,
    pub ask_changes: &'static str,
    pub accept_help: &'static str,
    pub new_conference: &'static str,
    pub speaker_help: &'static str,
    pub abstract_: &'static str,
    pub day: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub language: &'static str,
    pub new_team: &'static str,
    pub min_members: &'static str,
    pub max_members: &'static str,
    pub new_item: &'static str,
    pub kind: &'static str,
    pub add: &'static str,
}

static FR: OrgTexts = OrgTexts {
    organisers: "Organisation",
    login_title: "Connexion des organisateurs",
    token: "Jeton des organisateurs",
    desk_link: "Accueil",
    nav: "Pages des organisateurs",
    defis: "Défis",
    proposals: "Propositions",
    program: "Programme",
    conferences: "Mini-conférences",
    teams: "Équipes apprenantes",
    actions: "Suites à donner",
    posters: "Affiches",
    new_defi: "Nouveau défi",
    edit: "Modifier",
    save: "Enregistrer",
    number_auto: "vide : le prochain numéro libre",
    question: "Question",
    description: "Présentation",
    more_questions: "Autres questions",
    one_per_line: "une par ligne",
    holders: "Porteurs",
    facilitators: "Facilitateurs·rices",
    people_help: "une personne par ligne : nom ; rôle ; organisation, puis « ; privé » pour un nom qui ne quitte pas le site (affiches et national montrent le rôle)",
    capacity: "Places",
    status: "État",
    registered: "Inscrits",
    csv: "Liste (CSV)",
    csv_excel: "Liste (Excel)",
    ical: "Programme (iCalendar)",
    poster: "Affiche",
    holder: "Porteur",
    wished_site: "Site souhaité",
    expected: "Participants attendus",
    duplicates: "Même question ailleurs",
    no_proposal: "Aucune proposition reçue.",
    no_program: "Pas encore de programme sur ce site.",
    whole_site: "Tout le site",
    time: "Horaire",
    speaker: "Intervenant·e",
    members: "Membres",
    size: "Taille",
    no_team: "Aucune équipe apprenante.",
    no_conference: "Aucune mini-conférence.",
    what: "Action",
    owner: "Responsable",
    due: "Échéance",
    add_action: "Ajouter l'action",
    set_status: "Changer",
    no_action: "Aucune action pour l'instant.",
    print_all: "Imprimer toutes les affiches",
    print_a4: "Imprimer en A4",
    print_a3: "Imprimer en A3",
    scan_to_register: "Scannez pour vous inscrire",
    at_the_desk: "Inscription et tickets à l'accueil",
    stub_name: "Nom",
    stub_help: "Détachez un ticket et présentez-le à l'accueil",
    speakers: "Grands témoins",
    no_defi: "Aucun défi sur ce site.",
    defi: "Défi",
    review: "Examen",
    comment: "Commentaire",
    accept: "Accepter",
    decline: "Refuser",
    ask_changes: "Demander des modifications",
    accept_help: "Pour accepter : les facilitateurs·rices (un·e par ligne), la salle et les places du défi qui en naît.",
    new_conference: "Nouvelle mini-conférence",
    speaker_help: "le nom d'un·e participant·e déjà inscrit·e",
    abstract_: "Résumé",
    day: "Jour",
    start: "Début",
    end: "Fin",
    language: "Langue",
    new_team: "Nouvelle équipe apprenante",
    min_members: "Membres, au moins",
    max_members: "Membres, au plus",
    new_item: "Nouvel élément du programme",
    kind: "Type",
    add: "Ajouter",
};

static EN: OrgTexts = OrgTexts {
    organisers: "Organisers",
    login_title: "Organisers' login",
    token: "Organiser token",
    desk_link: "Desk",
    nav: "Organisers' pages",
    defis: "Challenges",
    proposals: "Proposals",
    program: "Program",
    conferences: "Mini-conferences",
    teams: "Learning teams",
    actions: "Next actions",
    posters: "Posters",
    new_defi: "New challenge",
    edit: "Edit",
    save: "Save",
    number_auto: "empty: the next free number",
    question: "Question",
    description: "Description",
    more_questions: "Further questions",
    one_per_line: "one per line",
    holders: "Holders",
    facilitators: "Facilitators",
    people_help: "one person per line: name; role; organisation, then \"; private\" for a name that stays on the site (posters and the national node show the role)",
    capacity: "Seats",
    status: "Status",
    registered: "Registered",
    csv: "List (CSV)",
    csv_excel: "List (Excel)",
    ical: "Program (iCalendar)",
    poster: "Poster",
    holder: "Holder",
    wished_site: "Wished site",
    expected: "Expected participants",
    duplicates: "Same question elsewhere",
    no_proposal: "No proposal received.",
    no_program: "No program on this site yet.",
    whole_site: "Whole site",
    time: "Time",
    speaker: "Speaker",
    members: "Members",
    size: "Size",
    no_team: "No learning team.",
    no_conference: "No mini-conference.",
    what: "Action",
    owner: "Owner",
    due: "Due",
    add_action: "Add the action",
    set_status: "Change",
    no_action: "No action yet.",
    print_all: "Print every poster",
    print_a4: "Print in A4",
    print_a3: "Print in A3",
    scan_to_register: "Scan to register",
    at_the_desk: "Registration and tickets at the desk",
    stub_name: "Name",
    stub_help: "Tear off a ticket and bring it to the desk",
    speakers: "Speakers",
    no_defi: "No challenge on this site.",
    defi: "Challenge",
    review: "Review",
    comment: "Comment",
    accept: "Accept",
    decline: "Decline",
    ask_changes: "Ask for changes",
    accept_help: "To accept: the facilitators (one per line), the room and the seats of the challenge it becomes.",
    new_conference: "New mini-conference",
    speaker_help: "the name of a participant already registered",
    abstract_: "Abstract",
    day: "Day",
    start: "Start",
    end: "End",
    language: "Language",
    new_team: "New learning team",
    min_members: "Members, at least",
    max_members: "Members, at most",
    new_item: "New program item",
    kind: "Kind",
    add: "Add",
};

static DE: OrgTexts = OrgTexts {
    organisers: "Organisation",
    login_title: "Anmeldung der Organisation",
    token: "Organisations-Token",
    desk_link: "Empfang",
    nav: "Seiten der Organisation",
    defis: "Challenges",
    proposals: "Vorschläge",
    program: "Programm",
    conferences: "Mini-Konferenzen",
    teams: "Lernteams",
    actions: "Nächste Schritte",
    posters: "Plakate",
    new_defi: "Neue Challenge",
    edit: "Bearbeiten",
    save: "Speichern",
    number_auto: "leer: die nächste freie Nummer",
    question: "Frage",
    description: "Beschreibung",
    more_questions: "Weitere Fragen",
    one_per_line: "eine pro Zeile",
    holders: "Träger",
    facilitators: "Moderation",
    people_help: "eine Person pro Zeile: Name; Funktion; Organisation, dann „; privat“ für einen Namen, der den Standort nicht verlässt (Plakate und national zeigen die Funktion)",
    capacity: "Plätze",
    status: "Status",
    registered: "Angemeldet",
    csv: "Liste (CSV)",
    csv_excel: "Liste (Excel)",
    ical: "Programm (iCalendar)",
    poster: "Plakat",
    holder: "Träger",
    wished_site: "Gewünschter Standort",
    expected: "Erwartete Teilnehmende",
    duplicates: "Gleiche Frage anderswo",
    no_proposal: "Noch kein Vorschlag.",
    no_program: "Noch kein Programm an diesem Standort.",
    whole_site: "Ganzer Standort",
    time: "Zeit",
    speaker: "Vortragende·r",
    members: "Mitglieder",
    size: "Größe",
    no_team: "Kein Lernteam.",
    no_conference: "Keine Mini-Konferenz.",
    what: "Schritt",
    owner: "Verantwortlich",
    due: "Fällig",
    add_action: "Schritt hinzufügen",
    set_status: "Ändern",
    no_action: "Noch keine Schritte.",
    print_all: "Alle Plakate drucken",
    print_a4: "In A4 drucken",
    print_a3: "In A3 drucken",
    scan_to_register: "Zum Anmelden scannen",
    at_the_desk: "Anmeldung und Tickets am Empfang",
    stub_name: "Name",
    stub_help: "Ticket abreißen und am Empfang vorzeigen",
    speakers: "Gäste",
    no_defi: "Keine Challenge an diesem Standort.",
    defi: "Challenge",
    review: "Prüfung",
    comment: "Kommentar",
    accept: "Annehmen",
    decline: "Ablehnen",
    ask_changes: "Änderungen erbitten",
    accept_help: "Zum Annehmen: die Moderation (eine Person pro Zeile), der Raum und die Plätze der neuen Challenge.",
    new_conference: "Neue Mini-Konferenz",
    speaker_help: "der Name einer bereits angemeldeten Person",
    abstract_: "Zusammenfassung",
    day: "Tag",
    start: "Beginn",
    end: "Ende",
    language: "Sprache",
    new_team: "Neues Lernteam",
    min_members: "Mitglieder, mindestens",
    max_members: "Mitglieder, höchstens",
    new_item: "Neuer Programmpunkt",
    kind: "Art",
    add: "Hinzufügen",
};

pub fn texts(lang: Lang) -> &'static OrgTexts {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
        Lang::De => &DE,
    }
}

/// The statuses of a défi, in the form's order.
pub const CHALLENGE_STATUSES: [ChallengeStatus; 4] = [
    ChallengeStatus::Draft,
    ChallengeStatus::Open,
    ChallengeStatus::Closed,
    ChallengeStatus::Exhibited,
];

pub fn challenge_status(lang: Lang, s: ChallengeStatus) -> &'static str {
    let l = lang.model();
    match s {
        ChallengeStatus::Draft => l.pick("Brouillon", "Draft", "Entwurf"),
        ChallengeStatus::Open => l.pick("Ouvert", "Open", "Offen"),
        ChallengeStatus::Closed => l.pick("Fermé", "Closed", "Geschlossen"),
        ChallengeStatus::Exhibited => l.pick("Exposé", "Exhibited", "Ausgestellt"),
    }
}

/// The statuses of a next action, in the form's order.
pub const ACTION_STATUSES: [ActionStatus; 3] = [
    ActionStatus::Open,
    ActionStatus::Done,
    ActionStatus::Dropped,
];

pub fn action_status(lang: Lang, s: ActionStatus) -> &'static str {
    let l = lang.model();
    match s {
        ActionStatus::Open => l.pick("À faire", "To do", "Offen"),
        ActionStatus::Done => l.pick("Fait", "Done", "Erledigt"),
        ActionStatus::Dropped => l.pick("Abandonné", "Dropped", "Verworfen"),
    }
}

pub fn proposal_status(lang: Lang, s: ProposalStatus) -> &'static str {
    let l = lang.model();
    match s {
        ProposalStatus::Submitted => l.pick("Reçue", "Submitted", "Eingereicht"),
        ProposalStatus::Accepted => l.pick("Acceptée", "Accepted", "Angenommen"),
        ProposalStatus::Declined => l.pick("Refusée", "Declined", "Abgelehnt"),
        ProposalStatus::NeedsChanges => l.pick("À reprendre", "Needs changes", "Zu überarbeiten"),
    }
}

/// "Défi 7 enregistré." and the like.
pub fn saved(lang: Lang, number: u32) -> String {
    match lang {
        Lang::Fr => format!("Défi {number} enregistré."),
        Lang::En => format!("Challenge {number} saved."),
        Lang::De => format!("Challenge {number} gespeichert."),
    }
}

pub fn action_added(lang: Lang, number: u32) -> String {
    match lang {
        Lang::Fr => format!("Action ajoutée au défi {number}."),
        Lang::En => format!("Action added to challenge {number}."),
        Lang::De => format!("Schritt zu Challenge {number} hinzugefügt."),
    }
}

pub fn action_set(lang: Lang, status: ActionStatus) -> String {
    let s = action_status(lang, status);
    match lang {
        Lang::Fr => format!("Action passée à « {s} »."),
        Lang::En => format!("Action set to “{s}”."),
        Lang::De => format!("Schritt auf „{s}“ gesetzt."),
    }
}

/// The form's label of a model field, for the refusals that name one.
pub fn field_label(lang: Lang, field: &str) -> Option<&'static str> {
    let t = texts(lang);
    let root = field.split(['.', '[']).next().unwrap_or(field);
    Some(match root {
        "title" => t.question,
        "description" => t.description,
        "more_questions" => t.more_questions,
        "holders" => t.holders,
        "facilitators" => t.facilitators,
        "capacity" => t.capacity,
        "room" => lang.t().room,
        "themes" => lang.t().themes,
        "number" | "challenge_number" | "challenge" => lang.t().number,
        "what" => t.what,
        "owner" => t.owner,
        "due" | "due_ms" => t.due,
        "comment" => t.comment,
        "day" => t.day,
        "speaker" => t.speaker,
        "abstract" => t.abstract_,
        "start" | "start_ms" => t.start,
        "end" | "end_ms" => t.end,
        "language" => t.language,
        "name" => lang.t().name,
        "min_members" => t.min_members,
        "max_members" => t.max_members,
        "kind" => t.kind,
        _ => return None,
    })
}

/// The word that marks a person's line private in a défi form, in each language; any of
/// them is read back.
pub fn private_mark(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "privé",
        Lang::En => "private",
        Lang::De => "privat",
    }
}

/// Whether a person's line ends with a private mark (in any language).
pub fn is_private_mark(word: &str) -> bool {
    let w = word.trim().to_lowercase();
    ["privé", "privée", "private", "privat"].contains(&w.as_str())
}

/// A program item's kind as the form offers it: (value, label).
pub fn program_kinds(lang: Lang) -> Vec<(String, String)> {
    let (welcome, plenary, step, conferences, moment, exhibition, closing) = match lang {
        Lang::Fr => (
            "Accueil",
            "Plénière",
            "Défis, étape",
            "Mini-conférences",
            "Équipes apprenantes, moment",
            "Exposition",
            "Clôture",
        ),
        Lang::En => (
            "Welcome",
            "Plenary",
            "Challenges, step",
            "Mini-conferences",
            "Learning teams, moment",
            "Exhibition",
            "Closing",
        ),
        Lang::De => (
            "Empfang",
            "Plenum",
            "Challenges, Schritt",
            "Mini-Konferenzen",
            "Lernteams, Treffen",
            "Ausstellung",
            "Abschluss",
        ),
    };
    let mut out = vec![
        ("welcome".to_owned(), welcome.to_owned()),
        ("plenary".to_owned(), plenary.to_owned()),
    ];
    out.extend((1..=6).map(|n| (format!("step-{n}"), format!("{step} {n}"))));
    out.push(("conferences".to_owned(), conferences.to_owned()));
    out.extend((1..=3).map(|n| (format!("moment-{n}"), format!("{moment} {n}"))));
    out.push(("exhibition".to_owned(), exhibition.to_owned()));
    out.push(("closing".to_owned(), closing.to_owned()));
    out
}

/// What a review did, in a sentence.
pub fn reviewed(lang: Lang, id: u32, status: ProposalStatus, challenge: Option<u32>) -> String {
    match (lang, challenge) {
        (Lang::Fr, Some(n)) => format!("Proposition {id} acceptée : c'est le défi {n}."),
        (Lang::En, Some(n)) => format!("Proposal {id} accepted: it is challenge {n}."),
        (Lang::De, Some(n)) => format!("Vorschlag {id} angenommen: er ist Challenge {n}."),
        (Lang::Fr, None) => format!("Proposition {id} : {}.", proposal_status(lang, status)),
        (Lang::En, None) => format!("Proposal {id}: {}.", proposal_status(lang, status)),
        (Lang::De, None) => format!("Vorschlag {id}: {}.", proposal_status(lang, status)),
    }
}

/// What a creation form made, in a sentence.
pub fn created(lang: Lang, label: &str) -> String {
    match lang {
        Lang::Fr => format!("{label} : créé·e."),
        Lang::En => format!("{label}: created."),
        Lang::De => format!("{label}: angelegt."),
    }
}

/// Program items added, in a sentence.
pub fn items_added(lang: Lang, title: &str) -> String {
    match lang {
        Lang::Fr => format!("« {title} » ajouté au programme."),
        Lang::En => format!("“{title}” added to the program."),
        Lang::De => format!("„{title}“ zum Programm hinzugefügt."),
    }
}
