//! The national program: every site's program items and mini-conferences, read from the
//! replicas, as `ListNationalProgram` and the national page's iCalendar feeds serve it.

use std::collections::HashMap;

use agora_model::national::program::{ProgramLine, national_program, plenary_challenges};
use agora_model::shared::ReplicaChallenge;
use agora_model::{Conference, ParticipantId, ProgramItem};
use agora_proto::v1 as pb;
use agora_store::StoreError;
use agora_store::national::NationalStore;
use agora_sync::convert;

/// What the replicas hold of the program of the sites read.
pub struct Program {
    sites: Vec<SiteProgram>,
    /// (site, pseudonym) → the speaker's name, for speakers who consented to share it.
    speakers: HashMap<(String, ParticipantId), String>,
}

struct SiteProgram {
    id: String,
    items: Vec<ProgramItem>,
    conferences: Vec<Conference>,
    challenges: Vec<ReplicaChallenge>,
}

impl Program {
    /// Every site's program, or one site's (`None` when that site is unknown). Blocking:
    /// it scans the replicas.
    pub fn read(store: &NationalStore, site: Option<&str>) -> Result<Option<Program>, StoreError> {
        let records = match site {
            Some(id) => match store.site(id)? {
                Some(s) => vec![s],
                None => return Ok(None),
            },
            None => store.sites()?,
        };
        let mut sites = Vec::new();
        let mut speakers = HashMap::new();
        for s in records {
            let conferences = store.conferences(&s)?;
            for c in &conferences {
                let speaker = c.fields.speaker;
                if let Some(name) = store.participant(&s, speaker)?.and_then(|p| p.display_name) {
                    speakers.insert((s.id.clone(), speaker), name);
                }
            }
            sites.push(SiteProgram {
                items: store.program(&s)?,
                challenges: store.challenges(&s)?,
                id: s.id,
                conferences,
            });
        }
        Ok(Some(Program { sites, speakers }))
    }

    fn lines(&self) -> Vec<ProgramLine<'_>> {
        national_program(
            self.sites
                .iter()
                .map(|s| (s.id.as_str(), &s.items[..], &s.conferences[..])),
        )
    }

    pub fn to_proto(&self) -> pb::ListNationalProgramResponse {
        use pb::national_program_entry::Entry;
        let entries = self
            .lines()
            .iter()
            .map(|l| pb::NationalProgramEntry {
                site_id: l.site().to_owned(),
                entry: Some(match l {
                    ProgramLine::Item(_, i) => Entry::Item(convert::program_item(i)),
                    ProgramLine::Conference(site, c) => Entry::Conference(pb::NationalConference {
                        conference: Some(convert::conference(c)),
                        speaker_name: self
                            .speakers
                            .get(&((*site).to_owned(), c.fields.speaker))
                            .cloned()
                            .unwrap_or_default(),
                    }),
                }),
            })
            .collect();
        let challenges = plenary_challenges(self.sites.iter().flat_map(|s| {
            s.challenges
                .iter()
                .map(move |c| (s.id.as_str(), &c.challenge))
        }))
        .into_iter()
        .map(|(site, c)| pb::PlenaryChallenge {
            site_id: site.to_owned(),
            number: c.number,
            question: c.fields.title.clone(),
            edition: c.fields.edition.map_or(0, u32::from),
        })
        .collect();
        pb::ListNationalProgramResponse {
            entries,
            challenges,
        }
    }

    /// The program as an iCalendar file named `name`.
    pub fn to_ical(&self, name: &str) -> Result<String, agora_export::ExportError> {
        agora_export::national_program_ical(name, &self.lines())
    }
}
