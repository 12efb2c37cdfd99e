//! Diesel and r2d2 failures, mapped to the domain's [`RepositoryError`].

use diesel::result::{DatabaseErrorKind, Error};
use request_desk_domain::RepositoryError;

/// No connection could be had in time: the database is down or saturated.
pub(crate) fn pool_error(e: diesel::r2d2::PoolError) -> RepositoryError {
    RepositoryError::Unavailable(e.to_string())
}

/// A failed statement. A lost connection means "unavailable"; anything else is unexpected.
pub(crate) fn db_error(e: Error) -> RepositoryError {
    match &e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
            RepositoryError::Unavailable(e.to_string())
        }
        Error::DatabaseError(_, info)
            if info.message().contains("terminating connection")
                || info.message().contains("server closed the connection")
                || info.message().contains("the database system is") =>
        {
            RepositoryError::Unavailable(e.to_string())
        }
        _ => RepositoryError::Unexpected(e.to_string()),
    }
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
