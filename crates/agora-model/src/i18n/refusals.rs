//! Refusals in French, English and German: every [`DomainError`] and every validation rule
//! the nodes word, so that a person reads why in their language (the status code and the
//! field name, the machine part, stay the same in all three).

use super::Lang;
use crate::{DomainError, Target};

/// The human part of a refusal in `lang`. The machine part stays as it is: the status
/// code (from [`DomainError::kind`]) and, for an invalid field, the field's name, which
/// starts the message in every language ("title: …"). English is the errors' own text.
/// The match is exhaustive: a new refusal does not compile until it is said in French and
/// German too.
pub fn error_message(e: &DomainError, lang: Lang) -> String {
    use DomainError as E;
    if lang == Lang::En {
        return e.to_string();
    }
    let fr = lang == Lang::Fr;
    let t = |f: String, d: String| if fr { f } else { d };
    match e {
        E::Invalid { field, rule } => format!("{field}: {}", rule_in(rule, lang)),
        E::ChallengeNotFound(n) => t(
            format!("défi {n} introuvable"),
            format!("Défi {n} nicht gefunden"),
        ),
        E::ParticipantNotFound(p) => t(
            format!("participant·e {p} introuvable"),
            format!("Teilnehmer·in {p} nicht gefunden"),
        ),
        E::RegistrationNotFound(r) => t(
            format!("inscription {r} introuvable"),
            format!("Anmeldung {r} nicht gefunden"),
        ),
        E::TicketNotFound(c) => t(
            format!("billet {c} introuvable"),
            format!("Ticket {c} nicht gefunden"),
        ),
        E::ChallengeExists(n) => t(
            format!("le défi {n} existe déjà"),
            format!("Défi {n} existiert bereits"),
        ),
        E::ThemeExists(id) => t(
            format!("le thème {id:?} existe déjà"),
            format!("Thema {id:?} existiert bereits"),
        ),
        E::NoChallengeNumberLeft { max } => t(
            format!("plus aucun numéro de défi libre sous {max}"),
            format!("keine freie Défi-Nummer unter {max} mehr"),
        ),
        E::AlreadyRegistered {
            participant,
            target,
            ticket,
        } => {
            let target = target_in(*target, lang);
            t(
                format!("{participant} est déjà inscrit·e à : {target} (billet {ticket})"),
                format!("{participant} ist bereits angemeldet: {target} (Ticket {ticket})"),
            )
        }
        E::AlreadyRegisteredConference {
            participant,
            conference,
        } => t(
            format!("{participant} est déjà inscrit·e à la mini-conférence {conference}"),
            format!("{participant} ist bereits für Mini-Konferenz {conference} angemeldet"),
        ),
        E::ProposalNotFound(n) => t(
            format!("proposition {n} introuvable"),
            format!("Vorschlag {n} nicht gefunden"),
        ),
        E::ProposalClosed { proposal, status } => t(
            format!("la proposition {proposal} est déjà {status} : elle ne peut plus changer"),
            format!("Vorschlag {proposal} ist bereits {status}: er kann sich nicht mehr ändern"),
        ),
        E::ProgramItemNotFound(n) => t(
            format!("élément {n} du programme introuvable"),
            format!("Programmpunkt {n} nicht gefunden"),
        ),
        E::ConferenceNotFound(n) => t(
            format!("mini-conférence {n} introuvable"),
            format!("Mini-Konferenz {n} nicht gefunden"),
        ),
        E::TeamNotFound(n) => t(
            format!("équipe apprenante {n} introuvable"),
            format!("Lernteam {n} nicht gefunden"),
        ),
        E::NextActionNotFound(n) => t(
            format!("prochaine action {n} introuvable"),
            format!("nächster Schritt {n} nicht gefunden"),
        ),
        E::RoomTaken {
            room,
            by,
            start,
            end,
        } => t(
            format!("la salle {room:?} est prise par {by} de {start} à {end}"),
            format!("Raum {room:?} ist von {start} bis {end} durch {by} belegt"),
        ),
        E::SpeakerBusy {
            speaker,
            conference,
            start,
            end,
        } => t(
            format!(
                "l'intervenant·e {speaker} donne déjà la mini-conférence {conference} de {start} à {end}"
            ),
            format!(
                "Redner·in {speaker} hält bereits Mini-Konferenz {conference} von {start} bis {end}"
            ),
        ),
        E::AttendeeBusy {
            participant,
            conference,
            start,
            end,
        } => t(
            format!(
                "{participant} est inscrit·e à la mini-conférence {conference}, qui la chevauche ({start} à {end})"
            ),
            format!(
                "{participant} ist für Mini-Konferenz {conference} angemeldet, die sich damit überschneidet ({start} bis {end})"
            ),
        ),
        E::TeamFull { team, max } => t(
            format!("l'équipe apprenante {team} est complète ({max} membres)"),
            format!("Lernteam {team} ist voll ({max} Mitglieder)"),
        ),
        E::InTeam { participant, team } => t(
            format!("{participant} est déjà dans l'équipe apprenante {team}"),
            format!("{participant} ist bereits im Lernteam {team}"),
        ),
        E::NotTeamMember { participant, team } => t(
            format!("{participant} n'est pas membre de l'équipe apprenante {team}"),
            format!("{participant} ist kein Mitglied des Lernteams {team}"),
        ),
        E::RegisteredElsewhere {
            participant,
            challenge,
        } => t(
            format!(
                "{participant} est inscrit·e au défi {challenge} ; demandez le changement (move) pour libérer cette place et s'inscrire ici"
            ),
            format!(
                "{participant} ist für Défi {challenge} angemeldet; mit move wird dieser Platz frei und die Anmeldung hier möglich"
            ),
        ),
        E::NotOpen { challenge, status } => t(
            format!("le défi {challenge} n'est pas ouvert aux inscriptions (statut {status})"),
            format!("Défi {challenge} ist nicht für Anmeldungen offen (Status {status})"),
        ),
        E::StaleVersion {
            challenge,
            current,
            expected,
        } => t(
            format!(
                "le défi {challenge} est à la version {current}, pas {expected} : relisez-le puis recommencez"
            ),
            format!(
                "Défi {challenge} hat Version {current}, nicht {expected}: neu lesen und erneut versuchen"
            ),
        ),
        E::CapacityBelowConfirmed {
            challenge,
            capacity,
            confirmed,
        } => t(
            format!(
                "{capacity} places, c'est moins que les {confirmed} inscriptions confirmées du défi {challenge}"
            ),
            format!(
                "{capacity} Plätze sind weniger als die {confirmed} bestätigten Anmeldungen von Défi {challenge}"
            ),
        ),
        E::NotConfirmed { ticket, state } => t(
            format!("le billet {ticket} est {state}, pas confirmé : pas d'entrée possible"),
            format!("Ticket {ticket} ist {state}, nicht bestätigt: kein Einlass möglich"),
        ),
        E::AlreadyCancelled(r) => t(
            format!("l'inscription {r} est déjà annulée"),
            format!("Anmeldung {r} ist bereits storniert"),
        ),
        E::TicketSpaceExhausted { attempts } => t(
            format!("aucun code de billet libre trouvé en {attempts} essais"),
            format!("kein freier Ticketcode nach {attempts} Versuchen gefunden"),
        ),
        E::ParticipantErased(p) => t(
            format!(
                "{p} a été effacé·e : ses données n'existent plus et cette personne ne peut plus rien faire ici"
            ),
            format!(
                "{p} wurde gelöscht: die Daten gibt es nicht mehr, diese Person kann hier nichts mehr tun"
            ),
        ),
        E::RegisteredRemotely {
            participant,
            site,
            challenge,
        } => t(
            format!("{participant} est inscrit·e (ou en attente) au défi {challenge} de {site}"),
            format!(
                "{participant} ist für Défi {challenge} in {site} angemeldet (oder wartet darauf)"
            ),
        ),
        E::NotRemote(n) => t(
            format!("le défi {n} ne prend pas d'inscriptions d'autres sites"),
            format!("Défi {n} nimmt keine Anmeldungen anderer Standorte an"),
        ),
        E::RemoteRequestNotFound(r) => t(
            format!("demande à distance {r} introuvable"),
            format!("Fernanfrage {r} nicht gefunden"),
        ),
        E::RemoteExpired { site } => t(
            format!("la demande de {site} a expiré avant d'arriver"),
            format!("die Anfrage von {site} ist vor ihrer Ankunft abgelaufen"),
        ),
        E::CapacityBelowHeld {
            challenge,
            capacity,
            confirmed,
            held,
        } => t(
            format!(
                "la capacité {capacity} est inférieure aux {confirmed} inscriptions confirmées et {held} places réservées du défi {challenge}"
            ),
            format!(
                "Kapazität {capacity} liegt unter den {confirmed} bestätigten Anmeldungen und {held} reservierten Plätzen von Défi {challenge}"
            ),
        ),
        E::NoSeatToLease {
            challenge,
            capacity,
            confirmed,
            held,
        } => t(
            format!(
                "le défi {challenge} n'a plus de place à réserver ({confirmed} confirmées, {held} réservées, capacité {capacity})"
            ),
            format!(
                "Défi {challenge} hat keinen Platz mehr zu reservieren ({confirmed} bestätigt, {held} reserviert, Kapazität {capacity})"
            ),
        ),
        E::NotLeased(r) => t(
            format!(
                "la demande à distance {r} n'a pas pris de place réservée : seule une place réservée s'annule ici"
            ),
            format!(
                "Fernanfrage {r} hat keinen reservierten Platz belegt: nur ein reservierter Platz wird hier storniert"
            ),
        ),
        E::LeaseNotFound(l) => t(
            format!("réservation de places {l} introuvable"),
            format!("Platzreservierung {l} nicht gefunden"),
        ),
    }
}

