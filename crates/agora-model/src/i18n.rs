//! Languages: French first, English and German for what a person reads. The labels the
//! model owns (the themes of the call for défis) in the three languages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A language people read Agora in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Fr,
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::En, Lang::De];

    /// From a BCP 47 tag or a bare code: "fr", "en-GB", "DE" (case does not matter).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
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

    /// Picks the text of this language among (fr, en, de).
    pub fn pick<'a>(self, fr: &'a str, en: &'a str, de: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
            Lang::De => de,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A theme the model knows in three languages: its stable id and its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownTheme {
    pub id: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
    pub de: &'static str,
}

impl KnownTheme {
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.fr, self.en, self.de)
    }
}

/// The 7 "grandes mutations" of the call for défis, as the organisers' document writes
/// them, then the two themes the 2017 défis add. The ids are those the sites have used
/// since the first version (slugs of the labels as first typed), so they stay stable.
pub const KNOWN_THEMES: [KnownTheme; 9] = [
    KnownTheme {
        id: "les-transitions-ecologiques",
        fr: "Les transitions écologiques",
        en: "Ecological transitions",
        de: "Der ökologische Wandel",
    },
    KnownTheme {
        id: "la-qualite-de-l-action-publique",
        fr: "La qualité de l'action publique",
        en: "The quality of public action",
        de: "Die Qualität des öffentlichen Handelns",
    },
    KnownTheme {
        id: "la-democratie-et-la-citoyennete",
        fr: "La démocratie et la citoyenneté",
        en: "Democracy and citizenship",
        de: "Demokratie und Bürgerschaft",
    },
    KnownTheme {
        id: "les-reformes-institutionnelles-territoriales-et-leurs-impacts-sur-les-agent-e-s",
        fr: "Les réformes institutionnelles territoriales et leurs impacts sur les agent.e.s",
        en: "Territorial institutional reforms and their impact on public employees",
        de: "Territoriale institutionelle Reformen und ihre Folgen für die Beschäftigten",
    },
    KnownTheme {
        id: "les-transitions-numeriques-de-l-offre-de-service-public",
        fr: "Les transitions numériques de l'offre de service public (y compris la lutte contre la fracture numérique par \"l'informatique pour tous\")",
        en: "Digital transitions of public services (including bridging the digital divide through \"computing for all\")",
        de: "Der digitale Wandel öffentlicher Dienstleistungen (einschließlich der Überwindung der digitalen Kluft durch „Informatik für alle“)",
    },
    KnownTheme {
        id: "la-cohesion-urbaine",
        fr: "La cohésion urbaine",
        en: "Urban cohesion",
        de: "Städtischer Zusammenhalt",
    },
    KnownTheme {
        id: "la-promotion-et-la-prevention-de-la-sante-publique",
        fr: "La promotion et la prévention de la santé publique",
        en: "Public health promotion and prevention",
        de: "Gesundheitsförderung und Prävention",
    },
    KnownTheme {
        id: "lutte-contre-les-exclusions",
        fr: "Lutte contre les exclusions",
        en: "Fighting exclusion",
        de: "Bekämpfung von Ausgrenzung",
    },
    KnownTheme {
        id: "identite-territoriale",
        fr: "Identité territoriale",
        en: "Territorial identity",
        de: "Territoriale Identität",
    },
];

/// The model's own translation of a theme, if it knows the id.
pub fn known_theme(id: &str) -> Option<&'static KnownTheme> {
    KNOWN_THEMES.iter().find(|t| t.id == id)
}

