//! Time slots: spans in milliseconds since the Unix epoch (UTC), half-open overlap, the
//! small per-room / per-person slot lists the store keeps, and date helpers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DomainError, ParticipantId, text};

/// Longest span a conference or program item may cover.
pub const MAX_SPAN_MS: i64 = 24 * 3600 * 1000;
/// Earliest and latest accepted times (2000-01-01 and 2100-01-01, UTC): anything else is a
/// unit error (seconds instead of milliseconds, say).
pub const MIN_TIME_MS: i64 = 946_684_800_000;
pub const MAX_TIME_MS: i64 = 4_102_444_800_000;

/// One occupied span `[start_ms, end_ms)` and the id of what occupies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start_ms: i64,
    pub end_ms: i64,
    pub id: u32,
}

impl Slot {
    /// Half-open spans: one ending at 10:00 and one starting at 10:00 do not overlap.
    pub fn overlaps(&self, start_ms: i64, end_ms: i64) -> bool {
        self.start_ms < end_ms && start_ms < self.end_ms
    }
}

/// Whose slots a list holds. The store keeps one small list per key, read and rewritten
/// inside the transaction (sled transactions cannot scan).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SlotKey {
    /// Conferences in a room (folded room name).
    ConferenceRoom(String),
    /// Conferences a participant gives.
    Speaker(ParticipantId),
    /// Conferences a participant is registered to (confirmed or waiting).
    Attendee(ParticipantId),
    /// Program items in a room (folded room name).
    ProgramRoom(String),
}

/// The key under which a room's slots are kept: case, accents and punctuation do not make
/// "Salle 1" and "salle  1" two rooms.
pub fn room_key(room: &str) -> String {
    text::fold(room)
}

/// Checks a span given by a client: both ends plausible, `start < end`, at most a day.
pub fn check_span(field: &str, start_ms: i64, end_ms: i64) -> Result<(), DomainError> {
    for (name, v) in [("start_ms", start_ms), ("end_ms", end_ms)] {
        if !(MIN_TIME_MS..=MAX_TIME_MS).contains(&v) {
            return Err(DomainError::invalid(
                format!("{field}{name}"),
                format!(
                    "must be milliseconds since the Unix epoch between 2000 and 2100 (got {v})"
                ),
            ));
        }
    }
    if end_ms <= start_ms {
        return Err(DomainError::invalid(
            format!("{field}end_ms"),
            "must be after start_ms",
        ));
    }
    if end_ms - start_ms > MAX_SPAN_MS {
        return Err(DomainError::invalid(
            format!("{field}end_ms"),
            "a slot lasts at most 24 hours",
        ));
    }
    Ok(())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Midnight of a local date `YYYY-MM-DD` in a zone `utc_offset_minutes` east of UTC, as
/// milliseconds since the Unix epoch.
pub fn local_midnight_ms(
    field: &str,
    date: &str,
    utc_offset_minutes: i32,
) -> Result<i64, DomainError> {
    let bad = || DomainError::invalid(field, format!("{date:?} is not a date (YYYY-MM-DD)"));
    let parts: Vec<&str> = date.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let num = |s: &str, len: usize| -> Result<i64, DomainError> {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (y, m, d) = (num(y, 4)?, num(m, 2)?, num(d, 2)?);
    if !(1..=12).contains(&m) || d < 1 || civil_from_days(days_from_civil(y, m, d)) != (y, m, d) {
        return Err(bad());
    }
    if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
        return Err(DomainError::invalid(
            "utc_offset_minutes",
            format!("must be between -840 and 840 (got {utc_offset_minutes})"),
        ));
    }
    let ms = days_from_civil(y, m, d) * 86_400_000 - i64::from(utc_offset_minutes) * 60_000;
    if !(MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) {
        return Err(DomainError::invalid(field, "must be between 2000 and 2100"));
    }
    Ok(ms)
}

/// A time for people to read in error messages: `2026-09-14 09:00 UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc(pub i64);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400_000);
        let mins = self.0.rem_euclid(86_400_000) / 60_000;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
            mins / 60,
            mins % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_dates_are_refused() {
        let ms = local_midnight_ms("day", "2026-09-14", 120).unwrap();
        assert_eq!(Utc(ms).to_string(), "2026-09-13 22:00 UTC");
        assert_eq!(
            Utc(local_midnight_ms("day", "2024-02-29", 0).unwrap()).to_string(),
            "2024-02-29 00:00 UTC"
        );
        for bad in ["2026-02-30", "2026-13-01", "14/09/2026", "2026-9-14", ""] {
            assert!(local_midnight_ms("day", bad, 0).is_err(), "{bad}");
        }
        assert!(local_midnight_ms("day", "2026-09-14", 900).is_err());
    }

    #[test]
    fn slots_are_half_open() {
        let s = Slot {
            start_ms: 10,
            end_ms: 20,
            id: 1,
        };
        assert!(s.overlaps(15, 25));
        assert!(s.overlaps(0, 11));
        assert!(!s.overlaps(20, 30));
        assert!(!s.overlaps(0, 10));
    }

    #[test]
    fn spans_are_checked() {
        let t = MIN_TIME_MS + 1000;
        assert!(check_span("", t, t + 1).is_ok());
        assert!(check_span("", t, t).is_err());
        assert!(check_span("", 10, 20).is_err());
        assert!(check_span("", t, t + MAX_SPAN_MS + 1).is_err());
    }
}
