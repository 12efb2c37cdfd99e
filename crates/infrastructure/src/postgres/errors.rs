//! Diesel and r2d2 failures, mapped to the domain's [`RepositoryError`].

use diesel::result::{DatabaseErrorKind, Error};
use request_desk_domain::RepositoryError;

/// No connection could be had in time: the database is down or saturated.
pub(crate) fn pool_error(e: diesel::r2d2::PoolError) -> RepositoryError {
    RepositoryError::Unavailable(Box::new(e))
}

/// A failed statement. A lost connection, or a wait cut short by
/// `lock_timeout` / `statement_timeout`, means "unavailable" (try again
/// shortly); text PostgreSQL cannot store is bad input; anything else is
/// unexpected.
pub(crate) fn db_error(e: Error) -> RepositoryError {
    let kind: fn(request_desk_domain::error::Cause) -> RepositoryError = match &e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
            RepositoryError::Unavailable
        }
        Error::DatabaseError(_, info)
            if info.message().contains("terminating connection")
                || info.message().contains("server closed the connection")
                || info.message().contains("the database system is")
                || is_timeout(info.message()) =>
        {
            RepositoryError::Unavailable
        }
        Error::DatabaseError(_, info) if is_encoding_error(info.message()) => {
            RepositoryError::InvalidInput
        }
        _ => RepositoryError::Unexpected,
    };
    kind(Box::new(e))
}

/// Running the pending migrations failed; the harness's error is the cause.
#[derive(Debug, thiserror::Error)]
#[error("migrations failed")]
struct MigrationsFailed(#[source] request_desk_domain::error::Cause);

/// The migration harness failed: unexpected, with its error kept as the cause.
pub(crate) fn migrations_error(e: request_desk_domain::error::Cause) -> RepositoryError {
    RepositoryError::Unexpected(Box::new(MigrationsFailed(e)))
}

/// `lock_timeout` (55P03) or `statement_timeout` (57014) cut a statement short.
fn is_timeout(message: &str) -> bool {
    message.starts_with("canceling statement due to lock timeout")
        || message.starts_with("canceling statement due to statement timeout")
        || message.starts_with("could not obtain lock")
}

/// 22021 and friends: a NUL byte, or bytes that are not UTF-8.
fn is_encoding_error(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding")
        || message.contains("cannot be converted to text")
        || message.starts_with("unsupported Unicode escape sequence")
}

/// Whether an error means the database cannot be reached right now.
pub fn is_unavailable(e: &RepositoryError) -> bool {
    matches!(e, RepositoryError::Unavailable(_))
}

/// Lets transactions carry a domain outcome or a database error.
#[derive(Debug)]
pub(crate) enum TxError<E> {
    Domain(E),
    Db(Error),
}

impl<E> From<Error> for TxError<E> {
    fn from(e: Error) -> Self {
        TxError::Db(e)
    }
}

impl<E: From<RepositoryError>> TxError<E> {
    /// The outcome a port method returns: the domain's, or the database failure mapped.
    pub(crate) fn into_error(self) -> E {
        match self {
            TxError::Domain(e) => e,
            TxError::Db(e) => db_error(e).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::DatabaseErrorInformation;

    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn error(message: &'static str) -> RepositoryError {
        db_error(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(Info(message)),
        ))
    }

    #[test]
    fn text_the_database_cannot_store_is_bad_input_not_unexpected() {
        assert!(matches!(
            error("invalid byte sequence for encoding \"UTF8\": 0x00"),
            RepositoryError::InvalidInput(_)
        ));
    }

    #[test]
    fn a_failed_migration_keeps_its_cause() {
        let e = migrations_error("relation \"days\" already exists".into());
        assert!(matches!(e, RepositoryError::Unexpected(_)));
        assert_eq!(
            e.chain(),
            "unexpected data store error: migrations failed: relation \"days\" already exists"
        );
    }

    #[test]
    fn lock_and_statement_timeouts_are_retryable() {
        for message in [
            "canceling statement due to lock timeout",
            "canceling statement due to statement timeout",
        ] {
            assert!(
                matches!(error(message), RepositoryError::Unavailable(_)),
                "{message}"
            );
        }
        assert!(matches!(
            error("duplicate key value violates unique constraint"),
            RepositoryError::Unexpected(_)
        ));
    }
}