/// A registration's target in `lang`: "défi 3", "Mini-Konferenz 2".
fn target_in(target: Target, lang: Lang) -> String {
    match (target, lang) {
        (Target::Challenge(n), Lang::Fr) => format!("défi {n}"),
        (Target::Challenge(n), Lang::De) => format!("Défi {n}"),
        (Target::Conference(n), Lang::Fr) => format!("mini-conférence {n}"),
        (Target::Conference(n), Lang::De) => format!("Mini-Konferenz {n}"),
        (target, Lang::En) => target.to_string(),
    }
}

/// The validation rules, as the nodes word them in English with `{}` where a value goes,
/// then in French and German with the same values in the same order. A rule is matched
/// whole against these patterns, first match wins: the more specific patterns come before
/// the general ones ("between 1 and {} seats" before "between {} and {}"). The values
/// (numbers, quoted input, API names) are carried over as they are.
const RULES: &[(&str, &str, &str)] = &[
    // Text.
    (
        "must not be empty",
        "ne doit pas être vide",
        "darf nicht leer sein",
    ),
    (
        "must hold at least {} characters (has {})",
        "{} caractères au moins (en a {})",
        "mindestens {} Zeichen (hat {})",
    ),
    (
        "must hold at most {} characters (has {})",
        "{} caractères au plus (en a {})",
        "höchstens {} Zeichen (hat {})",
    ),
    (
        "must hold at most {} characters",
        "{} caractères au plus",
        "höchstens {} Zeichen",
    ),
    (
        "must hold {} characters",
        "doit compter {} caractères",
        "muss {} Zeichen enthalten",
    ),
    (
        "must not contain control characters",
        "ne doit pas contenir de caractères de contrôle",
        "darf keine Steuerzeichen enthalten",
    ),
    (
        "must contain letters or digits",
        "doit contenir des lettres ou des chiffres",
        "muss Buchstaben oder Ziffern enthalten",
    ),
    (
        "must contain at least one letter or digit",
        "doit contenir au moins une lettre ou un chiffre",
        "muss mindestens einen Buchstaben oder eine Ziffer enthalten",
    ),
    (
        "must be printable ASCII without spaces",
        "doit être en ASCII imprimable, sans espace",
        "muss druckbares ASCII ohne Leerzeichen sein",
    ),
    ("is empty", "est vide", "ist leer"),
    // Required, given, chosen.
    (
        "is required on every mutating request (any unique string, e.g. a UUID)",
        "est requis sur toute requête qui écrit (une chaîne unique, par exemple un UUID)",
        "ist bei jeder schreibenden Anfrage erforderlich (eine eindeutige Zeichenkette, z. B. eine UUID)",
    ),
    (
        "is required: give the version you read (GetChallenge)",
        "est requis : donnez la version lue (GetChallenge)",
        "ist erforderlich: die gelesene Version angeben (GetChallenge)",
    ),
    (
        "is required ({})",
        "est requis ({})",
        "ist erforderlich ({})",
    ),
    ("is required", "est requis", "ist erforderlich"),
    (
        "give a challenge or a conference",
        "choisissez un défi ou une mini-conférence",
        "ein Défi oder eine Mini-Konferenz wählen",
    ),
    (
        "give {} or {}, not both",
        "donnez {} ou {}, pas les deux",
        "{} oder {} angeben, nicht beides",
    ),
    ("give {} or {}", "donnez {} ou {}", "{} oder {} angeben"),
    (
        "give 1..={} items (got {})",
        "donnez de 1 à {} éléments (reçu {})",
        "1 bis {} Einträge angeben (erhalten: {})",
    ),
    (
        "at most {} bytes of titles and rooms in one call (got {}): send the items in several calls",
        "{} octets de titres et de salles au plus par appel (reçu {}) : envoyez les éléments en plusieurs appels",
        "höchstens {} Bytes an Titeln und Räumen pro Aufruf (erhalten: {}): die Einträge auf mehrere Aufrufe verteilen",
    ),
    (
        "{} is given twice",
        "{} est donné deux fois",
        "{} ist doppelt angegeben",
    ),
    // Values.
    (
        "unknown value {}",
        "valeur inconnue {}",
        "unbekannter Wert {}",
    ),
    (
        "unknown status value {}",
        "valeur de statut inconnue {}",
        "unbekannter Statuswert {}",
    ),
    (
        "{} is not a number",
        "{} n'est pas un nombre",
        "{} ist keine Zahl",
    ),
    (
        "{}: fr, en or de",
        "{} : fr, en ou de",
        "{}: fr, en oder de",
    ),
    (
        "{} is not a language tag such as \"fr\", \"en\" or \"de-AT\"",
        "{} n'est pas une étiquette de langue comme \"fr\", \"en\" ou \"de-AT\"",
        "{} ist kein Sprachkürzel wie \"fr\", \"en\" oder \"de-AT\"",
    ),
    (
        "{} is not an email address",
        "{} n'est pas une adresse e-mail",
        "{} ist keine E-Mail-Adresse",
    ),
    (
        "{} is not a site id (2..={} characters of a-z, 0-9 and '-', starting with a letter)",
        "{} n'est pas un identifiant de site (2 à {} caractères parmi a-z, 0-9 et '-', commençant par une lettre)",
        "{} ist keine Standort-ID (2 bis {} Zeichen aus a-z, 0-9 und '-', beginnend mit einem Buchstaben)",
    ),
    (
        "{} is not a ticket code ({} symbols from {})",
        "{} n'est pas un code de billet ({} symboles parmi {})",
        "{} ist kein Ticketcode ({} Zeichen aus {})",
    ),
    (
        "{} is not a {} id (a UUID)",
        "{} n'est pas un identifiant de {} (un UUID)",
        "{} ist keine {}-ID (eine UUID)",
    ),
    // Numbers and ranges.
    (
        "must be between 1 and {} seats (got {})",
        "doit être entre 1 et {} places (reçu {})",
        "muss zwischen 1 und {} Plätzen liegen (erhalten: {})",
    ),
    (
        "must be a year between {} and {} (got {})",
        "doit être une année entre {} et {} (reçu {})",
        "muss ein Jahr zwischen {} und {} sein (erhalten: {})",
    ),
    (
        "must be milliseconds since the Unix epoch between 2000 and 2100 (got {})",
        "doit être en millisecondes depuis l'époque Unix, entre 2000 et 2100 (reçu {})",
        "muss in Millisekunden seit der Unix-Epoche zwischen 2000 und 2100 liegen (erhalten: {})",
    ),
    (
        "must be between {} and {} (got {})",
        "doit être entre {} et {} (reçu {})",
        "muss zwischen {} und {} liegen (erhalten: {})",
    ),
    (
        "must be between {} and {}",
        "doit être entre {} et {}",
        "muss zwischen {} und {} liegen",
    ),
    (
        "must be 1, 2 or 3 (got {})",
        "doit valoir 1, 2 ou 3 (reçu {})",
        "muss 1, 2 oder 3 sein (erhalten: {})",
    ),
    (
        "a challenge step is 1..=6 (got {})",
        "une étape de défi va de 1 à 6 (reçu {})",
        "ein Défi-Schritt liegt zwischen 1 und 6 (erhalten: {})",
    ),
    (
        "must be at most {} (got {})",
        "doit valoir au plus {} (reçu {})",
        "darf höchstens {} sein (erhalten: {})",
    ),
    (
        "must be at most {}",
        "doit valoir au plus {}",
        "darf höchstens {} sein",
    ),
    (
        "must not exceed max_members ({} > {})",
        "ne doit pas dépasser max_members ({} > {})",
        "darf max_members nicht übersteigen ({} > {})",
    ),
    (
        "at most {} events per change (has {})",
        "{} évènements au plus par changement (en a {})",
        "höchstens {} Ereignisse pro Änderung (hat {})",
    ),
    (
        "out of range",
        "hors limites",
        "außerhalb des gültigen Bereichs",
    ),
    // Time.
    (
        "must be after start_ms",
        "doit être après start_ms",
        "muss nach start_ms liegen",
    ),
    (
        "a slot lasts at most 24 hours",
        "un créneau dure 24 heures au plus",
        "ein Zeitfenster dauert höchstens 24 Stunden",
    ),
    (
        "{} is not a date (YYYY-MM-DD)",
        "{} n'est pas une date (AAAA-MM-JJ)",
        "{} ist kein Datum (JJJJ-MM-TT)",
    ),
    (
        "{} is not an IANA time zone (such as Europe/Paris)",
        "{} n'est pas un fuseau horaire IANA (comme Europe/Paris)",
        "{} ist keine IANA-Zeitzone (wie Europe/Paris)",
    ),
    (
        "{} has no midnight in {}",
        "{} n'a pas de minuit dans {}",
        "{} hat keine Mitternacht in {}",
    ),
    // Challenges, themes, people.
    (
        "at least one facilitator is required",
        "au moins un·e facilitateur·rice est requis·e",
        "mindestens eine Moderation ist erforderlich",
    ),
    (
        "at most {} holders, facilitators and speakers together (has {})",
        "{} porteur·euses, facilitateur·rices et intervenant·es au plus en tout (en a {})",
        "höchstens {} Träger·innen, Moderator·innen und Redner·innen zusammen (hat {})",
    ),
    (
        "at most {} further questions (has {})",
        "{} questions supplémentaires au plus (en a {})",
        "höchstens {} weitere Fragen (hat {})",
    ),
    (
        "repeats an earlier question of the challenge",
        "répète une question précédente du défi",
        "wiederholt eine frühere Frage des Défis",
    ),
    (
        "gives {} questions for the original's {}",
        "donne {} questions pour les {} de l'original",
        "gibt {} Fragen für die {} des Originals",
    ),
    (
        "a duplicate cannot be open for registration (use draft or closed)",
        "un doublon ne peut pas être ouvert aux inscriptions (draft ou closed)",
        "ein Duplikat kann nicht für Anmeldungen offen sein (draft oder closed verwenden)",
    ),
    (
        "a challenge cannot repeat itself",
        "un défi ne peut pas être son propre doublon",
        "ein Défi kann nicht sein eigenes Duplikat sein",
    ),
    (
        "challenge {} does not exist (create it first)",
        "le défi {} n'existe pas (créez-le d'abord)",
        "Défi {} existiert nicht (zuerst anlegen)",
    ),
    (
        "at least one theme is required",
        "au moins un thème est requis",
        "mindestens ein Thema ist erforderlich",
    ),
    (
        "at most {} themes (has {})",
        "{} thèmes au plus (en a {})",
        "höchstens {} Themen (hat {})",
    ),
    (
        "unknown theme {} (see ListThemes, or add it with AddTheme)",
        "thème inconnu {} (voir ListThemes, ou l'ajouter avec AddTheme)",
        "unbekanntes Thema {} (siehe ListThemes, oder mit AddTheme hinzufügen)",
    ),
    (
        "unknown theme {} (see ListThemes)",
        "thème inconnu {} (voir ListThemes)",
        "unbekanntes Thema {} (siehe ListThemes)",
    ),
    (
        "must be the slug of its label ({})",
        "doit être le slug de son libellé ({})",
        "muss der Slug seiner Bezeichnung sein ({})",
    ),
    // Registrations and the federation.
    (
        "applies to challenges only: conference registrations do not exclude each other",
        "ne s'applique qu'aux défis : les inscriptions aux mini-conférences ne s'excluent pas",
        "gilt nur für Défis: Anmeldungen zu Mini-Konferenzen schließen einander nicht aus",
    ),
    (
        "only challenge registrations leave a site",
        "seules les inscriptions aux défis quittent un site",
        "nur Anmeldungen zu Défis verlassen einen Standort",
    ),
    (
        "this kind of event stays on its site and is not accepted here",
        "ce type d'évènement reste sur son site et n'est pas accepté ici",
        "diese Art von Ereignis bleibt an ihrem Standort und wird hier nicht angenommen",
    ),
    (
        "must be 1 or more",
        "doit valoir 1 ou plus",
        "muss 1 oder mehr sein",
    ),
];

