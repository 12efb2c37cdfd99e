//! What the engine needs from the application: [`HubApp`].
//!
//! The engine moves messages; the application decides who may connect and
//! what its hub methods do. Methods follow mini-redis's `Command` shape: the
//! application parses an invocation into its own typed method (usually an
//! enum, one variant per method, arguments checked once, in
//! [`HubApp::parse`]), then applies it ([`HubApp::call`]).

use std::fmt;
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use serde_json::Value;

/// The authenticated user behind a request, as [`HubApp::authenticate`]
/// reports it.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's id; [`Audience::User`](crate::Audience::User) and
    /// [`Hub::close_user`](crate::Hub::close_user) address connections by
    /// it, and a connection may only be used by the user who negotiated it.
    pub user: String,
    /// When the credential stops being valid (a JWT's `exp`). The engine
    /// closes the connection then with `Close {error, allowReconnect: true}`,
    /// so the client signs in again. A later request of the same connection
    /// (a poll, a POST, a WebSocket resume) with a fresher token moves it.
    pub expires_at: Option<SystemTime>,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a hub method failed; its `Display` is sent to the client as the
/// Completion's `error`, so it must never carry internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    /// No method of that name (the engine's wording matches ASP.NET Core).
    #[error("Unknown hub method '{0}'")]
    Unknown(String),
    /// The client's arguments were unusable (count, types, values).
    #[error("{0}")]
    BadArguments(String),
    /// The method could not do its work (e.g. a database is down). Logged at
    /// `warn` by the engine.
    #[error("{0}")]
    Failed(String),
}

impl MethodError {
    /// The error for a wrong argument count, worded as ASP.NET Core words it.
    pub fn arity(method: &str, given: usize, expected: usize) -> MethodError {
        MethodError::BadArguments(format!(
            "Invocation provides {given} argument(s) but target '{method}' expects {expected}."
        ))
    }
}

/// Checks that `arguments` has exactly `expected` elements.
///
/// # Errors
///
/// [`MethodError::arity`] otherwise.
pub fn expect_arity(method: &str, arguments: &[Value], expected: usize) -> Result<(), MethodError> {
    if arguments.len() == expected {
        Ok(())
    } else {
        Err(MethodError::arity(method, arguments.len(), expected))
    }
}

/// The connection a method is invoked on.
#[derive(Debug)]
pub struct Caller<'a, S> {
    /// The public connection id.
    pub connection_id: &'a str,
    /// The user who owns the connection.
    pub user: &'a str,
    /// The application's state of this connection (e.g. a filter that
    /// [`Audience::Where`](crate::Audience::Where) reads when publishing).
    pub state: &'a S,
}

/// The application side of a hub.
pub trait HubApp: Send + Sync + 'static {
    /// Per-connection application state, created with `Default` when a
    /// connection is negotiated. Shared with the broadcast path, so it uses
    /// interior mutability (atomics are the cheapest).
    type State: Default + Send + Sync + 'static;

    /// A parsed invocation: one variant per hub method.
    type Method: Send + 'static;

    /// Validates a bearer token (from `Authorization: Bearer` or the
    /// `access_token` query parameter). `None` → 401.
    fn authenticate(&self, token: &str) -> Option<Principal>;

    /// Turns an invocation into a typed method. `target` is the name the
    /// client used (ASP.NET Core matches names case-insensitively).
    ///
    /// # Errors
    ///
    /// [`MethodError::Unknown`] for an unknown name, [`MethodError::BadArguments`]
    /// for unusable arguments; the connection stays open either way.
    fn parse(&self, target: &str, arguments: Vec<Value>) -> Result<Self::Method, MethodError>;

    /// Runs a method. Synchronous effects on the caller's state should happen
    /// before the returned future, which is awaited before the connection's
    /// next message is processed (messages of one connection run in order).
    /// `Ok(Value::Null)` answers `result: null`.
    fn call(
        &self,
        caller: &Caller<'_, Self::State>,
        method: Self::Method,
    ) -> BoxFuture<'static, Result<Value, MethodError>>;
}
