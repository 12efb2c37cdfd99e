//! JWT sign-in tokens (HS256), the user directory behind them, and the
//! [`SignedIn`] extractor.
//!
//! Tokens carry `sub` (user id), `role`, `iat`, `exp`, `iss` and `aud`. Only
//! HS256 is accepted (an `alg: none` or RS256 token fails), and signature,
//! expiry, `nbf` (when present), issuer and audience are all checked; an `iat`
//! in the future is refused too. Each check allows [`LEEWAY_SECONDS`] of clock
//! skew between instances.
//!
//! A token is only as good as its user: the `role` claim is never trusted.
//! Every check looks the user up in the [`UserDirectory`] (a cache of at
//! most [`UserDirectory::ttl`] age, dropped at once on this instance when an
//! admin changes the user): an unknown or disabled user's token is refused,
//! and the role is the user's current one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use request_desk_domain::permissions::Actor;
use request_desk_domain::ports::UserRepository;
use request_desk_domain::user::User;
use request_desk_domain::{RepositoryError, UserId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;

pub const ISSUER: &str = "request-desk";
pub const AUDIENCE: &str = "request-desk";

/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    iss: String,
    aud: String,
}

/// Signs and checks tokens with one shared secret (no user lookup).
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A freshly issued token.
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &crate::config::Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenSigner {
    pub fn new(secret: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        TokenSigner {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, user: &User) -> Result<IssuedToken, ApiError> {
        let now = OffsetDateTime::now_utc();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role.as_str().to_owned(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            nbf: None,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The user a token was issued to, if its signature and times are valid.
    pub fn subject(&self, token: &str) -> Option<UserId> {
        self.subject_until(token).map(|(id, _)| id)
    }

    /// The user a token was issued to and when the token expires (`exp`).
    pub fn subject_until(&self, token: &str) -> Option<(UserId, OffsetDateTime)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // jsonwebtoken checks `exp` and `nbf`, not an `iat` from the future.
        if data.claims.iat > now + LEEWAY_SECONDS as i64 {
            return None;
        }
        let expires = OffsetDateTime::from_unix_timestamp(data.claims.exp).ok()?;
        Some((UserId(data.claims.sub.parse().ok()?), expires))
    }
}

/// How long a looked-up user may be used after the database became unreachable.
const STALE_IF_ERROR: std::time::Duration = std::time::Duration::from_secs(300);
/// Cached users kept at most; past it the expired ones go, then all.
const MAX_CACHED_USERS: usize = 100_000;

#[derive(Debug, Clone)]
struct Cached {
    /// `None`: no such user.
    user: Option<User>,
    fetched: Instant,
}

/// The users behind tokens, as they are now (at most `ttl` old).
pub struct UserDirectory {
    users: Arc<dyn UserRepository>,
    ttl: std::time::Duration,
    entries: Mutex<HashMap<UserId, Cached>>,
}

impl std::fmt::Debug for UserDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDirectory")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl UserDirectory {
    /// `ttl` zero: look the user up on every request.
    pub fn new(users: Arc<dyn UserRepository>, ttl: std::time::Duration) -> Self {
        UserDirectory {
            users,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The staleness bound: a role change or a disabled account made on
    /// another instance takes effect here within this long.
    pub fn ttl(&self) -> std::time::Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Cached>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached user if the entry is fresh; `Some(None)` for a known-unknown id.
    fn fresh(&self, id: UserId) -> Option<Option<User>> {
        let entries = self.lock();
        let cached = entries.get(&id)?;
        (cached.fetched.elapsed() < self.ttl).then(|| cached.user.clone())
    }

    fn store(&self, id: UserId, user: Option<User>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_USERS {
            let ttl = self.ttl;
            entries.retain(|_, c| c.fetched.elapsed() < ttl);
            if entries.len() >= MAX_CACHED_USERS {
                entries.clear();
            }
        }
        entries.insert(
            id,
            Cached {
                user,
                fetched: Instant::now(),
            },
        );
    }

    /// Takes a user as just read (a login, an admin's change).
    pub fn remember(&self, user: &User) {
        self.store(user.id, Some(user.clone()));
    }

    /// Drops what is cached about a user (they changed).
    pub fn forget(&self, id: UserId) {
        self.lock().remove(&id);
    }

    /// Reads the user from the database (blocking) and caches the answer. If
    /// the database cannot be reached, an entry younger than five minutes
    /// still answers, so signed-in clients ride out a database restart.
    pub fn fetch(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        match self.users.find(id) {
            Ok(user) => {
                self.store(id, user.clone());
                Ok(user)
            }
            Err(e) => {
                let stale = self
                    .lock()
                    .get(&id)
                    .filter(|c| c.fetched.elapsed() < STALE_IF_ERROR)
                    .map(|c| c.user.clone());
                match stale {
                    Some(user) => {
                        tracing::warn!(error = %e.chain(), user_id = id.0, "user lookup failed; using the cached user");
                        Ok(user)
                    }
                    None => Err(e),
                }
            }
        }
    }
}

/// A live-event sink that first drops changed users from the directory
/// (every instance receives `UserChanged` from the change stream, so a role
/// change or a disabled account applies on every instance within the
/// stream's latency, the cache TTL being only the bound when the stream is
/// away), then hands every event on.
pub struct ForgetChangedUsers<S> {
    pub users: Arc<UserDirectory>,
    pub inner: S,
}

impl<S> std::fmt::Debug for ForgetChangedUsers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForgetChangedUsers").finish_non_exhaustive()
    }
}

impl<S: request_desk_domain::live::LiveEvents> request_desk_domain::live::LiveEvents
    for ForgetChangedUsers<S>
{
    fn publish(&self, events: &[request_desk_domain::live::LiveEvent]) {
        for event in events {
            if let request_desk_domain::live::LiveEvent::UserChanged { user, .. } = event {
                self.users.forget(*user);
            }
        }
        self.inner.publish(events);
    }
}

/// Why a token does not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Forged, expired, not yet valid, or malformed.
    InvalidToken,
    /// Its user does not exist (any more).
    UnknownUser,
    /// Its user is disabled.
    Disabled,
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        ApiError::unauthorized(match r {
            Refused::InvalidToken => "the token is invalid or expired",
            Refused::UnknownUser => "the token's user no longer exists",
            Refused::Disabled => "this account is disabled",
        })
    }
}

