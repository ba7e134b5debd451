//! Challenges (défis): their fields, their limits and their status.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, Lang, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeStatus {
    Draft,
    Open,
    Closed,
    Exhibited,
}

impl fmt::Display for ChallengeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChallengeStatus::Draft => "draft",
            ChallengeStatus::Open => "open",
            ChallengeStatus::Closed => "closed",
            ChallengeStatus::Exhibited => "exhibited",
        })
    }
}

/// A person named on a challenge (porteur, facilitateur·rice, conférencier·e): their name,
/// their role as written ("DGS", "cheffe de projet") and their organisation ("Ville de
/// Cluny", "CNFPT"). A holder's organisation is the collectivity that brings the défi.
///
/// They are public by role: their names are on the posters and go up to the national node,
/// unless `private`: then the name stays on the site's own pages (the organisers') and what
/// leaves it (posters, exports, the national node) shows the role and organisation only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Empty only in a private person's copy that left the site ([`Person::public`]).
    pub name: String,
    pub role: String,
    pub organisation: String,
    /// The name is not to be shown or shared beyond the site's organisers.
    pub private: bool,
}

/// Written with `private` last; in format 2's layout (without it) inside
/// [`crate::compat::with_format_2`].
impl Serialize for Person {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let format_2 = crate::compat::reading_format_2();
        let mut st = s.serialize_struct("Person", if format_2 { 3 } else { 4 })?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("role", &self.role)?;
        st.serialize_field("organisation", &self.organisation)?;
        if !format_2 {
            st.serialize_field("private", &self.private)?;
        }
        st.end()
    }
}

/// `Person` as stored before it had `private` (format 2): postcard writes a struct's fields
/// one after the other with no names, so a stored format-2 value lacks the last one.
impl<'de> Deserialize<'de> for Person {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Person, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Person")]
        struct V2 {
            name: String,
            role: String,
            organisation: String,
        }
        #[derive(Deserialize)]
        #[serde(rename = "Person")]
        struct V3 {
            name: String,
            role: String,
            organisation: String,
            #[serde(default)]
            private: bool,
        }
        if crate::compat::reading_format_2() {
            let V2 {
                name,
                role,
                organisation,
            } = V2::deserialize(d)?;
            Ok(Person {
                name,
                role,
                organisation,
                private: false,
            })
        } else {
            let V3 {
                name,
                role,
                organisation,
                private,
            } = V3::deserialize(d)?;
            Ok(Person {
                name,
                role,
                organisation,
                private,
            })
        }
    }
}

/// The person who brings a challenge or a proposal (porteur de défi).
pub type Holder = Person;

impl Person {
    /// A person known only by name.
    pub fn named(name: &str) -> Person {
        Person {
            name: name.to_owned(),
            ..Person::default()
        }
    }

    /// Checks the three texts; `field` names the person in errors (`holders[0]`) and
    /// `organisation_key` the organisation's field there (holders say `collectivity` on the
    /// wire). `organisation_required` is for proposals, whose holder names a collectivity.
    pub fn validated(
        &self,
        field: &str,
        organisation_key: &str,
        organisation_required: bool,
    ) -> Result<Person, DomainError> {
        use limits::*;
        // A private person's copy from a site comes without the name.
        let min_name = usize::from(!self.private);
        Ok(Person {
            name: text::checked(&format!("{field}.name"), &self.name, min_name, MAX_NAME)?,
            role: text::checked(&format!("{field}.role"), &self.role, 0, MAX_ROLE)?,
            organisation: text::checked(
                &format!("{field}.{organisation_key}"),
                &self.organisation,
                usize::from(organisation_required),
                MAX_ORGANISATION,
            )?,
            private: self.private,
        })
    }

    /// The person as shown or shared beyond the site's organisers: a private person without
    /// their name.
    pub fn public(&self) -> Person {
        Person {
            name: if self.private {
                String::new()
            } else {
                self.name.clone()
            },
            ..self.clone()
        }
    }

    /// What a poster or an export prints for them: the name, or for a private person their
    /// role (else their organisation).
    pub fn shown(&self) -> &str {
        if !self.private {
            &self.name
        } else if !self.role.is_empty() {
            &self.role
        } else {
            &self.organisation
        }
    }
}

impl From<&str> for Person {
    fn from(name: &str) -> Person {
        Person::named(name)
    }
}

/// A challenge's title and further questions in another language than the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    pub lang: Lang,
    pub title: String,
    /// Empty, or one per further question of the original, in the same order.
    pub more_questions: Vec<String>,
}

