//! The error every port may return when its storage fails.

/// What went wrong underneath, kept as the source of a [`RepositoryError`]
/// so the edge can log the whole chain once.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure that is not a business outcome.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The store cannot be reached (database down, pool exhausted): worth retrying later.
    #[error("the data store is unavailable")]
    Unavailable(#[source] Cause),
    /// The store refused a value it cannot hold (e.g. a byte sequence that is
    /// not valid text). Validation should have caught it; maps to 400.
    #[error("the data store refused the input")]
    InvalidInput(#[source] Cause),
    /// Anything else unexpected; logged, never shown to users.
    #[error("unexpected data store error")]
    Unexpected(#[source] Cause),
}

impl RepositoryError {
    /// An unexpected failure described in words (an invariant that broke).
    pub fn unexpected(what: impl Into<String>) -> Self {
        RepositoryError::Unexpected(what.into().into())
    }

    /// This error and its causes, outermost first: `a: b: c`.
    pub fn chain(&self) -> String {
        chain(self)
    }
}

/// `error` and its causes, outermost first: `a: b: c` — how the edges log
/// an error, whole, once.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_and_chained() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = RepositoryError::Unavailable(Box::new(io));
        assert_eq!(e.to_string(), "the data store is unavailable");
        assert_eq!(e.chain(), "the data store is unavailable: reset by peer");
        assert!(std::error::Error::source(&e).is_some());
    }
}
