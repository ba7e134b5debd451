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
    pub const MAX_LABEL: usize = 120;

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

/// The 7 "grandes mutations" of the call for défis, every site's initial theme list.
pub const GRANDES_MUTATIONS: [&str; 7] = [
    "Les transitions écologiques",
    "La qualité de l'action publique",
    "La démocratie et la citoyenneté",
    "Les réformes institutionnelles territoriales et leurs impacts sur les agent·e·s",
    "Les transitions numériques de l'offre de service public",
    "La cohésion urbaine",
    "La promotion et la prévention de la santé publique",
];

/// The default theme list.
pub fn default_themes() -> Vec<Theme> {
    GRANDES_MUTATIONS
        .iter()
        .map(|label| Theme::from_label(label).expect("built-in theme labels are valid"))
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
