//! The contract's wire formats for dates and timestamps.
//!
//! Dates are `YYYY-MM-DD`; timestamps are RFC 3339 in UTC with milliseconds
//! (`2026-05-15T09:30:00.123Z`).

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// `YYYY-MM-DD`.
pub const DATE_FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
const TIMESTAMP_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Parses a contract date (`YYYY-MM-DD`), strictly.
pub fn parse_date(raw: &str) -> Option<Date> {
    if raw.len() != 10 {
        return None;
    }
    Date::parse(raw, DATE_FORMAT).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(DATE_FORMAT).expect("dates always format")
}

/// Formats a timestamp as RFC 3339 UTC with milliseconds.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP_FORMAT)
        .expect("timestamps always format")
}

/// `#[serde(with = "date")]` for [`Date`] fields.
pub mod date {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date(*date))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_date(&raw)
            .ok_or_else(|| de::Error::custom(format!("invalid date '{raw}', expected YYYY-MM-DD")))
    }
}

/// `#[serde(with = "timestamp")]` for [`OffsetDateTime`] fields.
pub mod timestamp {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let raw = String::deserialize(d)?;
        OffsetDateTime::parse(&raw, &Rfc3339)
            .map_err(|e| de::Error::custom(format!("invalid timestamp '{raw}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_round_trip_and_reject_loose_forms() {
        assert_eq!(parse_date("2026-05-15"), Some(date!(2026 - 05 - 15)));
        assert_eq!(format_date(date!(2026 - 05 - 15)), "2026-05-15");
        for bad in [
            "2026-5-15",
            "2026-02-30",
            "15/05/2026",
            "",
            "2026-05-15T00:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = datetime!(2026-05-15 12:30:00.123456 +03:00);
        assert_eq!(format_timestamp(at), "2026-05-15T09:30:00.123Z");
    }
}
