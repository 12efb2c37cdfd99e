//! JWT sign-in tokens (HS256) and the [`SignedIn`] extractor.
//!
//! Tokens carry `sub` (user id), `role`, `iat`, `exp`, `iss` and `aud`. Only
//! HS256 is accepted (an `alg: none` or RS256 token fails), and signature,
//! expiry, issuer and audience are all checked.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use request_desk_domain::permissions::Actor;
use request_desk_domain::user::{Role, User};
use request_desk_domain::UserId;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;

pub const ISSUER: &str = "request-desk";
pub const AUDIENCE: &str = "request-desk";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Issues and checks tokens with one shared secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A freshly issued token.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl Tokens {
    pub fn new(secret: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Tokens {
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
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The actor a token speaks for, if it is valid.
    pub fn verify(&self, token: &str) -> Option<Actor> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(Actor {
            id: UserId(data.claims.sub.parse().ok()?),
            role: Role::parse(&data.claims.role)?,
        })
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

/// Extracts the signed-in actor, or answers 401 with the contract's body.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn(pub Actor);

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let tokens = req
            .app_data::<web::Data<Arc<Tokens>>>()
            .expect("Tokens are registered");
        ready(match bearer_token(req) {
            None => Err(ApiError::unauthorized(
                "sign in first: a bearer token is required",
            )),
            Some(token) => tokens
                .verify(token)
                .map(SignedIn)
                .ok_or_else(|| ApiError::unauthorized("the token is invalid or expired")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        User {
            id: UserId(3),
            email: "alice@example.com".into(),
            display_name: "Alice".into(),
            role: Role::Requester,
        }
    }

    #[test]
    fn an_issued_token_verifies() {
        let tokens = Tokens::new("secret", Duration::minutes(5));
        let token = tokens.issue(&alice()).unwrap().token;
        assert_eq!(
            tokens.verify(&token),
            Some(Actor {
                id: UserId(3),
                role: Role::Requester
            })
        );
    }

    #[test]
    fn forged_expired_and_unsigned_tokens_fail() {
        let tokens = Tokens::new("secret", Duration::minutes(5));
        let forged = Tokens::new("other", Duration::minutes(5))
            .issue(&alice())
            .unwrap()
            .token;
        assert_eq!(tokens.verify(&forged), None);
        let expired = Tokens::new("secret", Duration::minutes(-10))
            .issue(&alice())
            .unwrap()
            .token;
        assert_eq!(tokens.verify(&expired), None);
        // alg: none, same claims, no signature.
        let payload = forged.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(tokens.verify(&none), None);
    }

    #[test]
    fn wrong_issuer_or_audience_fails() {
        let tokens = Tokens::new("secret", Duration::minutes(5));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for (iss, aud) in [("someone-else", AUDIENCE), (ISSUER, "someone-else")] {
            let claims = Claims {
                sub: "3".into(),
                role: "admin".into(),
                iat: now,
                exp: now + 60,
                iss: iss.into(),
                aud: aud.into(),
            };
            let token = jsonwebtoken::encode(
                &Header::default(),
                &claims,
                &EncodingKey::from_secret(b"secret"),
            )
            .unwrap();
            assert_eq!(tokens.verify(&token), None);
        }
    }
}