fn actor_of(user: Option<User>) -> Result<Actor, Refused> {
    let user = user.ok_or(Refused::UnknownUser)?;
    user.actor().ok_or(Refused::Disabled)
}

/// Issues tokens and tells whom a token speaks for now.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub signer: TokenSigner,
    pub users: Arc<UserDirectory>,
}

impl Tokens {
    pub fn new(signer: TokenSigner, users: Arc<UserDirectory>) -> Self {
        Tokens { signer, users }
    }

    pub fn issue(&self, user: &User) -> Result<IssuedToken, ApiError> {
        self.users.remember(user);
        self.signer.issue(user)
    }

    /// The actor a token speaks for, blocking on a database lookup when the
    /// user is not cached. For the hub's (synchronous) authentication; REST
    /// handlers use [`Tokens::authenticate`], which looks up off the workers.
    pub fn verify(&self, token: &str) -> Option<Actor> {
        self.verify_until(token).map(|(actor, _)| actor)
    }

    /// [`Tokens::verify`], and when the token expires.
    pub fn verify_until(&self, token: &str) -> Option<(Actor, OffsetDateTime)> {
        let (id, expires) = self.signer.subject_until(token)?;
        let user = match self.users.fresh(id) {
            Some(user) => user,
            None => self.users.fetch(id).ok()?,
        };
        Some((actor_of(user).ok()?, expires))
    }