/// What an organiser writes when creating or editing a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeFields {
    /// The (first) question.
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    /// Porteurs.
    pub holders: Vec<Person>,
    /// Facilitateurs·rices, at least one.
    pub facilitators: Vec<Person>,
    /// Conférenciers·ères or grands témoins who come for this défi.
    pub speakers: Vec<Person>,
    /// Questions after the first (the document's défi 8 asks two).
    pub more_questions: Vec<String>,
    /// The year of the edition the défi was brought to; `None` if not said. The plenary
    /// shows the défis of other years as such.
    pub edition: Option<u16>,
    /// The challenge this one repeats (the call for défis often receives one twice): kept
    /// for the record, never open for registration.
    pub duplicate_of: Option<u32>,
    /// The title and questions in other languages.
    pub translations: Vec<Translation>,
    pub room: String,
    pub capacity: u32,
    pub status: ChallengeStatus,
}

impl Default for ChallengeFields {
    fn default() -> Self {
        ChallengeFields {
            title: String::new(),
            description: String::new(),
            themes: Vec::new(),
            holders: Vec::new(),
            facilitators: Vec::new(),
            speakers: Vec::new(),
            more_questions: Vec::new(),
            edition: None,
            duplicate_of: None,
            translations: Vec::new(),
            room: String::new(),
            capacity: 0,
            status: ChallengeStatus::Open,
        }
    }
}

impl ChallengeFields {
    /// Every question: the title, then the further ones.
    pub fn questions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.title.as_str()).chain(self.more_questions.iter().map(String::as_str))
    }

    /// The title in `lang` if the challenge carries it, else the original.
    pub fn title_in(&self, lang: Lang) -> &str {
        self.translations
            .iter()
            .find(|t| t.lang == lang)
            .map_or(self.title.as_str(), |t| t.title.as_str())
    }
}

/// A challenge as stored: its fields plus identity and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub number: u32,
    pub fields: ChallengeFields,
    pub version: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A challenge offered instead of a full one: at this site (`site` is `None`) or at
/// another site of the national directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    pub site: Option<String>,
    pub number: u32,
    pub seats_left: u32,
}

/// What to offer someone who lands on the waiting list of `full`: the other open
/// challenges with a seat left that share one of its themes, this site's first, then those
/// of other sites (`remote`, from the national directory); within each, the most themes
/// in common first, then the most seats left, then by site and number; at most `max`.
pub fn alternatives<'a>(
    full: &Challenge,
    local: impl IntoIterator<Item = (&'a Challenge, &'a crate::SeatPool)>,
    remote: impl IntoIterator<Item = (&'a str, &'a crate::shared::ReplicaChallenge)>,
    max: usize,
) -> Vec<Alternative> {
    let shared = |c: &Challenge| {
        c.fields
            .themes
            .iter()
            .filter(|t| full.fields.themes.contains(t))
            .count()
    };
    let here = local
        .into_iter()
        .filter(|(c, _)| c.number != full.number)
        .map(|(c, p)| (None, c, p.seats_left()));
    let elsewhere = remote.into_iter().map(|(site, r)| {
        let left = r
            .challenge
            .fields
            .capacity
            .saturating_sub(r.counts.confirmed);
        (Some(site), &r.challenge, left)
    });
    let mut found: Vec<(bool, usize, u32, Option<&str>, u32)> = here
        .chain(elsewhere)
        .filter(|(_, c, left)| c.fields.status == ChallengeStatus::Open && *left > 0)
        .filter_map(|(site, c, left)| {
            let n = shared(c);
            (n > 0).then_some((site.is_some(), n, left, site, c.number))
        })
        .collect();
    found.sort_by(|a, b| {
        (a.0.cmp(&b.0))
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.cmp(&b.3))
            .then(a.4.cmp(&b.4))
    });
    found
        .into_iter()
        .take(max)
        .map(|(_, _, seats_left, site, number)| Alternative {
            site: site.map(str::to_owned),
            number,
            seats_left,
        })
        .collect()
}

