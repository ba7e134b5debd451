//! Byte layout of keys and values: big-endian keys so that sled's order is numeric order,
//! and a format-version byte in front of every value.

use serde::{Serialize, de::DeserializeOwned};

use agora_model::{Change, Moment, SlotKey, Target};

use crate::StoreError;

/// Version of the value encoding (postcard after this byte). Bump it, and teach `decode` the
/// old layout, whenever a stored type changes shape.
///
/// 2: challenges name their facilitators and speakers as people (name, role, organisation)
/// and carry further questions, an edition, the challenge they duplicate and translations
/// (issue 19). A database of format 1 is refused at open with `UnsupportedFormat` (no
/// site has run the event on one yet; `decode` does not read the old layout).
///
/// 3: a person named on a challenge or a proposal may be private (`Person::private`, issue
/// 15). `decode` reads format-2 values as they are (a person without the flag is public),
/// so a database of format 2 opens as it is: its meta says 3 from then on, and its old
/// values are rewritten only when they next change.
pub const FORMAT: u8 = 3;

/// The previous format, still read.
pub const FORMAT_2: u8 = 2;

/// Whether a database whose meta says `format` opens (then it says [`FORMAT`] from now on).
pub fn readable(format: &[u8]) -> bool {
    format == [FORMAT] || format == [FORMAT_2]
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, vec![FORMAT]).map_err(|e| StoreError::Encode(e.to_string()))
}

pub fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        tree,
        key: hex(key),
        reason,
    };
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string())),
        Some((&FORMAT_2, rest)) => agora_model::compat::with_format_2(|| {
            postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))
        }),
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".to_owned())),
    }
}

/// A log record's value: the change's encoding, then its running hash
/// ([`agora_model::log_hash`] of `previous` and that encoding) as a postcard varint. Sets
/// `c.hash`. A record written before the hash ends after the change.
pub fn chain_change(previous: Option<u64>, c: &mut Change) -> Result<Vec<u8>, StoreError> {
    c.hash = None;
    let bytes = encode(&*c)?;
    let hash = agora_model::log_hash(previous, &bytes[1..]);
    c.hash = Some(hash);
    postcard::to_extend(&hash, bytes).map_err(|e| StoreError::Encode(e.to_string()))
}

/// A log record rewritten in place (an erasure scrubbed it): its new encoding, then the
/// running hash it had (`c.hash`), so that the history keeps its identity upstream.
pub fn rewrite_change(c: &Change) -> Result<Vec<u8>, StoreError> {
    let bytes = encode(c)?;
    match c.hash {
        Some(hash) => {
            postcard::to_extend(&hash, bytes).map_err(|e| StoreError::Encode(e.to_string()))
        }
        None => Ok(bytes),
    }
}

/// Reads a log record written by [`chain_change`] (or before the hash: `hash` is `None`).
pub fn decode_change(key: &[u8], bytes: &[u8]) -> Result<Change, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        tree: "log",
        key: hex(key),
        reason,
    };
    let read = |rest: &[u8]| {
        let (mut c, tail) =
            postcard::take_from_bytes::<Change>(rest).map_err(|e| corrupt(e.to_string()))?;
        if !tail.is_empty() {
            c.hash = Some(postcard::from_bytes(tail).map_err(|e| corrupt(e.to_string()))?);
        }
        Ok(c)
    };
    match bytes.split_first() {
        Some((&FORMAT, rest)) => read(rest),
        Some((&FORMAT_2, rest)) => agora_model::compat::with_format_2(|| read(rest)),
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".to_owned())),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn u64_of(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            tree,
            key: hex(key),
            reason: format!("expected 8 bytes, found {}", bytes.len()),
        })
}

/// A 16-byte id stored under `key` of `tree`.
pub fn uuid_of(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        tree,
        key: hex(key),
        reason: format!("expected a 16-byte id, found {} bytes", bytes.len()),
    })
}

/// `[kind][id]`: all rows of one target sort together.
pub fn target_key(t: Target) -> Vec<u8> {
    match t {
        Target::Challenge(n) => {
            let mut k = vec![1u8];
            k.extend_from_slice(&n.to_be_bytes());
            k
        }
        Target::Conference(n) => {
            let mut k = vec![2u8];
            k.extend_from_slice(&n.to_be_bytes());
            k
        }
    }
}