    /// The actor a token speaks for, its user looked up on the blocking pool
    /// when not cached.
    ///
    /// # Errors
    /// 401 for a bad token or an unknown or disabled user; 503 when the
    /// database cannot say.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, ApiError> {
        let id = self.signer.subject(token).ok_or(Refused::InvalidToken)?;
        let user = match self.users.fresh(id) {
            Some(user) => user,
            None => {
                let users = self.users.clone();
                web::block(move || users.fetch(id)).await??
            }
        };
        Ok(actor_of(user)?)
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Extracts the signed-in actor (with the user's current role), or answers
/// 401 with the contract's body.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn(pub Actor);

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let tokens = req
            .app_data::<web::Data<Arc<Tokens>>>()
            .expect("Tokens are registered")
            .clone();
        let token = bearer_token(req).map(str::to_owned);
        Box::pin(async move {
            match token {
                None => Err(ApiError::unauthorized(
                    "sign in first: a bearer token is required",
                )),
                Some(token) => tokens.authenticate(&token).await.map(SignedIn),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use request_desk_domain::ports::CreateUserError;
    use request_desk_domain::user::{Email, NewUser, Role, UserChanges, UserCredentials};

    fn alice() -> User {
        User {
            id: UserId(3),
            email: "alice@example.com".into(),
            display_name: "Alice".into(),
            role: Role::Requester,
            disabled: false,
        }
    }

    fn signer(ttl: Duration) -> TokenSigner {
        TokenSigner::new("secret", ttl)
    }

    fn signed(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    fn claims_at(iat: i64, nbf: Option<i64>) -> Claims {
        Claims {
            sub: "3".into(),
            role: "admin".into(),
            iat,
            exp: iat + 3600,
            nbf,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    #[test]
    fn an_issued_token_names_its_user() {
        let s = signer(Duration::minutes(5));
        let token = s.issue(&alice()).unwrap().token;
        assert_eq!(s.subject(&token), Some(UserId(3)));
    }

    #[test]
    fn an_issued_token_is_redacted_in_debug_output() {
        let issued = signer(Duration::minutes(5)).issue(&alice()).unwrap();
        let debug = format!("{issued:?}");
        assert!(!debug.contains(&issued.token), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn forged_expired_and_unsigned_tokens_fail() {
        let s = signer(Duration::minutes(5));
        let forged = TokenSigner::new("other", Duration::minutes(5))
            .issue(&alice())
            .unwrap()
            .token;
        assert_eq!(s.subject(&forged), None);
        let expired = signer(Duration::minutes(-10))
            .issue(&alice())
            .unwrap()
            .token;
        assert_eq!(s.subject(&expired), None);
        // alg: none, same claims, no signature.
        let payload = forged.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(s.subject(&none), None);
    }

    #[test]
    fn wrong_issuer_or_audience_fails() {
        let s = signer(Duration::minutes(5));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for (iss, aud) in [("someone-else", AUDIENCE), (ISSUER, "someone-else")] {
            let mut claims = claims_at(now, None);
            claims.iss = iss.into();
            claims.aud = aud.into();
            assert_eq!(s.subject(&signed(&claims)), None);
        }
    }

    #[test]
    fn a_token_not_valid_yet_fails_beyond_the_leeway() {
        let s = signer(Duration::minutes(5));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // nbf an hour from now: refused.
        assert_eq!(s.subject(&signed(&claims_at(now, Some(now + 3600)))), None);
        // nbf within the leeway: accepted.
        assert_eq!(
            s.subject(&signed(&claims_at(now, Some(now + 10)))),
            Some(UserId(3))
        );
        assert_eq!(
            s.subject(&signed(&claims_at(now, Some(now - 10)))),
            Some(UserId(3))
        );
    }

    #[test]
    fn a_token_issued_in_the_future_fails_beyond_the_leeway() {
        let s = signer(Duration::minutes(5));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(s.subject(&signed(&claims_at(now + 3600, None))), None);
        assert_eq!(
            s.subject(&signed(&claims_at(now + 10, None))),
            Some(UserId(3))
        );
    }

    /// A user table in memory, counting lookups.
    #[derive(Default)]
    struct Users {
        rows: Mutex<HashMap<UserId, User>>,
        lookups: std::sync::atomic::AtomicUsize,
    }

    impl UserRepository for Users {
        fn create(&self, _: NewUser) -> Result<User, CreateUserError> {
            unreachable!("not used here")
        }
        fn credentials_by_email(
            &self,
            _: &Email,
        ) -> Result<Option<UserCredentials>, RepositoryError> {
            unreachable!("not used here")
        }
        fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
            self.lookups
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self.rows.lock().unwrap().get(&id).cloned())
        }
        fn list(&self) -> Result<Vec<User>, RepositoryError> {
            unreachable!("not used here")
        }
        fn update(
            &self,
            id: UserId,
            changes: UserChanges,
        ) -> Result<Option<User>, RepositoryError> {
            let mut rows = self.rows.lock().unwrap();
            let Some(user) = rows.get_mut(&id) else {
                return Ok(None);
            };
            if let Some(role) = changes.role {
                user.role = role;
            }
            if let Some(disabled) = changes.disabled {
                user.disabled = disabled;
            }
            Ok(Some(user.clone()))
        }
    }

    fn tokens(users: Arc<Users>, ttl: std::time::Duration) -> Tokens {
        Tokens::new(
            signer(Duration::minutes(5)),
            Arc::new(UserDirectory::new(users, ttl)),
        )
    }

    #[test]
    fn the_role_comes_from_the_user_not_the_token() {
        let users = Arc::new(Users::default());
        users.rows.lock().unwrap().insert(UserId(3), alice());
        let tokens = tokens(users.clone(), std::time::Duration::ZERO);
        // A token claiming "admin" for a requester.
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let token = signed(&claims_at(now, None));
        assert_eq!(
            tokens.verify(&token),
            Some(Actor {
                id: UserId(3),
                role: Role::Requester
            })
        );
        users
            .update(
                UserId(3),
                UserChanges {
                    role: Some(Role::Designer),
                    disabled: None,
                },
            )
            .unwrap();
        assert_eq!(tokens.verify(&token).map(|a| a.role), Some(Role::Designer));
    }

    #[test]
    fn a_disabled_or_unknown_users_token_is_refused() {
        let users = Arc::new(Users::default());
        users.rows.lock().unwrap().insert(UserId(3), alice());
        let tokens = tokens(users.clone(), std::time::Duration::ZERO);
        let token = tokens.issue(&alice()).unwrap().token;
        assert!(tokens.verify(&token).is_some());
        users
            .update(
                UserId(3),
                UserChanges {
                    role: None,
                    disabled: Some(true),
                },
            )
            .unwrap();
        assert_eq!(tokens.verify(&token), None);
        users.rows.lock().unwrap().clear();
        assert_eq!(tokens.verify(&token), None);
    }

    #[test]
    fn lookups_are_cached_for_the_ttl_and_forgotten_on_change() {
        let users = Arc::new(Users::default());
        users.rows.lock().unwrap().insert(UserId(3), alice());
        let tokens = tokens(users.clone(), std::time::Duration::from_secs(60));
        let token = signer(Duration::minutes(5)).issue(&alice()).unwrap().token;
        let lookups = || users.lookups.load(std::sync::atomic::Ordering::SeqCst);
        assert!(tokens.verify(&token).is_some());
        assert!(tokens.verify(&token).is_some());
        assert_eq!(lookups(), 1);
        users
            .update(
                UserId(3),
                UserChanges {
                    role: None,
                    disabled: Some(true),
                },
            )
            .unwrap();
        tokens.users.forget(UserId(3));
        assert_eq!(tokens.verify(&token), None);
        assert_eq!(lookups(), 2);
    }
}
