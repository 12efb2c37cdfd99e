//! [`PasswordHasher`] with argon2id (the crate's recommended parameters:
//! 19 MiB, 2 passes), producing and checking standard PHC strings.
//!
//! Each hash needs a 19 MiB work area. Allocating it afresh on whichever
//! blocking thread runs the login leaves glibc's per-thread arenas holding
//! those blocks: 40 logins grew an idle server from 73 MB to 814 MB RSS. So
//! the work areas are allocated once and reused, and at most
//! [`Argon2Hasher::concurrency`] hashes run at a time (more would not finish
//! sooner on this many cores anyway).
//!
//! [`HashingPool`] is where that work runs: a few threads of its own with a
//! bounded queue, so a storm of logins waits there (or is turned away) and
//! never fills the blocking pool that every database call needs.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash as Phc, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use request_desk_domain::ports::PasswordHasher;
use request_desk_domain::user::{Password, PasswordHash};
use request_desk_domain::RepositoryError;

/// Stored hashes asking for more memory than this are refused, not computed.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

pub struct Argon2Hasher {
    params: Params,
    /// A hash of a random password with `params`, for [`PasswordHasher::verify_dummy`].
    dummy: OnceLock<PasswordHash>,
    /// Reusable work areas, at most `concurrency` of them ever allocated.
    pool: Mutex<WorkAreas>,
    returned: Condvar,
}

struct WorkAreas {
    idle: Vec<Vec<Block>>,
    allocated: usize,
    limit: usize,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(Params::default(), cores)
    }
}

impl Argon2Hasher {
    pub fn new(params: Params, concurrency: usize) -> Self {
        Argon2Hasher {
            params,
            dummy: OnceLock::new(),
            pool: Mutex::new(WorkAreas {
                idle: Vec::new(),
                allocated: 0,
                limit: concurrency.max(1),
            }),
            returned: Condvar::new(),
        }
    }

    pub fn concurrency(&self) -> usize {
        self.lock().limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WorkAreas> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs argon2 into `out` on a pooled work area, waiting for one if all are busy.
    fn compute(
        &self,
        argon: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        let blocks = argon.params().block_count();
        let mut area = {
            let mut pool = self.lock();
            loop {
                if let Some(area) = pool.idle.pop() {
                    break area;
                }
                if pool.allocated < pool.limit {
                    pool.allocated += 1;
                    break Vec::new();
                }
                pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
            }
        };
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        let result = argon.hash_password_into_with_memory(password, salt, out, &mut area[..blocks]);
        self.lock().idle.push(area);
        self.returned.notify_one();
        result
    }
}

/// Hashing itself failed (an Argon2 parameter or encoding error); kept as
/// the source of the repository error.
#[derive(Debug, thiserror::Error)]
#[error("hashing failed")]
struct HashingFailed(#[source] argon2::password_hash::Error);

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, RepositoryError> {
        let failed = |e: argon2::password_hash::Error| {
            RepositoryError::Unexpected(Box::new(HashingFailed(e)))
        };
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(failed)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let output_len = self
            .params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let hash = Output::init_with(output_len, |out| {
            self.compute(&argon, password.expose().as_bytes(), salt_bytes, out)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(failed)?;
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(hash),
        };
        Ok(PasswordHash(phc.to_string()))
    }

    fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        let check = || -> Option<bool> {
            let phc = Phc::new(&hash.0).ok()?;
            let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
            let version = phc
                .version
                .map(Version::try_from)
                .transpose()
                .ok()?
                .unwrap_or_default();
            let params = Params::try_from(&phc).ok()?;
            if params.m_cost() > MAX_MEMORY_KIB {
                return None;
            }
            let (salt, expected) = (phc.salt?, phc.hash?);
            let mut salt_buf = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
            let argon = Argon2::new(algorithm, version, params);
            let computed = Output::init_with(expected.len(), |out| {
                self.compute(&argon, password.as_bytes(), salt_bytes, out)
                    .map_err(|_| argon2::password_hash::Error::Crypto)
            })
            .ok()?;
            // `Output`'s equality is constant-time.
            Some(computed == expected)
        };
        check().unwrap_or(false)
    }

    fn verify_dummy(&self, password: &str) {
        let dummy = self.dummy.get_or_init(|| {
            use rand::distributions::{Alphanumeric, DistString};
            let random = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
            let password = Password::parse(&random).expect("32 characters is a valid password");
            self.hash(&password)
                .unwrap_or_else(|_| PasswordHash(String::new()))
        });
        // The result is false whatever was typed; only the work matters.
        let _ = self.verify(password, dummy);
    }
}

/// The queue of a [`HashingPool`] is full: answer "try again shortly".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins are being checked right now; try again shortly")]
pub struct HashingBusy;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A few dedicated threads for password hashing, with a bounded queue.
///
/// Login, registration and account creation run here as a whole (their one
/// user query included), never on the blocking pool that every other
/// database call shares: a storm of logins waits in this queue, and past
/// `queue` waiting jobs it is refused at once with [`HashingBusy`].
#[derive(Clone)]
pub struct HashingPool {
    sender: SyncSender<Job>,
    threads: usize,
    queue: usize,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .finish()
    }
}

