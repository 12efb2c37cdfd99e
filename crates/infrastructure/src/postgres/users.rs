//! [`UserRepository`] on PostgreSQL.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use request_desk_domain::ports::{CreateUserError, UserRepository};
use request_desk_domain::user::{Email, NewUser, User, UserChanges, UserCredentials};
use request_desk_domain::{RepositoryError, UserId};

use request_desk_domain::live::LiveEvent;

use super::changes::announce;
use super::errors::{db_error, TxError};
use super::rows::{NewUserRow, UserRow};
use super::schema::users;
use super::PgStore;

impl UserRepository for PgStore {
    fn create(&self, user: NewUser) -> Result<User, CreateUserError> {
        let mut conn = self.conn()?;
        diesel::insert_into(users::table)
            .values(NewUserRow {
                email: user.email.as_str(),
                display_name: user.display_name.as_str(),
                role: user.role.as_str(),
                password_hash: &user.password_hash.0,
            })
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .map_err(|e| match e {
                Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    CreateUserError::DuplicateEmail
                }
                e => CreateUserError::Repository(db_error(e)),
            })?
            .into_user()
            .map_err(CreateUserError::Repository)
    }

    fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, RepositoryError> {
        let mut conn = self.conn()?;
        users::table
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(db_error)?
            .map(UserRow::into_credentials)
            .transpose()
    }

    fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        let mut conn = self.conn()?;
        users::table
            .find(id.0)
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(db_error)?
            .map(UserRow::into_user)
            .transpose()
    }

    fn list(&self) -> Result<Vec<User>, RepositoryError> {
        let mut conn = self.conn()?;
        users::table
            .order(users::id)
            .select(UserRow::as_select())
            .load(&mut conn)
            .map_err(db_error)?
            .into_iter()
            .map(UserRow::into_user)
            .collect()
    }

    fn update(&self, id: UserId, changes: UserChanges) -> Result<Option<User>, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let found: Option<UserRow> = users::table
                .find(id.0)
                .for_update()
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            let Some(mut row) = found else {
                return Ok(None);
            };
            if let Some(role) = changes.role {
                row.role = role.as_str().to_owned();
            }
            if let Some(disabled) = changes.disabled {
                row.disabled = disabled;
            }
            let row: UserRow = diesel::update(users::table.find(id.0))
                .set((users::role.eq(&row.role), users::disabled.eq(row.disabled)))
                .returning(UserRow::as_returning())
                .get_result(conn)?;
            // Every instance (this one too) learns of it from the change stream.
            announce::<RepositoryError>(
                conn,
                &[LiveEvent::UserChanged {
                    user: id,
                    disabled: row.disabled,
                }],
            )?;
            Ok::<_, TxError<RepositoryError>>(Some(row))
        })
        .map_err(TxError::into_error)?
        .map(UserRow::into_user)
        .transpose()
    }
}
