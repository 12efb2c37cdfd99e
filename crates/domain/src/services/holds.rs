//! Taking, listing and releasing holds, and sweeping expired ones.
//!
//! Whether a day can take a hold is judged like a booking, inside the
//! repository's transaction (see [`HoldRepository`]); errors are the
//! booking's ([`RequestError`]), since a hold is a booking's first step.
//!
//! [`HoldRepository`]: crate::ports::HoldRepository

use time::Date;

use crate::hold::Hold;
use crate::ids::HoldId;
use crate::permissions::Actor;
use crate::services::requests::{booking_error, RequestError};
use crate::RepositoryError;
use crate::RequestDesk;

impl RequestDesk {
    /// Holds a slot on `date` for the actor, replacing their previous hold.
    pub fn take_hold(&self, actor: &Actor, date: Date) -> Result<Hold, RequestError> {
        let taken = self
            .ports
            .holds
            .take(actor.id, date, self.hold_ttl, self.ports.clock.now())
            .map_err(booking_error)?;
        Ok(taken.hold)
    }

    /// The actor's live holds.
    pub fn holds(&self, actor: &Actor) -> Result<Vec<Hold>, RequestError> {
        Ok(self.ports.holds.live(actor.id)?)
    }

    /// Releases one of the actor's holds; someone else's reads as not found.
    pub fn release_hold(&self, actor: &Actor, id: HoldId) -> Result<(), RequestError> {
        if self
            .ports
            .holds
            .release(actor.id, id, self.ports.clock.now())?
        {
            Ok(())
        } else {
            Err(RequestError::NotFound)
        }
    }

    /// Frees the slots of expired holds (one sweeper per database at a time).
    pub fn sweep_holds(&self) -> Result<usize, RepositoryError> {
        self.ports.holds.sweep(self.ports.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{Day, DayRecord, Refusal};
    use crate::ports::{BookingError, Taken};
    use crate::services::test_support::{Mocks, NOW};
    use crate::settings::{BookingCalendar, CapacitySettings};
    use crate::user::Role;
    use crate::UserId;
    use std::time::Duration;
    use time::macros::date;

    const ALICE: Actor = Actor {
        id: UserId(3),
        role: Role::Requester,
    };

    #[test]
    fn a_hold_is_taken_for_the_configured_lifetime_at_the_clocks_time() {
        let on = date!(2026 - 05 - 12);
        let mut m = Mocks::default();
        m.holds
            .expect_take()
            .withf(move |user, d, ttl, at| {
                *user == ALICE.id && *d == on && ttl.get() == Duration::from_secs(30) && *at == NOW
            })
            .times(1)
            .returning(move |_, d, _, _| {
                let day = Day::from_record(
                    &DayRecord {
                        held: 1,
                        ..DayRecord::untouched(d)
                    },
                    &BookingCalendar::at(&CapacitySettings::default(), NOW),
                );
                Ok(Taken {
                    hold: Hold {
                        id: HoldId(1),
                        date: d,
                        expires_at: NOW + Duration::from_secs(30),
                    },
                    changed_days: vec![day],
                })
            });
        let desk = m
            .build()
            .with_hold_ttl(crate::hold::HoldTtl::from_secs(30).unwrap());
        assert_eq!(desk.take_hold(&ALICE, on).unwrap().id, HoldId(1));
    }

    #[test]
    fn a_full_day_refuses_a_hold_like_a_booking() {
        let on = date!(2026 - 05 - 12);
        let mut m = Mocks::default();
        m.holds
            .expect_take()
            .returning(move |_, d, _, _| Err(BookingError::Refused(Refusal::Closed { date: d })));
        assert!(matches!(
            m.build().take_hold(&ALICE, on),
            Err(RequestError::DateClosed { date }) if date == on
        ));
    }

    #[test]
    fn someone_elses_hold_is_not_found() {
        let mut m = Mocks::default();
        m.holds
            .expect_release()
            .returning(|user, _, _| Ok(user == UserId(4)));
        assert!(matches!(
            m.build().release_hold(&ALICE, HoldId(9)),
            Err(RequestError::NotFound)
        ));
    }
}
