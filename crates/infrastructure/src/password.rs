//! [`PasswordHasher`] with argon2id (the crate's recommended parameters).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use request_desk_domain::ports::PasswordHasher;
use request_desk_domain::user::{Password, PasswordHash};
use request_desk_domain::RepositoryError;

#[derive(Debug, Clone, Default)]
pub struct Argon2Hasher;

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, RepositoryError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| RepositoryError::Unexpected(format!("hashing failed: {e}")))
    }

    fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        PhcHash::new(&hash.0)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher;
        let hash = hasher
            .hash(&Password::parse("demo-password").unwrap())
            .unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(hasher.verify("demo-password", &hash));
        assert!(!hasher.verify("demo-passwore", &hash));
        assert!(!hasher.verify("demo-password", &PasswordHash("garbage".into())));
    }
}
