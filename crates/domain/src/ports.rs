//! The ports: what the domain needs from the outside world.
//!
//! Every trait is small and synchronous (adapters may block; the server runs
//! services off the async executor). One method is one unit of atomicity:
//! an adapter opens and commits its own transaction inside it. Contracts an
//! adapter MUST honour are stated under `# Errors`.

use time::{Date, OffsetDateTime};

use crate::capacity::{Capacity, Day, DayRecord, Refusal};
use crate::error::RepositoryError;
use crate::hold::{Hold, HoldTtl};
use crate::ids::{HoldId, NotificationId, RequestId, UserId};
use crate::notification::Inbox;
use crate::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestPage, RequestStatus,
};
use crate::settings::{CapacitySettings, StoredSettings};
use crate::user::{Email, NewUser, Password, PasswordHash, User, UserChanges, UserCredentials};
use crate::validation::FieldError;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this email already exists")]
    DuplicateEmail,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait UserRepository: Send + Sync + 'static {
    /// Stores a new account.
    ///
    /// # Errors
    /// MUST return [`CreateUserError::DuplicateEmail`] when the (normalised) email exists.
    fn create(&self, user: NewUser) -> Result<User, CreateUserError>;
    fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, RepositoryError>;
    fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError>;
    /// Every user, by id.
    fn list(&self) -> Result<Vec<User>, RepositoryError>;
    /// Applies an admin's changes to an account; `None` when it does not exist.
    /// In the same transaction it MUST announce the change to every instance
    /// (so each drops what it cached about the user and closes their hub
    /// connections if they were disabled).
    fn update(&self, id: UserId, changes: UserChanges) -> Result<Option<User>, RepositoryError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait PasswordHasher: Send + Sync + 'static {
    fn hash(&self, password: &Password) -> Result<PasswordHash, RepositoryError>;
    /// Constant-time check of a typed password against a stored hash.
    fn verify(&self, password: &str, hash: &PasswordHash) -> bool;
    /// The work of a [`verify`](Self::verify) that fails, against a hash of
    /// the same cost: a login for an unknown email takes as long as one with
    /// a wrong password, so timing does not tell which emails are registered.
    fn verify_dummy(&self, password: &str);
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SettingsRepository: Send + Sync + 'static {
    /// The stored settings, or the contract's defaults (version 0) if never saved.
    fn load(&self) -> Result<StoredSettings, RepositoryError>;
    /// Replaces the settings, stamps them with a new global version and
    /// announces `SettingsChanged`, in one transaction.
    fn save(
        &self,
        settings: &CapacitySettings,
        at: OffsetDateTime,
    ) -> Result<StoredSettings, RepositoryError>;
}

/// Which dates a [`DayRepository::snapshot`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// `[from, to]`, each defaulting to the booking window of the settings
    /// in the snapshot (validated by [`Pick::resolve`]).
    Range {
        from: Option<Date>,
        to: Option<Date>,
        now: OffsetDateTime,
    },
    /// Every date whose version is greater than this.
    ChangedSince(i64),
}

/// Settings, versions and days read together from one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub settings: StoredSettings,
    /// The newest global change number (days and settings) in the snapshot.
    pub version: i64,
    /// The records the pick selected that exist, in date order, with live holds counted.
    pub records: Vec<DayRecord>,
    /// The dates a `Range` pick resolved to (`None` for `ChangedSince`).
    pub range: Option<(Date, Date)>,
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait DayRepository: Send + Sync + 'static {
    /// Reads the settings, the newest version and the picked days in one
    /// read-only REPEATABLE READ transaction, so they agree with each other.
    /// MUST cost a constant number of queries.
    ///
    /// # Errors
    /// [`SnapshotError::Invalid`] when a `Range` does not resolve (see [`Pick::resolve`]).
    fn snapshot(&self, pick: Pick) -> Result<Snapshot, SnapshotError>;
    /// Sets a date's capacity override, stamping the date and announcing it.
    fn set_override(
        &self,
        date: Date,
        capacity: Capacity,
        note: Option<String>,
        at: OffsetDateTime,
    ) -> Result<Day, RepositoryError>;
    /// Removes a date's override (if any), stamping the date and announcing it.
    fn clear_override(&self, date: Date, at: OffsetDateTime) -> Result<Day, RepositoryError>;
}

/// Why a snapshot was not read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// A committed change to a request and the dates whose numbers it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub request: Request,
    /// Each touched date as committed, newly versioned, under the settings in force.
    pub changed_days: Vec<Day>,
}

