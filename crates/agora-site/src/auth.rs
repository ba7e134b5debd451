//! Bearer tokens and roles. Reads of the site, its challenges, conferences and program are
//! public; the desk role covers participants, registrations (to challenges and conferences),
//! check-in, learning teams and their notebooks, exhibition feedback and attendance exports;
//! the organiser role covers everything (proposals, program, conferences, next actions …).

use tonic::Status;
use tonic::metadata::MetadataMap;

use agora_sync::auth::{bearer, same};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Desk,
    Organiser,
}

#[derive(Clone)]
pub struct Tokens {
    organiser: String,
    desk: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    pub fn new(organiser: String, desk: Option<String>) -> Self {
        Tokens { organiser, desk }
    }

    /// The caller's role if it is at least `need`; `UNAUTHENTICATED` without a valid token,
    /// `PERMISSION_DENIED` with a token of a lesser role.
    pub fn require(&self, md: &MetadataMap, need: Role) -> Result<Role, Status> {
        let token = bearer(md)?;
        let role = if same(token, &self.organiser) {
            Role::Organiser
        } else if self.desk.as_deref().is_some_and(|d| same(token, d)) {
            Role::Desk
        } else {
            return Err(Status::unauthenticated("invalid token"));
        };
        if role < need {
            return Err(Status::permission_denied(
                "this call needs the organiser role; the token given is a desk token",
            ));
        }
        Ok(role)
    }
}
