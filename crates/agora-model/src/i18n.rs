//! Languages: French first, English and German for what a person reads. The labels the
//! model owns (the themes of the call for défis) in the three languages.

use std::fmt;

use serde::{Deserialize, Serialize};

mod refusals;
pub use refusals::{error_message, rule_in};

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