/// Limits, in characters unless said otherwise. They are part of the API contract.
pub mod limits {
    pub const MAX_NUMBER: u32 = 9_999;
    pub const MAX_TITLE: usize = 300;
    pub const MAX_DESCRIPTION: usize = 4_000;
    pub const MAX_THEMES: usize = 7;
    /// Holders, facilitators and speakers together.
    pub const MAX_PEOPLE: usize = 10;
    pub const MAX_NAME: usize = 120;
    pub const MAX_ROLE: usize = 200;
    pub const MAX_ORGANISATION: usize = 200;
    /// Questions after the title.
    pub const MAX_MORE_QUESTIONS: usize = 5;
    pub const MIN_EDITION: u16 = 2000;
    pub const MAX_EDITION: u16 = 2100;
    pub const MAX_ROOM: usize = 80;
    /// Seats: a défi is ~10 people; more than this is a typing error.
    pub const MAX_CAPACITY: u32 = 10_000;
}

fn people(field: &str, given: &[Person]) -> Result<Vec<Person>, DomainError> {
    let key = if field == "holders" {
        "collectivity"
    } else {
        "organisation"
    };
    given
        .iter()
        .enumerate()
        .map(|(i, p)| p.validated(&format!("{field}[{i}]"), key, false))
        .collect()
}

fn questions(field: &str, given: &[String]) -> Result<Vec<String>, DomainError> {
    use limits::*;
    if given.len() > MAX_MORE_QUESTIONS {
        return Err(DomainError::invalid(
            field,
            format!(
                "at most {MAX_MORE_QUESTIONS} further questions (has {})",
                given.len()
            ),
        ));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, q)| text::checked(&format!("{field}[{i}]"), q, 1, MAX_TITLE))
        .collect()
}

impl ChallengeFields {
    /// Holders, facilitators and speakers, in that order.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.holders
            .iter()
            .chain(&self.facilitators)
            .chain(&self.speakers)
    }

    pub fn people_mut(&mut self) -> impl Iterator<Item = &mut Person> {
        self.holders
            .iter_mut()
            .chain(&mut self.facilitators)
            .chain(&mut self.speakers)
    }

    /// Trims and checks every field; `theme_exists` says whether a theme id is on the list.
    pub fn validated(
        &self,
        theme_exists: &mut dyn FnMut(&str) -> bool,
    ) -> Result<ChallengeFields, DomainError> {
        use limits::*;
        let title = text::checked("title", &self.title, 1, MAX_TITLE)?;
        let description = text::checked("description", &self.description, 0, MAX_DESCRIPTION)?;
        let themes = check_themes("themes", &self.themes, theme_exists)?;
        let count = self.holders.len() + self.facilitators.len() + self.speakers.len();
        if count > MAX_PEOPLE {
            return Err(DomainError::invalid(
                "people",
                format!(
                    "at most {MAX_PEOPLE} holders, facilitators and speakers together (has {count})"
                ),
            ));
        }
        let holders = people("holders", &self.holders)?;
        if self.facilitators.is_empty() {
            return Err(DomainError::invalid(
                "facilitators",
                "at least one facilitator is required",
            ));
        }
        let facilitators = people("facilitators", &self.facilitators)?;
        let speakers = people("speakers", &self.speakers)?;
        let more_questions = questions("more_questions", &self.more_questions)?;
        let mut seen = vec![crate::question_key(&title)];
        for (i, q) in more_questions.iter().enumerate() {
            let key = crate::question_key(q);
            if seen.contains(&key) {
                return Err(DomainError::invalid(
                    format!("more_questions[{i}]"),
                    "repeats an earlier question of the challenge",
                ));
            }
            seen.push(key);
        }
        if let Some(year) = self.edition
            && !(MIN_EDITION..=MAX_EDITION).contains(&year)
        {
            return Err(DomainError::invalid(
                "edition",
                format!("must be a year between {MIN_EDITION} and {MAX_EDITION} (got {year})"),
            ));
        }
        let duplicate_of = match self.duplicate_of {
            Some(n) => Some(check_number("duplicate_of", n)?),
            None => None,
        };
        if duplicate_of.is_some() && self.status == ChallengeStatus::Open {
            return Err(DomainError::invalid(
                "status",
                "a duplicate cannot be open for registration (use draft or closed)",
            ));
        }
        let mut translations: Vec<Translation> = Vec::with_capacity(self.translations.len());
        for (i, t) in self.translations.iter().enumerate() {
            let field = format!("translations[{i}]");
            if translations.iter().any(|x| x.lang == t.lang) {
                return Err(DomainError::invalid(
                    format!("{field}.lang"),
                    format!("{} is given twice", t.lang),
                ));
            }
            let more = questions(&format!("{field}.more_questions"), &t.more_questions)?;
            if !more.is_empty() && more.len() != more_questions.len() {
                return Err(DomainError::invalid(
                    format!("{field}.more_questions"),
                    format!(
                        "gives {} questions for the original's {}",
                        more.len(),
                        more_questions.len()
                    ),
                ));
            }
            translations.push(Translation {
                lang: t.lang,
                title: text::checked(&format!("{field}.title"), &t.title, 1, MAX_TITLE)?,
                more_questions: more,
            });
        }
        let room = text::checked("room", &self.room, 0, MAX_ROOM)?;
        if self.capacity == 0 || self.capacity > MAX_CAPACITY {
            return Err(DomainError::invalid(
                "capacity",
                format!(
                    "must be between 1 and {MAX_CAPACITY} seats (got {})",
                    self.capacity
                ),
            ));
        }
        Ok(ChallengeFields {
            title,
            description,
            themes,
            holders,
            facilitators,
            speakers,
            more_questions,
            edition: self.edition,
            duplicate_of,
            translations,
            room,
            capacity: self.capacity,
            status: self.status,
        })
    }
}

