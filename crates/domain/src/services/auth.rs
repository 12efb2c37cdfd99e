//! Registration, login and account administration.

use crate::error::RepositoryError;
use crate::permissions::Actor;
use crate::ports::CreateUserError;
use crate::user::{DisplayName, Email, NewUser, Password, Role, User, UserChanges, UserInput};
use crate::validation::FieldError;
use crate::{RequestDesk, UserId};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Validation(#[from] FieldError),
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Same message for an unknown email and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("only an admin may do this")]
    Forbidden,
    #[error("user not found")]
    UnknownUser,
    /// The account to change does not exist.
    #[error("no such user")]
    NotFound,
    /// The right password for an account an admin disabled.
    #[error("this account is disabled")]
    Disabled,
    /// An admin may not disable or demote their own account (no lock-out).
    #[error("you cannot disable your own account or change your own role")]
    SelfChange,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl From<CreateUserError> for AuthError {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::DuplicateEmail => AuthError::EmailTaken,
            CreateUserError::Repository(e) => AuthError::Repository(e),
        }
    }
}

impl RequestDesk {
    /// Self-registration: always a requester.
    pub fn register(&self, input: &UserInput) -> Result<User, AuthError> {
        self.create_account(input, Role::Requester)
    }

    /// An admin creates an account with any role.
    pub fn create_user(
        &self,
        actor: &Actor,
        input: &UserInput,
        role: Role,
    ) -> Result<User, AuthError> {
        if !actor.is_admin() {
            return Err(AuthError::Forbidden);
        }
        self.create_account(input, role)
    }

    /// Creates an account unless its email exists; used for the demo users.
    pub fn ensure_user(&self, input: &UserInput, role: Role) -> Result<User, AuthError> {
        match self.create_account(input, role) {
            Err(AuthError::EmailTaken) => {
                let email = Email::parse(&input.email)?;
                self.ports
                    .users
                    .credentials_by_email(&email)?
                    .map(|c| c.user)
                    .ok_or(AuthError::UnknownUser)
            }
            other => other,
        }
    }

