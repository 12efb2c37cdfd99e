//! Users, their roles, and the validated parts of a registration.

use serde::Serialize;

use crate::ids::UserId;
use crate::validation::FieldError;

/// What a user may do: see [`crate::permissions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Requester,
    Designer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Designer => "designer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "requester" => Some(Role::Requester),
            "designer" => Some(Role::Designer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An email address, trimmed and lowercased so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        crate::validation::single_line("email", raw)?;
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, host)| {
                !local.is_empty()
                    && host.contains('.')
                    && !host.starts_with('.')
                    && !host.ends_with('.')
                    && !host.contains('@')
            });
        if valid {
            Ok(Email(email))
        } else {
            Err(FieldError::new("email", "must be a valid email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password in clear text, long enough to be accepted. Never stored.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Minimum password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length, so hashing cost stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 256;

impl Password {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            Err(FieldError::new(
                "password",
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ))
        } else if n > MAX_PASSWORD_CHARS {
            Err(FieldError::new(
                "password",
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ))
        } else {
            Ok(Password(raw.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        crate::validation::single_line("displayName", raw)?;
        let name = raw.trim();
        match name.chars().count() {
            0 => Err(FieldError::new("displayName", "must not be empty")),
            1..=100 => Ok(DisplayName(name.to_owned())),
            _ => Err(FieldError::new(
                "displayName",
                "must be at most 100 characters",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored password hash (PHC string). Opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The contract's `User` (never a password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// A disabled user cannot sign in, and their tokens are refused.
    pub disabled: bool,
}

impl User {
    /// What this user may do now: `None` when the account is disabled.
    pub fn actor(&self) -> Option<crate::permissions::Actor> {
        (!self.disabled).then_some(crate::permissions::Actor {
            id: self.id,
            role: self.role,
        })
    }
}

/// What an admin changes about an account (`PATCH /api/users/{id}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A user together with the hash to check a login against.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

/// A user ready to be stored: every part validated, the password hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub password_hash: PasswordHash,
}

/// A registration or admin-created account as typed, before validation.
#[derive(Clone)]
pub struct UserInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput")
            .field("email", &self.email)
            .field("password", &format_args!("<redacted>"))
            .field("display_name", &self.display_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("ääääääää").is_ok());
        assert!(Password::parse(&"x".repeat(300)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-secret").unwrap()),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn a_typed_password_is_redacted_in_debug_output() {
        let input = UserInput {
            email: "alice@example.com".into(),
            password: "secret-secret".into(),
            display_name: "Alice".into(),
        };
        let debug = format!("{input:?}");
        assert!(!debug.contains("secret-secret"), "{debug}");
        assert!(debug.contains("alice@example.com"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Alice ").unwrap().as_str(), "Alice");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Requester, Role::Designer, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
