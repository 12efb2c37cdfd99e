//! Holds: picking a day keeps one of its slots for the person filling in the form.
//!
//! A hold counts like a booking against the day's capacity (`used + held ≤
//! capacity`, judged by [`admit`](crate::capacity::admit) when it is taken),
//! lives [`HoldTtl`] on the database's clock, and ends when it expires, when
//! its owner releases it, when the owner takes a new one (one live hold per
//! person), or when it becomes the booking. A booking that brings a live hold
//! of its author on its date cannot fail for capacity: its slot was admitted
//! when the hold was taken.

use std::time::Duration;

use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::ids::HoldId;

/// The contract's `Hold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub id: HoldId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub date: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::serde_formats::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// How long a hold lives: 1 second to 1 day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTtl(Duration);

/// A hold lifetime outside `1..=86400` seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hold lives between 1 and 86400 seconds")]
pub struct InvalidHoldTtl;

impl HoldTtl {
    /// The contract's default, 600 seconds.
    pub const DEFAULT: HoldTtl = HoldTtl(Duration::from_secs(600));

    pub fn from_secs(secs: u64) -> Result<Self, InvalidHoldTtl> {
        (1..=86_400)
            .contains(&secs)
            .then(|| HoldTtl(Duration::from_secs(secs)))
            .ok_or(InvalidHoldTtl)
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

impl Default for HoldTtl {
    fn default() -> Self {
        HoldTtl::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_lives_between_a_second_and_a_day() {
        assert_eq!(HoldTtl::from_secs(0), Err(InvalidHoldTtl));
        assert_eq!(HoldTtl::from_secs(86_401), Err(InvalidHoldTtl));
        assert_eq!(HoldTtl::from_secs(1).unwrap().get(), Duration::from_secs(1));
        assert_eq!(HoldTtl::default().get(), Duration::from_secs(600));
    }
}
