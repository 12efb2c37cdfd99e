//! A bound on the bookings that wait on one date at a time.
//!
//! A booking locks its date's row. If some session holds that row (a stuck
//! transaction, a long manual fix), every booking for the date waits on the
//! lock with a pooled connection in hand; enough of them would pin the whole
//! pool and take down every unrelated request and readiness with it. So at
//! most [`BookingGate::per_date`] bookings per date hold a connection; the
//! others wait here, on no connection, at most [`BookingGate::wait`], and are
//! then answered 503 with `Retry-After`. (`lock_timeout` bounds how long the
//! admitted ones wait on the row.) One instance's bound; each instance has its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::Date;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

#[derive(Debug)]
pub struct BookingGate {
    per_date: usize,
    wait: Duration,
    dates: Mutex<HashMap<Date, Arc<Semaphore>>>,
}

/// Admission for one date; dropping it lets the next booking in.
#[derive(Debug)]
pub struct Admission<'a> {
    gate: &'a BookingGate,
    date: Date,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.gate.tidy(self.date);
    }
}

impl BookingGate {
    pub fn new(per_date: usize, wait: Duration) -> Self {
        BookingGate {
            per_date: per_date.max(1),
            wait,
            dates: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_date(&self) -> usize {
        self.per_date
    }

    pub fn wait(&self) -> Duration {
        self.wait
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Date, Arc<Semaphore>>> {
        self.dates.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits (without a connection) until a booking for `date` may go ahead.
    ///
    /// # Errors
    /// 503 `service_unavailable` with `Retry-After` after [`BookingGate::wait`].
    pub async fn enter(&self, date: Date) -> Result<Admission<'_>, ApiError> {
        let semaphore = self
            .lock()
            .entry(date)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_date)))
            .clone();
        let mut admission = Admission {
            gate: self,
            date,
            permit: None,
        };
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => {
                admission.permit = Some(permit);
                Ok(admission)
            }
            _ => Err(ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "too many bookings are waiting for this date; try again shortly",
            )
            .with_retry_after(1)),
        }
    }

    /// Forgets a date nobody is waiting on or booking.
    fn tidy(&self, date: Date) {
        let mut dates = self.lock();
        if let Some(semaphore) = dates.get(&date) {
            // Only the map holds it, and every permit is back: idle.
            if Arc::strong_count(semaphore) == 1 && semaphore.available_permits() == self.per_date {
                dates.remove(&date);
            }
        }
    }

    /// Dates currently tracked (for tests).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[tokio::test]
    async fn a_date_admits_per_date_bookings_and_others_time_out_without_touching_other_dates() {
        let gate = BookingGate::new(2, Duration::from_millis(50));
        let a = gate.enter(date!(2026 - 05 - 12)).await.unwrap();
        let b = gate.enter(date!(2026 - 05 - 12)).await.unwrap();
        let third = gate.enter(date!(2026 - 05 - 12)).await.unwrap_err();
        assert_eq!(third.status.as_u16(), 503);
        assert_eq!(third.retry_after, Some(1));
        // Another date is not affected.
        let other = gate.enter(date!(2026 - 05 - 13)).await.unwrap();
        drop(other);
        drop(a);
        let c = gate.enter(date!(2026 - 05 - 12)).await.unwrap();
        drop((b, c));
        assert_eq!(gate.tracked(), 0, "idle dates are forgotten");
    }
}