/// A theme's label in `lang`: the model's translation when it knows the theme, else the
/// label the site gave it (sites add themes in their own language).
pub fn theme_label<'a>(id: &str, stored: &'a str, lang: Lang) -> &'a str {
    match known_theme(id) {
        Some(t) => t.label(lang),
        None => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_by_their_primary_language() {
        assert_eq!(Lang::parse("fr"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse(" DE "), Some(Lang::De));
        assert_eq!(Lang::parse("de_AT"), Some(Lang::De));
        assert_eq!(Lang::parse("it"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn every_known_theme_has_three_distinct_labels() {
        for t in KNOWN_THEMES {
            assert!(!t.fr.is_empty() && !t.en.is_empty() && !t.de.is_empty());
            assert_ne!(t.fr, t.en, "{}", t.id);
            assert_ne!(t.en, t.de, "{}", t.id);
        }
        assert_eq!(
            theme_label("la-cohesion-urbaine", "x", Lang::De),
            "Städtischer Zusammenhalt"
        );
        assert_eq!(
            theme_label("added-by-a-site", "Mobilité", Lang::En),
            "Mobilité"
        );
    }
}

/// The human part of a refusal in `lang`. The machine part stays as it is: the status
/// code (from [`crate::DomainError::kind`]) and, for an invalid field, the field's name,
/// which starts the message in every language ("title: …"). English is the errors' own
/// text; the French and German say the refusals people meet at a desk or in an import,
/// and fall back to English for the rare ones and for rules they do not know.
pub fn error_message(e: &crate::DomainError, lang: Lang) -> String {
    use crate::DomainError as E;
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
        E::TicketNotFound(c) => t(
            format!("billet {c} introuvable"),
            format!("Ticket {c} nicht gefunden"),
        ),
        E::ConferenceNotFound(n) => t(
            format!("mini-conférence {n} introuvable"),
            format!("Mini-Konferenz {n} nicht gefunden"),
        ),
        E::ChallengeExists(n) => t(
            format!("le défi {n} existe déjà"),
            format!("Défi {n} existiert bereits"),
        ),
        E::AlreadyRegistered {
            participant,
            target,
            ticket,
        } => t(
            format!("{participant} est déjà inscrit·e à {target} (billet {ticket})"),
            format!("{participant} ist bereits für {target} angemeldet (Ticket {ticket})"),
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
        E::RoomTaken {
            room,
            by,
            start,
            end,
        } => t(
            format!("la salle {room:?} est prise par {by} de {start} à {end}"),
            format!("Raum {room:?} ist von {start} bis {end} durch {by} belegt"),
        ),
        E::TeamFull { team, max } => t(
            format!("l'équipe apprenante {team} est complète ({max} membres)"),
            format!("Lernteam {team} ist voll ({max} Mitglieder)"),
        ),
        other => other.to_string(),
    }
}

/// A validation rule in `lang`, for the rules the model words most often; others stay in
/// English.
fn rule_in(rule: &str, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    if rule == "must not be empty" {
        return (if fr {
            "ne doit pas être vide"
        } else {
            "darf nicht leer sein"
        })
        .to_owned();
    }
    if rule == "is required" {
        return (if fr { "est requis" } else { "ist erforderlich" }).to_owned();
    }
    // "must hold at most {max} characters (has {n})"
    if let Some(rest) = rule.strip_prefix("must hold at most ")
        && let Some((max, rest)) = rest.split_once(" characters (has ")
        && let Some(n) = rest.strip_suffix(')')
    {
        return if fr {
            format!("{max} caractères au plus (en a {n})")
        } else {
            format!("höchstens {max} Zeichen (hat {n})")
        };
    }
    if let Some(rest) = rule.strip_prefix("unknown theme ") {
        let quoted = rest.split(" (").next().unwrap_or(rest);
        return if fr {
            format!("thème inconnu {quoted} (voir ListThemes, ou l'ajouter avec AddTheme)")
        } else {
            format!("unbekanntes Thema {quoted} (siehe ListThemes, oder mit AddTheme hinzufügen)")
        };
    }
    if rule == "at least one facilitator is required" {
        return (if fr {
            "au moins un·e facilitateur·rice est requis·e"
        } else {
            "mindestens eine Moderation ist erforderlich"
        })
        .to_owned();
    }
    rule.to_owned()
}

#[cfg(test)]
mod error_tests {
    use super::*;
    use crate::DomainError;

    #[test]
    fn the_field_name_stays_and_the_human_part_is_translated() {
        let e = DomainError::invalid("title", "must hold at most 300 characters (has 301)");
        assert_eq!(
            error_message(&e, Lang::En),
            "title: must hold at most 300 characters (has 301)"
        );
        assert_eq!(
            error_message(&e, Lang::Fr),
            "title: 300 caractères au plus (en a 301)"
        );
        assert_eq!(
            error_message(&e, Lang::De),
            "title: höchstens 300 Zeichen (hat 301)"
        );
        let e = DomainError::invalid("holders[0].name", "must not be empty");
        assert_eq!(
            error_message(&e, Lang::De),
            "holders[0].name: darf nicht leer sein"
        );
        assert_eq!(
            error_message(&e, Lang::Fr),
            "holders[0].name: ne doit pas être vide"
        );
        let e = DomainError::ChallengeNotFound(19);
        assert_eq!(error_message(&e, Lang::De), "Défi 19 nicht gefunden");
        assert_eq!(error_message(&e, Lang::Fr), "défi 19 introuvable");
        // A rule without a translation keeps its English words, never loses them.
        let e = DomainError::invalid("capacity", "must be between 1 and 10000 seats (got 0)");
        assert_eq!(
            error_message(&e, Lang::Fr),
            "capacity: must be between 1 and 10000 seats (got 0)"
        );
    }

    #[test]
    fn unknown_theme_keeps_the_theme_as_given() {
        let e = DomainError::invalid(
            "themes[0]",
            "unknown theme \"astrologie\" (see ListThemes, or add it with AddTheme)",
        );
        assert!(
            error_message(&e, Lang::De).starts_with("themes[0]: unbekanntes Thema \"astrologie\"")
        );
    }
}