/// The target whose [`target_key`] `key` is.
pub fn target_of(key: &[u8]) -> Option<Target> {
    let (&kind, n) = key.split_first()?;
    let n = u32::from_be_bytes(<[u8; 4]>::try_from(n).ok()?);
    match kind {
        1 => Some(Target::Challenge(n)),
        2 => Some(Target::Conference(n)),
        _ => None,
    }
}

/// `[kind][folded room name | participant id]`.
pub fn slot_key(key: &SlotKey) -> Vec<u8> {
    let (kind, rest): (u8, &[u8]) = match key {
        SlotKey::ConferenceRoom(room) => (1, room.as_bytes()),
        SlotKey::Speaker(p) => (2, p.as_bytes()),
        SlotKey::Attendee(p) => (3, p.as_bytes()),
        SlotKey::ProgramRoom(room) => (4, room.as_bytes()),
    };
    join(&[kind], rest)
}

/// An `i64` as big-endian bytes that sort in numeric order (sign bit flipped).
pub fn i64_key(n: i64) -> [u8; 8] {
    ((n as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.len() + b.len());
    k.extend_from_slice(a);
    k.extend_from_slice(b);
    k
}

/// `team ++ moment ++ entry id`, or a prefix of it for listing.
pub fn notebook_key(team: u32, moment: Option<Moment>, id: Option<uuid::Uuid>) -> Vec<u8> {
    let mut k = team.to_be_bytes().to_vec();
    if let Some(m) = moment {
        k.push(m.number());
        if let Some(id) = id {
            k.extend_from_slice(id.as_bytes());
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64, request_id: &str) -> Change {
        Change {
            seq,
            at_ms: 7,
            request_id: request_id.into(),
            events: vec![],
            hash: None,
        }
    }

    #[test]
    fn a_log_record_carries_its_running_hash_and_an_older_one_reads_without() {
        let mut one = change(1, "a");
        let v1 = chain_change(None, &mut one).unwrap();
        let mut two = change(2, "b");
        let v2 = chain_change(one.hash, &mut two).unwrap();
        assert_eq!(decode_change(b"k", &v1).unwrap(), one);
        assert_eq!(decode_change(b"k", &v2).unwrap(), two);
        // The same change after another history has another hash.
        let mut other = change(1, "c");
        chain_change(None, &mut other).unwrap();
        let mut two_elsewhere = change(2, "b");
        chain_change(other.hash, &mut two_elsewhere).unwrap();
        assert_ne!(two.hash, two_elsewhere.hash);
        // A record written before the hash.
        let legacy = encode(&change(3, "d")).unwrap();
        assert_eq!(decode_change(b"k", &legacy).unwrap().hash, None);
    }

    /// A challenge naming people, as a database of format 2 holds it (people without
    /// `private`), in a row and in a log record after its hash.
    fn format_2<T: Serialize>(value: &T) -> Vec<u8> {
        agora_model::compat::with_format_2(|| postcard::to_extend(value, vec![FORMAT_2])).unwrap()
    }

    #[test]
    fn values_of_format_2_read_with_every_person_public() {
        use agora_model::{Challenge, ChallengeFields, Event, Person};
        let person = |name: &str| Person {
            name: name.into(),
            role: "DGS".into(),
            organisation: "Ville de Cluny".into(),
            private: false,
        };
        let c = Challenge {
            number: 4,
            fields: ChallengeFields {
                title: "Comment faire ?".into(),
                holders: vec![person("Anne"), person("Bruno")],
                facilitators: vec![person("Chloé")],
                speakers: vec![person("Dina")],
                room: "Farinier".into(),
                capacity: 12,
                ..ChallengeFields::default()
            },
            version: 3,
            created_at_ms: 1,
            updated_at_ms: 2,
        };
        let old = format_2(&c);
        assert_ne!(old[1..], encode(&c).unwrap()[1..], "the layouts differ");
        assert_eq!(decode::<Challenge>("challenges", b"k", &old).unwrap(), c);
        let mut record = change(5, "e");
        record.events = vec![Event::ChallengeUpserted(c.clone())];
        record.hash = None;
        let old = postcard::to_extend(&77u64, format_2(&record)).unwrap();
        record.hash = Some(77);
        assert_eq!(decode_change(b"k", &old).unwrap(), record);
        // And today's format keeps the flag.
        let mut private = c.clone();
        private.fields.holders[1].private = true;
        let now = encode(&private).unwrap();
        assert_eq!(
            decode::<Challenge>("challenges", b"k", &now).unwrap(),
            private
        );
    }
}