impl HashingPool {
    /// Starts `threads` workers (at least one) that share a queue of `queue` jobs.
    /// The threads end when the last clone of the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> HashingPool {
        let threads = threads.max(1);
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = {
                        let guard = receiver.lock().unwrap_or_else(|e| e.into_inner());
                        guard.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                })
                .expect("spawn a password hashing thread");
        }
        HashingPool {
            sender,
            threads,
            queue,
        }
    }

    /// Default size: half the cores (at least one), so hashing never takes
    /// every core from the requests being served; 64 waiting jobs per thread.
    pub fn with_defaults() -> HashingPool {
        let threads = Self::default_threads();
        HashingPool::new(threads, threads * 64)
    }

    pub fn default_threads() -> usize {
        (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1)
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool and awaits its result.
    ///
    /// # Errors
    /// [`HashingBusy`] at once when the queue is full (or the pool is gone).
    pub async fn run<T, F>(&self, f: F) -> Result<T, HashingBusy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(HashingBusy)
            }
        }
        rx.await.map_err(|_| HashingBusy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::default();
        let hash = hasher
            .hash(&Password::parse("demo-password").unwrap())
            .unwrap();
        assert!(
            hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.0
        );
        assert!(hasher.verify("demo-password", &hash));
        assert!(!hasher.verify("demo-passwore", &hash));
        assert!(!hasher.verify("demo-password", &PasswordHash("garbage".into())));
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        let hasher = Argon2Hasher::default();
        // Ours verify with the reference implementation…
        let ours = hasher
            .hash(&Password::parse("correct horse").unwrap())
            .unwrap();
        let parsed = Phc::new(&ours.0).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // …and the reference implementation's verify with ours.
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap();
        assert!(hasher.verify("battery staple", &PasswordHash(theirs.to_string())));
    }

    #[test]
    fn work_areas_are_reused_and_bounded() {
        let hasher =
            std::sync::Arc::new(Argon2Hasher::new(Params::new(64, 1, 1, None).unwrap(), 2));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let hasher = hasher.clone();
                std::thread::spawn(move || {
                    let hash = hasher
                        .hash(&Password::parse(&format!("password-{i}")).unwrap())
                        .unwrap();
                    assert!(hasher.verify(&format!("password-{i}"), &hash));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let pool = hasher.lock();
        assert!(pool.allocated <= 2, "allocated {}", pool.allocated);
        assert_eq!(pool.idle.len(), pool.allocated);
    }

    #[test]
    fn the_dummy_verification_costs_a_real_one_and_never_succeeds() {
        let hasher = Argon2Hasher::new(Params::new(64, 1, 1, None).unwrap(), 1);
        hasher.verify_dummy("anything");
        let dummy = hasher.dummy.get().expect("the dummy hash was made");
        assert!(
            dummy.0.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{}",
            dummy.0
        );
        assert!(!hasher.verify("anything", dummy));
    }

    #[test]
    fn the_hashing_pool_runs_jobs_on_its_own_threads_and_refuses_past_its_queue() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = HashingPool::new(1, 1);
            let name = pool
                .run(|| std::thread::current().name().map(str::to_owned))
                .await
                .unwrap();
            assert_eq!(name.as_deref(), Some("password-hash-0"));
            // Hold the one thread, fill the one queue slot, then one more is refused.
            let (release, wait) = std::sync::mpsc::channel::<()>();
            let (started_tx, started) = std::sync::mpsc::channel::<()>();
            let p = pool.clone();
            let busy = tokio::spawn(async move {
                p.run(move || {
                    started_tx.send(()).unwrap();
                    wait.recv().unwrap();
                })
                .await
            });
            tokio::task::yield_now().await;
            started.recv().unwrap();
            let p = pool.clone();
            let queued = tokio::spawn(async move { p.run(|| 7).await });
            tokio::task::yield_now().await;
            assert_eq!(pool.run(|| 8).await, Err(HashingBusy));
            release.send(()).unwrap();
            busy.await.unwrap().unwrap();
            assert_eq!(queued.await.unwrap(), Ok(7));
        });
    }

    #[test]
    fn absurd_stored_parameters_are_refused() {
        let hasher = Argon2Hasher::default();
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!hasher.verify("x", &PasswordHash(huge.into())));
    }
}
