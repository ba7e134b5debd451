//! Identifiers: site slugs, participant and registration UUIDs, and ticket codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

/// A site's id: a short lowercase slug ("cluny", "macon", "kehl"), 2..=32 of `a-z0-9-`,
/// starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SiteId(String);

impl SiteId {
    pub const MAX_LEN: usize = 32;

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let ok_len = (2..=Self::MAX_LEN).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_start = s.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if ok_len && ok_chars && ok_start {
            Ok(SiteId(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                format!(
                    "{s:?} is not a site id (2..={} characters of a-z, 0-9 and '-', starting with a letter)",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses the text form, naming `field` in the error.
            pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
                Uuid::parse_str(s).map($name).map_err(|_| {
                    DomainError::invalid(field, format!("{s:?} is not a {} id (a UUID)", $what))
                })
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

uuid_id!(
    /// A participant, assigned by the site node that registered them.
    ParticipantId,
    "participant"
);
uuid_id!(
    /// A registration, assigned by the site node.
    RegistrationId,
    "registration"
);

/// A ticket code: 6 symbols from an alphabet with no look-alikes, shown as `K7M-4XQ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TicketCode([u8; TicketCode::LEN]);

impl TicketCode {
    /// No 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V, and no J (read aloud in French, G and J are
    /// swapped all the time).
    pub const ALPHABET: &'static [u8; 22] = b"34679ACDEFGHKMNPQRTWXY";
    pub const LEN: usize = 6;

    /// The code made of the given symbol indexes (each taken modulo the alphabet size), for
    /// callers that draw random numbers.
    pub fn from_indexes(indexes: [u32; Self::LEN]) -> Self {
        let n = Self::ALPHABET.len() as u32;
        TicketCode(indexes.map(|i| Self::ALPHABET[(i % n) as usize]))
    }

    /// Parses a code as people type or read it: any case, with or without the dash or spaces.
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let symbols: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let valid =
            symbols.len() == Self::LEN && symbols.iter().all(|b| Self::ALPHABET.contains(b));
        match <[u8; Self::LEN]>::try_from(symbols) {
            Ok(code) if valid => Ok(TicketCode(code)),
            _ => Err(DomainError::invalid(
                field,
                format!(
                    "{s:?} is not a ticket code ({} symbols from {})",
                    Self::LEN,
                    String::from_utf8_lossy(Self::ALPHABET)
                ),
            )),
        }
    }

    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Display for TicketCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&self.0[r]).into_owned();
        write!(f, "{}-{}", s(0..3), s(3..6))
    }
}

impl FromStr for TicketCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("ticket_code", s)
    }
}
