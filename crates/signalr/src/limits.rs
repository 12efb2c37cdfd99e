//! Connection caps and the negotiate rate limit.
//!
//! Caps are permits, as a `Semaphore` hands them out: negotiate takes one
//! for the instance and one for the user, the connection holds them, and
//! dropping the connection (when its last handle goes) gives them back — no
//! path can forget to. Past a cap negotiate answers 503 (instance) or 429
//! (user) with the API's error body.
//!
//! The rate limit is a token bucket per client address, refilled
//! continuously; it is read with tokio's clock, so tests move time with
//! `tokio::time::pause`/`advance`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Why no permit was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapReached {
    /// The instance holds `max_connections`.
    Instance,
    /// The user holds `max_connections_per_user`.
    User,
}

/// A connection's share of the caps; released on drop.
#[derive(Debug)]
pub(crate) struct Permit {
    _instance: Option<OwnedSemaphorePermit>,
    _user: Option<UserPermit>,
}

#[derive(Debug)]
struct UserPermit {
    caps: Arc<Caps>,
    user: String,
}

impl Drop for UserPermit {
    fn drop(&mut self) {
        let mut users = self
            .caps
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = users.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// The instance-wide and per-user connection caps.
#[derive(Debug)]
pub(crate) struct Caps {
    instance: Option<Arc<Semaphore>>,
    instance_max: usize,
    per_user: Option<usize>,
    /// Connections per user, for users that hold at least one.
    users: Mutex<HashMap<String, usize>>,
    /// Connections refused at the instance cap and at a user's cap.
    refused: [AtomicU64; 2],
}

impl Caps {
    pub(crate) fn new(max_connections: Option<usize>, per_user: Option<usize>) -> Arc<Caps> {
        Arc::new(Caps {
            instance: max_connections.map(|n| Arc::new(Semaphore::new(n))),
            instance_max: max_connections.unwrap_or(0),
            per_user,
            users: Mutex::new(HashMap::new()),
            refused: [AtomicU64::new(0), AtomicU64::new(0)],
        })
    }

    /// The instance cap (`None`: none).
    pub(crate) fn instance_cap(&self) -> Option<usize> {
        self.instance.as_ref().map(|_| self.instance_max)
    }

    /// Connections refused so far: `[("instance_cap", n), ("user_cap", n)]`.
    pub(crate) fn refused(&self) -> [(&'static str, u64); 2] {
        [
            ("instance_cap", self.refused[0].load(Ordering::Relaxed)),
            ("user_cap", self.refused[1].load(Ordering::Relaxed)),
        ]
    }

    /// Takes a permit for one more connection of `user`.
    pub(crate) fn acquire(self: &Arc<Self>, user: &str) -> Result<Permit, CapReached> {
        self.try_acquire(user).inspect_err(|reached| {
            let i = match reached {
                CapReached::Instance => 0,
                CapReached::User => 1,
            };
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        })
    }

    fn try_acquire(self: &Arc<Self>, user: &str) -> Result<Permit, CapReached> {
        let instance = match &self.instance {
            Some(sem) => Some(
                Arc::clone(sem)
                    .try_acquire_owned()
                    .map_err(|_| CapReached::Instance)?,
            ),
            None => None,
        };
        let user_permit = match self.per_user {
            Some(max) => {
                let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                let n = users.entry(user.to_owned()).or_insert(0);
                if *n >= max {
                    return Err(CapReached::User);
                }
                *n += 1;
                Some(UserPermit {
                    caps: Arc::clone(self),
                    user: user.to_owned(),
                })
            }
            None => None,
        };
        Ok(Permit {
            _instance: instance,
            _user: user_permit,
        })
    }
}

/// A token bucket's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests a client may make at once.
    pub burst: u32,
    /// Requests per second it earns back.
    pub per_second: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per client address.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; `Err(wait)` says when one is earned.
    pub(crate) fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > 10_000 {
            // Forget clients whose bucket is full again: they are owed nothing.
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + earned).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_cap_is_a_semaphore_released_on_drop() {
        let caps = Caps::new(Some(2), None);
        let a = caps.acquire("u1").unwrap();
        let _b = caps.acquire("u2").unwrap();
        assert_eq!(caps.acquire("u3").unwrap_err(), CapReached::Instance);
        assert_eq!(caps.refused(), [("instance_cap", 1), ("user_cap", 0)]);
        assert_eq!(caps.instance_cap(), Some(2));
        drop(a);
        assert!(caps.acquire("u3").is_ok());
    }

    #[test]
    fn the_user_cap_counts_per_user_and_forgets_users_without_connections() {
        let caps = Caps::new(None, Some(2));
        let a = caps.acquire("u1").unwrap();
        let b = caps.acquire("u1").unwrap();
        assert_eq!(caps.acquire("u1").unwrap_err(), CapReached::User);
        assert!(caps.acquire("u2").is_ok());
        drop((a, b));
        assert!(caps.users.lock().unwrap().get("u1").is_none());
        assert!(caps.acquire("u1").is_ok());
    }

    #[test]
    fn a_refused_user_does_not_keep_an_instance_permit() {
        let caps = Caps::new(Some(2), Some(1));
        let _a = caps.acquire("u1").unwrap();
        assert_eq!(caps.acquire("u1").unwrap_err(), CapReached::User);
        // The failed attempt gave its instance permit back.
        assert!(caps.acquire("u2").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_refills_with_time() {
        let rl = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 2.0,
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(rl.check(ip).is_ok());
        }
        let wait = rl.check(ip).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(rl.check(other).is_ok(), "clients have their own bucket");
        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(rl.check(ip).is_err());
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(rl.check(ip).is_ok());
    }
}
