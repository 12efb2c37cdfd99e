//! The ports: what the domain needs from the outside world.
//!
//! Every trait is small and synchronous (adapters may block; the server runs
//! services off the async executor). One method is one unit of atomicity:
//! an adapter opens and commits its own transaction inside it. Contracts an
//! adapter MUST honour are stated under `# Errors`.

use time::{Date, OffsetDateTime};

use crate::capacity::{Capacity, DayRecord, DayStatus};
use crate::error::RepositoryError;
use crate::ids::{NotificationId, RequestId, UserId};
use crate::notification::{Inbox, NewNotification, Notification};
use crate::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestPage, RequestStatus,
};
use crate::settings::{CapacitySettings, StoredSettings};
use crate::user::{Email, NewUser, Password, PasswordHash, User, UserChanges, UserCredentials};

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
    /// Replaces the settings and stamps them with a new global version.
    fn save(&self, settings: &CapacitySettings) -> Result<StoredSettings, RepositoryError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait DayRepository: Send + Sync + 'static {
    /// The records of dates in `[from, to]` that have one, in date order.
    /// Dates without a record are untouched. MUST cost a constant number of queries.
    fn in_range(&self, from: Date, to: Date) -> Result<Vec<DayRecord>, RepositoryError>;
    /// Every date whose version is greater than `version`, in date order.
    fn changed_since(&self, version: i64) -> Result<Vec<DayRecord>, RepositoryError>;
    /// The newest global change number (days and settings), 0 if nothing changed yet.
    fn latest_version(&self) -> Result<i64, RepositoryError>;
    /// Sets a date's capacity override, stamping the date with a new version.
    fn set_override(
        &self,
        date: Date,
        capacity: Capacity,
        note: Option<String>,
    ) -> Result<DayRecord, RepositoryError>;
    /// Removes a date's override (if any), stamping the date with a new version.
    fn clear_override(&self, date: Date) -> Result<DayRecord, RepositoryError>;
}

/// A committed change to a request and the dates whose numbers it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub request: Request,
    /// Each touched date as it is after the commit, newly versioned.
    pub changed_days: Vec<DayRecord>,
}

/// Why an atomic booking step did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// The date had no room at the moment of the write.
    #[error("no capacity left on {}", .0.date)]
    CapacityFull(DayRecord),
    #[error("request not found")]
    NotFound,
    /// The request's status was no longer the expected one (a concurrent change won).
    #[error("the request's status changed meanwhile to {0:?}")]
    StatusChanged(RequestStatus),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait RequestRepository: Send + Sync + 'static {
    /// Takes a slot on the due date and stores the request, atomically.
    ///
    /// # Errors
    /// MUST return [`BookingError::CapacityFull`] when the date's `used` has
    /// reached its capacity (override, else `daily`) at the moment of the
    /// write, also under any concurrency and across processes.
    fn create(&self, request: NewRequest, daily: Capacity) -> Result<Booked, BookingError>;
    fn find(&self, id: RequestId) -> Result<Option<Request>, RepositoryError>;
    fn list(&self, filter: &RequestFilter) -> Result<RequestPage, RepositoryError>;
    /// Replaces the editable fields if the status is still `expected`. When the
    /// due date changes and the request holds a slot, the slot moves atomically:
    /// both dates are locked in date order (no deadlock) and nothing changes if
    /// the new date is full.
    ///
    /// # Errors
    /// [`BookingError::CapacityFull`] for a full new date,
    /// [`BookingError::StatusChanged`] when the status is no longer `expected`.
    fn update(
        &self,
        id: RequestId,
        expected: RequestStatus,
        fields: &RequestFields,
        daily: Capacity,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError>;
    /// Sets the status to `to` if it is still `from`, freeing the slot when
    /// `from` holds one and `to` does not.
    ///
    /// # Errors
    /// [`BookingError::StatusChanged`] when the status is no longer `from`.
    fn transition(
        &self,
        id: RequestId,
        from: RequestStatus,
        to: RequestStatus,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait NotificationRepository: Send + Sync + 'static {
    /// Stores a notification; returns it with the user's unread count, new one included.
    fn create(&self, notification: NewNotification)
        -> Result<(Notification, u64), RepositoryError>;
    /// One of the user's notifications; None when it is not theirs or does not exist.
    fn find(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> Result<Option<Notification>, RepositoryError>;
    /// A user's newest notifications (at most 200) and their unread count.
    fn inbox(&self, user: UserId, unread_only: bool) -> Result<Inbox, RepositoryError>;
    /// Marks one of the user's notifications read; false when it is not theirs or does not exist.
    fn mark_read(&self, user: UserId, id: NotificationId) -> Result<bool, RepositoryError>;
    fn mark_all_read(&self, user: UserId) -> Result<(), RepositoryError>;
    fn unread_count(&self, user: UserId) -> Result<u64, RepositoryError>;
}

#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// `CapacityUpdated`: a date's new numbers after a committed change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityUpdate {
    #[serde(with = "crate::serde_formats::date")]
    pub date: Date,
    #[serde(with = "crate::serde_formats::timestamp")]
    pub timestamp: OffsetDateTime,
    pub version: i64,
    pub capacity: u32,
    pub used: u32,
    pub remaining: u32,
    pub percent: u32,
    pub status: DayStatus,
}

impl CapacityUpdate {
    /// The event announcing `day`'s current numbers.
    pub fn new(day: &crate::capacity::Day, timestamp: OffsetDateTime) -> Self {
        CapacityUpdate {
            date: day.date,
            timestamp,
            version: day.version,
            capacity: day.capacity,
            used: day.used,
            remaining: day.remaining,
            percent: day.percent,
            status: day.status,
        }
    }
}

/// `CapacitySettingsChanged`: clients must refetch availability.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChanged {
    #[serde(with = "crate::serde_formats::timestamp")]
    pub timestamp: OffsetDateTime,
    pub version: i64,
}

/// Tells everyone watching the picker that capacity changed. Called only after
/// the change committed; MUST NOT block on slow receivers.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait CapacityBroadcast: Send + Sync + 'static {
    fn capacity_updated(&self, updates: &[CapacityUpdate]);
    fn settings_changed(&self, change: &SettingsChanged);
}

/// Reaches one user's live connections (every instance).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait UserNotifier: Send + Sync + 'static {
    fn notification_received(&self, user: UserId, notification: &Notification);
    fn inbox_updated(&self, user: UserId, unread_count: u64);
}
