//! Byte layout of keys and values: big-endian keys so that sled's order is numeric order,
//! and a format-version byte in front of every value.

use serde::{Serialize, de::DeserializeOwned};

use agora_model::Target;

use crate::StoreError;

/// Version of the value encoding (postcard after this byte). Bump it, and teach `decode` the
/// old layout, whenever a stored type changes shape.
pub const FORMAT: u8 = 1;

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

/// `[kind][id]`: all rows of one target sort together.
pub fn target_key(t: Target) -> Vec<u8> {
    match t {
        Target::Challenge(n) => {
            let mut k = vec![1u8];
            k.extend_from_slice(&n.to_be_bytes());
            k
        }
    }
}

pub fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.len() + b.len());
    k.extend_from_slice(a);
    k.extend_from_slice(b);
    k
}
