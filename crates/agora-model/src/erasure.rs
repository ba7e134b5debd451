//! What erasing a participant removes from the records that mention them: their fields in
//! participant records, their name in check-in answers, and their name where it was typed
//! as free text (a feedback's author, a next action's owner), compared folded.

use std::collections::HashSet;

use crate::{Event, Feedback, NextAction, Outcome, Participant, ParticipantId, text};

/// The participants being erased, and their names as they were (folded), for the free-text
/// fields that do not name them by id.
#[derive(Debug, Clone, Default)]
pub struct Erasure {
    ids: HashSet<ParticipantId>,
    names: HashSet<String>,
}

impl Erasure {
    pub fn new(ids: &[ParticipantId], names: &[String]) -> Erasure {
        Erasure {
            ids: ids.iter().copied().collect(),
            names: names
                .iter()
                .map(|n| text::fold(n))
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.names.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &ParticipantId> {
        self.ids.iter()
    }

    fn named(&self, free_text: &str) -> bool {
        !free_text.is_empty() && self.names.contains(&text::fold(free_text))
    }

    fn participant(&self, p: &mut Participant) -> bool {
        if self.ids.contains(&p.id) && !p.is_erased() {
            *p = p.erased();
            return true;
        }
        false
    }

    /// Clears a feedback's author if it is an erased name.
    pub fn feedback(&self, f: &mut Feedback) -> bool {
        if self.named(&f.author) {
            f.author.clear();
            return true;
        }
        false
    }

    /// Clears a next action's owner if it is an erased name.
    pub fn next_action(&self, a: &mut NextAction) -> bool {
        if self.named(&a.fields.owner) {
            a.fields.owner.clear();
            return true;
        }
        false
    }

    /// Removes what the event holds of the erased; whether it changed.
    pub fn event(&self, e: &mut Event) -> bool {
        match e {
            Event::ParticipantUpserted(p) => self.participant(p),
            Event::FeedbackAdded(f) => self.feedback(f),
            Event::NextActionUpserted(a) => self.next_action(a),
            _ => false,
        }
    }

    /// Removes what a stored answer holds of the erased; whether it changed.
    pub fn outcome(&self, o: &mut Outcome) -> bool {
        match o {
            Outcome::Participant(p) => self.participant(p),
            Outcome::CheckedIn {
                registration,
                display_name,
                ..
            } if self.ids.contains(&registration.participant) && !display_name.is_empty() => {
                display_name.clear();
                true
            }
            Outcome::Feedback(f) => self.feedback(f),
            Outcome::NextAction(a) => self.next_action(a),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionStatus, NextActionFields, OrganisationType};

    #[test]
    fn fields_by_id_and_free_text_by_folded_name() {
        let id = ParticipantId(uuid::Uuid::from_u128(1));
        let other = ParticipantId(uuid::Uuid::from_u128(2));
        let x = Erasure::new(&[id], &["Zoé Martin".into()]);
        let p = |id| Participant {
            id,
            display_name: "Zoé Martin".into(),
            organisation: "Cluny".into(),
            organisation_type: OrganisationType::Citizen,
            language: "fr".into(),
            email: Some("zoe@cluny.fr".into()),
            consent_share_name: true,
            created_at_ms: 1,
        };
        let mut mine = Event::ParticipantUpserted(p(id));
        assert!(x.event(&mut mine));
        assert!(matches!(&mine, Event::ParticipantUpserted(p) if p.is_erased()));
        assert!(!x.event(&mut mine), "once");
        let mut theirs = Event::ParticipantUpserted(p(other));
        assert!(
            !x.event(&mut theirs),
            "another person of the same name keeps theirs"
        );
        let mut f = Feedback {
            id: uuid::Uuid::nil(),
            challenge: 1,
            author: "zoe  MARTIN".into(),
            text: "Bravo".into(),
            at_ms: 1,
        };
        assert!(x.feedback(&mut f));
        assert_eq!((f.author.as_str(), f.text.as_str()), ("", "Bravo"));
        let mut a = NextAction {
            id: 1,
            challenge: 1,
            fields: NextActionFields {
                what: "Relancer".into(),
                owner: "Paul".into(),
                due_ms: None,
            },
            status: ActionStatus::Open,
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        assert!(!x.next_action(&mut a));
        assert!(Erasure::new(&[], &[String::new()]).is_empty());
    }
}