/// A validation rule in `lang`: the first pattern of [`RULES`] that matches the English
/// whole, with its values put back into the translation; a rule no pattern knows keeps its
/// English words (never loses them).
pub fn rule_in(rule: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return rule.to_owned();
    }
    for (en, fr, de) in RULES {
        if let Some(values) = values_of(en, rule) {
            return fill(lang.pick(fr, en, de), &values);
        }
    }
    rule.to_owned()
}

/// The values in `text` where `pattern` has `{}`, if `text` is `pattern` filled. Each
/// value runs to the first occurrence of the literal text that follows it (to the end for
/// a last one), and is never empty.
fn values_of<'a>(pattern: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let mut pieces = pattern.split("{}");
    let first = pieces.next().unwrap_or("");
    let mut rest = text.strip_prefix(first)?;
    let mut values = Vec::new();
    let literals: Vec<&str> = pieces.collect();
    for (i, literal) in literals.iter().enumerate() {
        let last = i + 1 == literals.len();
        let end = if last {
            rest.len().checked_sub(literal.len())?
        } else if literal.is_empty() {
            return None; // two values side by side cannot be told apart
        } else {
            let skip = rest.chars().next()?.len_utf8();
            rest[skip..].find(literal)? + skip
        };
        let value = rest.get(..end)?;
        if value.is_empty() || !rest[end..].starts_with(literal) {
            return None;
        }
        values.push(value);
        rest = &rest[end + literal.len()..];
    }
    rest.is_empty().then_some(values)
}

/// `pattern` with its `{}` replaced by `values`, in order.
fn fill(pattern: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut values = values.iter();
    let mut pieces = pattern.split("{}");
    out.push_str(pieces.next().unwrap_or(""));
    for piece in pieces {
        out.push_str(values.next().copied().unwrap_or(""));
        out.push_str(piece);
    }
    out
}

#[cfg(test)]
mod tests;
