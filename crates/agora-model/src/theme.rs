//! Themes ("grandes mutations"): data, not an enum, so sites can add their own.

use serde::{Deserialize, Serialize};

use crate::{DomainError, text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    /// Slug of the label, stable once created.
    pub id: String,
    pub label: String,
}

impl Theme {
    pub const MAX_LABEL: usize = 200;

    /// A theme from a label typed by a person; the id is the label's slug.
    pub fn from_label(label: &str) -> Result<Theme, DomainError> {
        let label = text::checked("label", label, 1, Self::MAX_LABEL)?;
        let id = text::slug(&label);
        if id.is_empty() {
            return Err(DomainError::invalid(
                "label",
                "must contain at least one letter or digit",
            ));
        }
        Ok(Theme { id, label })
    }
}

/// The 7 "grandes mutations" of the call for défis, every site's initial theme list, as
/// the organisers' document writes them.
pub const GRANDES_MUTATIONS: [&str; 7] = [
    crate::i18n::KNOWN_THEMES[0].fr,
    crate::i18n::KNOWN_THEMES[1].fr,
    crate::i18n::KNOWN_THEMES[2].fr,
    crate::i18n::KNOWN_THEMES[3].fr,
    crate::i18n::KNOWN_THEMES[4].fr,
    crate::i18n::KNOWN_THEMES[5].fr,
    crate::i18n::KNOWN_THEMES[6].fr,
];

/// The default theme list: the grandes mutations under their stable ids.
pub fn default_themes() -> Vec<Theme> {
    crate::i18n::KNOWN_THEMES[..GRANDES_MUTATIONS.len()]
        .iter()
        .map(|t| Theme {
            id: t.id.to_owned(),
            label: t.fr.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_themes_have_distinct_slugs() {
        let themes = default_themes();
        let mut ids: Vec<_> = themes.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids[0], "les-transitions-ecologiques");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7);
        for t in default_themes() {
            assert!(t.label.chars().count() <= Theme::MAX_LABEL, "{}", t.id);
        }
    }

    #[test]
    fn mutation_labels_are_the_documents_own() {
        assert!(GRANDES_MUTATIONS[4].ends_with("par \"l'informatique pour tous\")"));
        assert!(GRANDES_MUTATIONS[3].ends_with("les agent.e.s"));
    }

    #[test]
    fn label_without_letters_is_refused() {
        assert!(Theme::from_label("« ? »").is_err());
        assert_eq!(
            Theme::from_label("Lutte contre les exclusions").map(|t| t.id),
            Ok("lutte-contre-les-exclusions".to_owned())
        );
    }
}
