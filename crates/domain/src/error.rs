//! The error every port may return when its storage fails.

/// A storage failure that is not a business outcome.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The store cannot be reached (database down, pool exhausted): worth retrying later.
    #[error("the data store is unavailable: {0}")]
    Unavailable(String),
    /// The store refused a value it cannot hold (e.g. a byte sequence that is
    /// not valid text). Validation should have caught it; maps to 400.
    #[error("the data store refused the input: {0}")]
    InvalidInput(String),
    /// Anything else unexpected; logged, never shown to users.
    #[error("unexpected data store error: {0}")]
    Unexpected(String),
}