/// Checks a theme list: 1..=7 themes, each on the site's list; duplicates dropped.
pub(crate) fn check_themes(
    field: &str,
    given: &[String],
    theme_exists: &mut dyn FnMut(&str) -> bool,
) -> Result<Vec<String>, DomainError> {
    use limits::MAX_THEMES;
    if given.is_empty() {
        return Err(DomainError::invalid(
            field,
            "at least one theme is required",
        ));
    }
    if given.len() > MAX_THEMES {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_THEMES} themes (has {})", given.len()),
        ));
    }
    let mut themes: Vec<String> = Vec::with_capacity(given.len());
    for (i, t) in given.iter().enumerate() {
        let t = t.trim();
        if !theme_exists(t) {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                format!("unknown theme {t:?} (see ListThemes, or add it with AddTheme)"),
            ));
        }
        if !themes.iter().any(|x| x == t) {
            themes.push(t.to_owned());
        }
    }
    Ok(themes)
}

/// Checks a challenge number given by a client.
pub fn check_number(field: &str, number: u32) -> Result<u32, DomainError> {
    if (1..=limits::MAX_NUMBER).contains(&number) {
        Ok(number)
    } else {
        Err(DomainError::invalid(
            field,
            format!(
                "must be between 1 and {} (got {number})",
                limits::MAX_NUMBER
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ChallengeFields {
        ChallengeFields {
            title: "Comment apprendre ensemble entre pairs ?".into(),
            themes: vec!["qualite".into()],
            holders: vec![Person {
                name: "Sandrine Barret".into(),
                role: "cheffe de projet".into(),
                organisation: "CNFPT".into(),
                private: false,
            }],
            facilitators: vec![Person::named("Olivier Ryckewaert")],
            capacity: 12,
            ..ChallengeFields::default()
        }
    }

    fn check(f: ChallengeFields) -> Result<ChallengeFields, DomainError> {
        f.validated(&mut |t| t == "qualite")
    }

    fn refused_on(f: ChallengeFields, field: &str) {
        match check(f) {
            Err(DomainError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("expected a refusal on {field}, got {other:?}"),
        }
    }

    #[test]
    fn three_facilitators_and_ten_people_are_accepted() {
        let mut f = valid();
        f.facilitators = (0..3).map(|i| Person::named(&format!("F{i}"))).collect();
        assert!(check(f.clone()).is_ok());
        f.speakers = (0..6).map(|i| Person::named(&format!("S{i}"))).collect();
        assert!(check(f.clone()).is_ok());
        f.speakers.push(Person::named("S6"));
        refused_on(f, "people");
    }

    #[test]
    fn people_fields_are_named_in_errors() {
        let mut f = valid();
        f.facilitators.push(Person {
            name: "X".into(),
            role: String::new(),
            organisation: "o".repeat(limits::MAX_ORGANISATION + 1),
            private: false,
        });
        refused_on(f, "facilitators[1].organisation");
        let mut f = valid();
        f.facilitators.clear();
        refused_on(f, "facilitators");
    }

    #[test]
    fn a_question_asked_twice_in_one_challenge_is_refused() {
        let mut f = valid();
        f.more_questions = vec!["Comment apprendre, ensemble, entre pairs".into()];
        refused_on(f, "more_questions[0]");
        let mut f = valid();
        f.more_questions = vec!["Et après ?".into()];
        assert_eq!(check(f).unwrap().questions().count(), 2);
    }

    #[test]
    fn edition_duplicate_and_translations_are_checked() {
        let mut f = valid();
        f.edition = Some(1999);
        refused_on(f, "edition");
        let mut f = valid();
        f.duplicate_of = Some(12);
        refused_on(f.clone(), "status");
        f.status = ChallengeStatus::Closed;
        assert!(check(f).is_ok());
        let mut f = valid();
        f.translations = vec![
            Translation {
                lang: Lang::En,
                title: "How to learn together?".into(),
                more_questions: vec![],
            },
            Translation {
                lang: Lang::En,
                title: "Again".into(),
                more_questions: vec![],
            },
        ];
        refused_on(f.clone(), "translations[1].lang");
        f.translations[1].lang = Lang::De;
        let f = check(f).unwrap();
        assert_eq!(f.title_in(Lang::En), "How to learn together?");
        assert_eq!(f.title_in(Lang::Fr), f.title);
    }
}

#[cfg(test)]
mod alternatives_tests {
    use super::*;
    use crate::SeatPool;

    fn challenge(number: u32, themes: &[&str], status: ChallengeStatus) -> Challenge {
        Challenge {
            number,
            fields: ChallengeFields {
                title: format!("défi {number}"),
                themes: themes.iter().map(|t| (*t).to_owned()).collect(),
                capacity: 10,
                status,
                ..ChallengeFields::default()
            },
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn pool(capacity: u32, confirmed: u32) -> SeatPool {
        SeatPool {
            confirmed,
            ..SeatPool::new(capacity)
        }
    }

    fn check(full: &Challenge, others: &[(Challenge, SeatPool)], expected: &[u32]) {
        let got = alternatives(full, others.iter().map(|(c, p)| (c, p)), [], 3);
        let got: Vec<u32> = got.iter().map(|a| a.number).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn alternatives_share_a_theme_have_seats_and_are_open() {
        use ChallengeStatus::*;
        let full = challenge(1, &["sante", "numerique"], Open);
        let others = [
            (full.clone(), pool(10, 10)),
            (challenge(2, &["sante"], Open), pool(10, 9)),
            (challenge(3, &["sante", "numerique"], Open), pool(10, 8)),
            (challenge(4, &["culture"], Open), pool(10, 0)),
            (challenge(5, &["sante"], Open), pool(10, 10)),
            (challenge(6, &["numerique"], Closed), pool(10, 0)),
            (challenge(7, &["numerique"], Open), pool(10, 2)),
        ];
        // two themes in common first, then the most seats left; no full, closed or
        // unrelated one, nor the full challenge itself
        check(&full, &others, &[3, 7, 2]);
        check(&challenge(9, &["mobilite"], Open), &others, &[]);
    }

    fn remote(number: u32, themes: &[&str], confirmed: u32) -> crate::shared::ReplicaChallenge {
        crate::shared::ReplicaChallenge {
            challenge: challenge(number, themes, ChallengeStatus::Open),
            counts: crate::shared::Counts {
                confirmed,
                ..Default::default()
            },
        }
    }

    #[test]
    fn this_sites_alternatives_come_before_other_sites_and_a_full_remote_is_left_out() {
        use ChallengeStatus::*;
        let full = challenge(1, &["sante", "numerique"], Open);
        let local = [
            (challenge(2, &["sante"], Open), pool(10, 9)),
            (challenge(4, &["culture"], Open), pool(10, 0)),
        ];
        let kehl = [
            remote(1, &["sante", "numerique"], 0),
            remote(5, &["sante"], 10),
            remote(6, &["culture"], 0),
        ];
        let lyon = [remote(3, &["numerique"], 1)];
        let got = alternatives(
            &full,
            local.iter().map(|(c, p)| (c, p)),
            kehl.iter()
                .map(|r| ("kehl", r))
                .chain(lyon.iter().map(|r| ("lyon", r))),
            10,
        );
        let want = |site: Option<&str>, number, seats_left| Alternative {
            site: site.map(str::to_owned),
            number,
            seats_left,
        };
        // the one local match with one seat beats remote ones with ten; Kehl's number 1
        // is another site's challenge, not the full one; Kehl's full 5 and the
        // unrelated ones are left out
        assert_eq!(
            got,
            [
                want(None, 2, 1),
                want(Some("kehl"), 1, 10),
                want(Some("lyon"), 3, 9),
            ]
        );
        assert_eq!(
            alternatives(&full, local.iter().map(|(c, p)| (c, p)), [], 1),
            [want(None, 2, 1)],
            "at most max"
        );
    }
}
