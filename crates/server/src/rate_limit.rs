//! Rate limits for sign-in and registration (GCRA, the `governor` crate).
//!
//! Logins are limited per client address and per email (so neither one
//! address trying many emails nor many addresses trying one email gets far);
//! registrations per client address. Past a limit the answer is 429
//! `rate_limited` with `Retry-After`, before any database or hashing work.
//! The client address is the TCP peer: behind a reverse proxy that is the
//! proxy, so there the per-address limits apply to all its clients together
//! (raise them, or limit at the proxy). Each instance keeps its own counts.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// The limits, each "at most N in the period, N at once"; 0 turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub login_per_address_per_minute: u32,
    pub login_per_email_per_minute: u32,
    pub registrations_per_address_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login_per_address_per_minute: 30,
            login_per_email_per_minute: 10,
            registrations_per_address_per_hour: 20,
        }
    }
}

impl RateLimits {
    /// No limits (benchmarks that measure the hashing pool itself).
    pub fn off() -> Self {
        RateLimits {
            login_per_address_per_minute: 0,
            login_per_email_per_minute: 0,
            registrations_per_address_per_hour: 0,
        }
    }
}

struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Option<Quota>) -> Self {
        Keyed {
            limiter: quota.map(RateLimiter::keyed),
        }
    }

    /// `Err(wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn tidy(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn per_minute(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_minute)
}

fn per_hour(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_hour)
}

/// The limiters of one instance.
pub struct RateLimiters {
    limits: RateLimits,
    login_by_address: Keyed<IpAddr>,
    login_by_email: Keyed<String>,
    registration_by_address: Keyed<IpAddr>,
}

impl std::fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiters")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn refused(wait: Duration) -> ApiError {
    ApiError::rate_limited(
        "too many attempts; try again later",
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    )
}

fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

impl RateLimiters {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiters {
            limits,
            login_by_address: Keyed::new(per_minute(limits.login_per_address_per_minute)),
            login_by_email: Keyed::new(per_minute(limits.login_per_email_per_minute)),
            registration_by_address: Keyed::new(per_hour(
                limits.registrations_per_address_per_hour,
            )),
        }
    }

    /// A login attempt for `email` from this request's client.
    ///
    /// # Errors
    /// 429 `rate_limited` with `Retry-After`.
    pub fn login(&self, req: &HttpRequest, email: &str) -> Result<(), ApiError> {
        self.login_by_address
            .check(&client_address(req))
            .map_err(refused)?;
        self.login_by_email
            .check(&email.trim().to_lowercase())
            .map_err(refused)
    }

    /// A registration from this request's client.
    ///
    /// # Errors
    /// 429 `rate_limited` with `Retry-After`.
    pub fn registration(&self, req: &HttpRequest) -> Result<(), ApiError> {
        self.registration_by_address
            .check(&client_address(req))
            .map_err(refused)
    }

    /// Drops the state of keys that are back to full allowance (memory stays
    /// bounded by the keys seen in the last period). Called every minute.
    pub fn tidy(&self) {
        self.login_by_address.tidy();
        self.login_by_email.tidy();
        self.registration_by_address.tidy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn logins_are_limited_per_address_and_per_email() {
        let limiters = RateLimiters::new(RateLimits {
            login_per_address_per_minute: 3,
            login_per_email_per_minute: 2,
            registrations_per_address_per_hour: 1,
        });
        let from = |ip: &str| {
            TestRequest::default()
                .peer_addr(format!("{ip}:5000").parse().unwrap())
                .to_http_request()
        };
        let a = from("10.0.0.1");
        assert!(limiters.login(&a, "x@example.com").is_ok());
        assert!(limiters.login(&a, "X@Example.com ").is_ok());
        // The email's allowance is spent (whatever its case), from any address.
        let e = limiters
            .login(&from("10.0.0.2"), "x@example.com")
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        assert_eq!(e.code, "rate_limited");
        assert!(
            e.retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{:?}",
            e.retry_after
        );
        // The first address has one attempt left (the refused one above came from another).
        assert!(limiters.login(&a, "y@example.com").is_ok());
        assert!(limiters.login(&a, "z@example.com").is_err());
        assert!(limiters.registration(&a).is_ok());
        assert!(limiters.registration(&a).is_err());
        assert!(limiters.registration(&from("10.0.0.3")).is_ok());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limiters = RateLimiters::new(RateLimits::off());
        let req = TestRequest::default().to_http_request();
        for _ in 0..1000 {
            assert!(limiters.login(&req, "x@example.com").is_ok());
        }
    }
}
