//! Text rules shared by every entity: trimming, length limits counted in characters, no
//! control characters, and the folding used to compare titles and make slugs.

use crate::DomainError;

/// Trims `value` and checks it holds `min..=max` characters and no control characters.
pub fn checked(field: &str, value: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        return Err(DomainError::invalid(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must hold at least {min} characters (has {n})")
            },
        ));
    }
    if n > max {
        return Err(DomainError::invalid(
            field,
            format!("must hold at most {max} characters (has {n})"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}

/// Folds text for comparison: accents removed, lowercase, every run of punctuation or space
/// turned into one space, trimmed. "Comment « re-designer » l'accueil ?" and
/// "comment re designer l accueil" fold to the same string.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// A slug for ids derived from labels: the folded text with dashes for spaces.
pub fn slug(text: &str) -> String {
    fold(text).replace(' ', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_fold(input: &str, expected: &str) {
        assert_eq!(fold(input), expected, "fold({input:?})");
    }

    #[test]
    fn fold_removes_case_accents_and_punctuation() {
        check_fold("Les transitions écologiques", "les transitions ecologiques");
        check_fold(
            "Comment « re-designer » l'accueil ?",
            "comment re designer l accueil",
        );
        check_fold("  Cohésion   urbaine, ", "cohesion urbaine");
        check_fold("Œuvre", "oeuvre");
        check_fold("?!", "");
    }

    #[test]
    fn checked_trims_and_counts_characters_not_bytes() {
        assert_eq!(checked("f", "  Mâcon ", 1, 5).as_deref(), Ok("Mâcon"));
        assert!(checked("f", "Mâcons", 1, 5).is_err());
        let err = checked("title", "   ", 1, 10).unwrap_err();
        assert_eq!(err.to_string(), "title: must not be empty");
        assert!(checked("f", "a\u{7}b", 1, 10).is_err());
        assert!(checked("f", "line\nnext", 1, 20).is_ok());
    }
}
