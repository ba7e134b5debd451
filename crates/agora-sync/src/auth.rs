//! Bearer tokens, as both nodes read them: `authorization: Bearer <token>` metadata, and a
//! comparison whose time does not depend on where the bytes differ.

use tonic::Status;
use tonic::metadata::MetadataMap;

/// The token of the `authorization` metadata; `UNAUTHENTICATED`, saying what is wrong,
/// when it is missing or malformed.
pub fn bearer(md: &MetadataMap) -> Result<&str, Status> {
    let value = md.get("authorization").ok_or_else(|| {
        Status::unauthenticated(
            "missing authorization metadata: send \"authorization: Bearer <token>\"",
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| Status::unauthenticated("authorization metadata is not ASCII text"))?;
    Ok(value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            Status::unauthenticated("authorization metadata must read \"Bearer <token>\"")
        })?
        .trim())
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