/// Why an atomic booking step did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// [`admit`](crate::capacity::admit) refused the date at the moment of the write.
    #[error("the date cannot take this request: {0:?}")]
    Refused(Refusal),
    #[error("request not found")]
    NotFound,
    /// The hold given is not a live hold of the caller on that date (expired,
    /// released, used, someone else's, or for another day).
    #[error("the hold has expired or is not yours")]
    HoldExpired,
    /// The requester's account does not exist (deleted meanwhile).
    #[error("the user no longer exists")]
    UnknownUser,
    /// The request's status was no longer the expected one (a concurrent change won).
    #[error("the request's status changed meanwhile to {0:?}")]
    StatusChanged(RequestStatus),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// A status change to make, and whom it tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub at: OffsetDateTime,
    /// Store a `StatusChanged` notification for the requester, in the same transaction.
    pub notify_requester: bool,
    /// Said by whoever made the change (e.g. why it was rejected).
    pub reason: Option<String>,
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait RequestRepository: Send + Sync + 'static {
    /// Takes a slot on the due date and stores the request, assigned to the
    /// default designer in force, and notifies that assignee, atomically.
    ///
    /// # Errors
    /// MUST return [`BookingError::Refused`] when [`admit`](crate::capacity::admit)
    /// refuses the date under the settings in force at the moment of the
    /// write, also under any concurrency and across processes. With a hold,
    /// MUST consume it in the same transaction, admitting the date by its
    /// calendar only, or return [`BookingError::HoldExpired`] when it is not
    /// a live hold of the requester on the due date.
    fn create(&self, request: NewRequest) -> Result<Booked, BookingError>;
    fn find(&self, id: RequestId) -> Result<Option<Request>, RepositoryError>;
    fn list(&self, filter: &RequestFilter) -> Result<RequestPage, RepositoryError>;
    /// Replaces the editable fields if the status is still `expected`. When the
    /// due date changes and the request holds a slot, the slot moves atomically:
    /// both dates are locked in date order (no deadlock) and nothing changes if
    /// [`admit`](crate::capacity::admit) refuses the new date.
    ///
    /// # Errors
    /// [`BookingError::Refused`] for a new date that cannot take it,
    /// [`BookingError::StatusChanged`] when the status is no longer `expected`.
    ///
    /// With `hold`, a live hold of the request's requester on the new date,
    /// the move cannot fail for capacity and the hold becomes the booking
    /// ([`BookingError::HoldExpired`] otherwise, nothing changed).
    fn update(
        &self,
        id: RequestId,
        expected: RequestStatus,
        fields: &RequestFields,
        hold: Option<HoldUse>,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError>;
    /// Sets the status to `to` if it is still `from`, freeing the slot when
    /// `from` holds one and `to` does not, and stores the notification the
    /// transition asks for.
    ///
    /// # Errors
    /// [`BookingError::StatusChanged`] when the status is no longer `from`.
    fn transition(&self, id: RequestId, transition: &Transition) -> Result<Booked, BookingError>;
}

/// A hold of `user` to turn into a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldUse {
    pub user: UserId,
    pub id: HoldId,
}

/// A hold taken, and the dates whose numbers that changed (the new one, and
/// the date of the hold it replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub hold: Hold,
    pub changed_days: Vec<Day>,
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait HoldRepository: Send + Sync + 'static {
    /// Takes a slot on `date` for `user` for `ttl` on the database's clock,
    /// releasing the user's previous hold (live or not) in the same
    /// transaction, and announces both dates.
    ///
    /// # Errors
    /// MUST return [`BookingError::Refused`] when [`admit`](crate::capacity::admit)
    /// refuses the date (`used + held` already at capacity, with the user's
    /// previous hold not counted) under the settings in force, under any
    /// concurrency and across processes.
    fn take(
        &self,
        user: UserId,
        date: Date,
        ttl: HoldTtl,
        at: OffsetDateTime,
    ) -> Result<Taken, BookingError>;
    /// The user's live holds.
    fn live(&self, user: UserId) -> Result<Vec<Hold>, RepositoryError>;
    /// Releases one of the user's holds (live or expired) and announces its
    /// date; false when it is not theirs or does not exist.
    fn release(
        &self,
        user: UserId,
        id: HoldId,
        at: OffsetDateTime,
    ) -> Result<bool, RepositoryError>;
    /// Deletes expired holds and announces their dates, if no other
    /// sweeper (any instance) is sweeping right now. Returns how many.
    fn sweep(&self, at: OffsetDateTime) -> Result<usize, RepositoryError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait NotificationRepository: Send + Sync + 'static {
    /// A user's newest notifications (at most 200) and their unread count.
    fn inbox(&self, user: UserId, unread_only: bool) -> Result<Inbox, RepositoryError>;
    /// Marks one of the user's notifications read and, if that changed the
    /// unread count, announces it, in one transaction. False when the
    /// notification is not theirs or does not exist.
    fn mark_read(&self, user: UserId, id: NotificationId) -> Result<bool, RepositoryError>;
    /// Marks all of the user's notifications read; announces the new count
    /// only when something changed.
    fn mark_all_read(&self, user: UserId) -> Result<(), RepositoryError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}
