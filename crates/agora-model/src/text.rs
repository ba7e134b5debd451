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

/// Edit distance between two words counting an insertion, a deletion, a substitution or
/// the swap of two neighbouring letters as one edit ("Khel" is one edit from "Kehl").
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The words of `text` that look like a misspelling of `place`: one edit away once folded
/// (case and accents do not count), at least four letters long. "Ville de Khel" → "Khel"
/// for "Kehl"; "Mâcon" is not reported for "Macon", it is the same word.
pub fn near_misses<'a>(text: &'a str, place: &str) -> Vec<&'a str> {
    let place = fold(place);
    if place.is_empty() || place.contains(' ') {
        return Vec::new();
    }
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .filter(|w| {
            let f = fold(w);
            f != place && edit_distance(&f, &place) == 1
        })
        .collect()
}

/// Whether `text` names `place` as a whole word (or words), folded.
pub fn names(text: &str, place: &str) -> bool {
    let place = fold(place);
    !place.is_empty() && format!(" {} ", fold(text)).contains(&format!(" {place} "))
}

#[cfg(test)]
mod place_tests {
    use super::*;

    #[test]
    fn a_swap_of_two_letters_is_one_edit() {
        assert_eq!(edit_distance("khel", "kehl"), 1);
        assert_eq!(edit_distance("cluny", "cluny"), 0);
        assert_eq!(edit_distance("volvic", "macon"), 6);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn near_misses_of_a_site_name_are_found_not_its_own_spelling() {
        assert_eq!(
            near_misses("Directrice de cabinet, Ville de Khel", "Kehl"),
            ["Khel"]
        );
        assert!(near_misses("Ville de Kehl", "Kehl").is_empty());
        assert!(near_misses("agglomération de Macon", "Mâcon").is_empty());
        assert!(near_misses("Keh", "Kehl").is_empty(), "too short to judge");
        assert_eq!(near_misses("Clunny", "Cluny"), ["Clunny"]);
    }

    #[test]
    fn names_matches_whole_words_only() {
        assert!(names("DGS de Cluny", "Cluny"));
        assert!(names("Ville de Mâcon", "Macon"));
        assert!(!names("Communauté urbaine de clunisois", "Cluny"));
    }
}