    fn create_account(&self, input: &UserInput, role: Role) -> Result<User, AuthError> {
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password)?;
        let display_name = DisplayName::parse(&input.display_name)?;
        let password_hash = self.ports.passwords.hash(&password)?;
        Ok(self.ports.users.create(NewUser {
            email,
            display_name,
            role,
            password_hash,
        })?)
    }

    /// Checks an email and password; the same error whichever is wrong, and
    /// the same work: an unknown email is checked against a dummy hash.
    ///
    /// # Errors
    /// [`AuthError::Validation`] only for an email with control characters
    /// (it could not be looked up); any other malformed email is simply
    /// unknown. [`AuthError::Disabled`] only after the right password.
    pub fn login(&self, email: &str, password: &str) -> Result<User, AuthError> {
        crate::validation::single_line("email", email)?;
        let credentials = match Email::parse(email) {
            Ok(email) => self.ports.users.credentials_by_email(&email)?,
            Err(_) => None,
        };
        let Some(c) = credentials else {
            self.ports.passwords.verify_dummy(password);
            return Err(AuthError::InvalidCredentials);
        };
        if !self.ports.passwords.verify(password, &c.password_hash) {
            return Err(AuthError::InvalidCredentials);
        }
        if c.user.disabled {
            return Err(AuthError::Disabled);
        }
        Ok(c.user)
    }

    /// An admin changes a user's role or disables (or re-enables) them.
    pub fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        changes: UserChanges,
    ) -> Result<User, AuthError> {
        if !actor.is_admin() {
            return Err(AuthError::Forbidden);
        }
        let demotes_self = changes.role.is_some_and(|r| r != Role::Admin);
        if id == actor.id && (changes.disabled == Some(true) || demotes_self) {
            return Err(AuthError::SelfChange);
        }
        self.ports
            .users
            .update(id, changes)?
            .ok_or(AuthError::NotFound)
    }

    /// The signed-in user's account (it may have been deleted since the token was issued).
    pub fn me(&self, actor: &Actor) -> Result<User, AuthError> {
        self.find_user(actor.id)
    }

    pub fn find_user(&self, id: UserId) -> Result<User, AuthError> {
        self.ports.users.find(id)?.ok_or(AuthError::UnknownUser)
    }

    pub fn list_users(&self, actor: &Actor) -> Result<Vec<User>, AuthError> {
        if !actor.is_admin() {
            return Err(AuthError::Forbidden);
        }
        Ok(self.ports.users.list()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::Mocks;
    use crate::user::{PasswordHash, UserCredentials};

    fn input(password: &str) -> UserInput {
        UserInput {
            email: "Alice@Example.com".into(),
            password: password.into(),
            display_name: "Alice".into(),
        }
    }

    fn alice() -> User {
        User {
            id: UserId(3),
            email: "alice@example.com".into(),
            display_name: "Alice".into(),
            role: Role::Requester,
            disabled: false,
        }
    }

    #[test]
    fn registration_hashes_the_password_and_makes_a_requester() {
        let mut m = Mocks::default();
        m.passwords
            .expect_hash()
            .returning(|_| Ok(PasswordHash("$argon2id$x".into())));
        m.users
            .expect_create()
            .withf(|u| {
                u.email.as_str() == "alice@example.com"
                    && u.role == Role::Requester
                    && u.password_hash.0 == "$argon2id$x"
            })
            .returning(|_| Ok(alice()));
        assert_eq!(m.build().register(&input("long-enough")).unwrap(), alice());
    }

    #[test]
    fn short_passwords_are_refused_before_anything_is_stored() {
        let m = Mocks::default();
        let err = m.build().register(&input("short")).unwrap_err();
        assert!(matches!(err, AuthError::Validation(f) if f.field == "password"));
    }

    #[test]
    fn a_taken_email_is_a_conflict() {
        let mut m = Mocks::default();
        m.passwords
            .expect_hash()
            .returning(|_| Ok(PasswordHash("h".into())));
        m.users
            .expect_create()
            .returning(|_| Err(CreateUserError::DuplicateEmail));
        assert!(matches!(
            m.build().register(&input("long-enough")),
            Err(AuthError::EmailTaken)
        ));
    }

    #[test]
    fn wrong_password_and_unknown_email_fail_alike() {
        let mut m = Mocks::default();
        m.users.expect_credentials_by_email().returning(|e| {
            Ok(
                (e.as_str() == "alice@example.com").then(|| UserCredentials {
                    user: alice(),
                    password_hash: PasswordHash("h".into()),
                }),
            )
        });
        m.passwords
            .expect_verify()
            .times(2)
            .returning(|p, _| p == "right-password");
        // The unknown email costs a verification too (no timing oracle).
        m.passwords.expect_verify_dummy().times(1).return_const(());
        let desk = m.build();
        assert_eq!(
            desk.login("ALICE@example.com", "right-password").unwrap(),
            alice()
        );
        let wrong = desk
            .login("alice@example.com", "wrong-password")
            .unwrap_err();
        let unknown = desk
            .login("nobody@example.com", "right-password")
            .unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert!(matches!(unknown, AuthError::InvalidCredentials));
    }

    #[test]
    fn only_admins_manage_users() {
        let requester = Actor {
            id: UserId(3),
            role: Role::Requester,
        };
        let desk = Mocks::default().build();
        assert!(matches!(
            desk.list_users(&requester),
            Err(AuthError::Forbidden)
        ));
        assert!(matches!(
            desk.create_user(&requester, &input("long-enough"), Role::Admin),
            Err(AuthError::Forbidden)
        ));
    }

    #[test]
    fn a_control_character_in_the_email_is_a_validation_error_not_a_lookup() {
        let desk = Mocks::default().build();
        let err = desk.login("a\u{0}@example.com", "whatever").unwrap_err();
        assert!(matches!(err, AuthError::Validation(f) if f.field == "email"));
    }

    #[test]
    fn a_disabled_user_with_the_right_password_is_refused() {
        let mut m = Mocks::default();
        m.users.expect_credentials_by_email().returning(|_| {
            Ok(Some(UserCredentials {
                user: User {
                    disabled: true,
                    ..alice()
                },
                password_hash: PasswordHash("h".into()),
            }))
        });
        m.passwords
            .expect_verify()
            .returning(|p, _| p == "right-password");
        let desk = m.build();
        assert!(matches!(
            desk.login("alice@example.com", "wrong-password"),
            Err(AuthError::InvalidCredentials)
        ));
        assert!(matches!(
            desk.login("alice@example.com", "right-password"),
            Err(AuthError::Disabled)
        ));
    }

    #[test]
    fn an_admin_cannot_lock_themselves_out() {
        let admin = Actor {
            id: UserId(1),
            role: Role::Admin,
        };
        let desk = Mocks::default().build();
        for changes in [
            UserChanges {
                disabled: Some(true),
                role: None,
            },
            UserChanges {
                role: Some(Role::Designer),
                disabled: None,
            },
        ] {
            assert!(matches!(
                desk.update_user(&admin, UserId(1), changes),
                Err(AuthError::SelfChange)
            ));
        }
    }
}
