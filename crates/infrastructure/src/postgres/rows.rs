//! Table rows and their mapping to domain types.
//!
//! Values read back are trusted only as far as the schema's CHECKs go; a row
//! the domain cannot represent is reported as an unexpected repository error.

use diesel::prelude::*;
use request_desk_domain::capacity::Capacity;
use request_desk_domain::notification::{Notification, NotificationKind};
use request_desk_domain::request::{Priority, Request, RequestStatus};
use request_desk_domain::settings::{
    BookingWindowDays, CapacitySettings, ClosedWeekdays, StoredSettings, ThresholdPercent, Timezone,
};
use request_desk_domain::user::{PasswordHash, Role, User, UserCredentials};
use request_desk_domain::{DayRecord, NotificationId, RepositoryError, RequestId, UserId};
use time::{Date, OffsetDateTime};

use super::schema::{days, notifications, requests, settings, users};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::unexpected(format!("stored {what} is invalid: {detail}"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(super) struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, RepositoryError> {
        Ok(self.into_credentials()?.user)
    }

    pub fn into_credentials(self) -> Result<UserCredentials, RepositoryError> {
        let role = Role::parse(&self.role).ok_or_else(|| corrupt("role", &self.role))?;
        Ok(UserCredentials {
            user: User {
                id: UserId(self.id),
                email: self.email,
                display_name: self.display_name,
                role,
                disabled: self.disabled,
            },
            password_hash: PasswordHash(self.password_hash),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(super) struct NewUserRow<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = settings)]
pub(super) struct SettingsRow {
    pub daily_capacity: i32,
    pub limited_threshold_percent: i32,
    pub booking_window_days: i32,
    pub closed_weekdays: i16,
    pub timezone: String,
    pub default_designer_id: Option<i64>,
    pub version: i64,
}

impl SettingsRow {
    pub fn into_stored(self) -> Result<StoredSettings, RepositoryError> {
        let settings = CapacitySettings {
            daily_capacity: Capacity::new(self.daily_capacity.into())
                .map_err(|e| corrupt("daily capacity", e))?,
            limited_threshold: ThresholdPercent::new(self.limited_threshold_percent.into())
                .map_err(|e| corrupt("threshold", e))?,
            booking_window_days: BookingWindowDays::new(self.booking_window_days.into())
                .map_err(|e| corrupt("booking window", e))?,
            closed_weekdays: ClosedWeekdays::from_bits(self.closed_weekdays as u8),
            timezone: Timezone::parse(&self.timezone).map_err(|e| corrupt("timezone", e))?,
            default_designer: self.default_designer_id.map(UserId),
        };
        Ok(StoredSettings {
            settings,
            version: self.version,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = days)]
pub(super) struct DayRow {
    pub date: Date,
    pub capacity_override: Option<i32>,
    pub override_note: Option<String>,
    pub used: i32,
    pub version: i64,
}

impl DayRow {
    /// The record, with `held` live holds on the date.
    pub fn into_record(self, held: u32) -> Result<DayRecord, RepositoryError> {
        Ok(DayRecord {
            date: self.date,
            capacity_override: self
                .capacity_override
                .map(|c| Capacity::new(c.into()))
                .transpose()
                .map_err(|e| corrupt("capacity override", e))?,
            note: self.override_note,
            used: u32::try_from(self.used).map_err(|e| corrupt("used", e))?,
            held,
            version: self.version,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub(super) struct RequestRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub priority: String,
    pub due_date: Date,
    pub status: String,
    pub requester_id: i64,
    pub assignee_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl RequestRow {
    pub fn status(&self) -> Result<RequestStatus, RepositoryError> {
        RequestStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))
    }

    /// The request, with its requester's display name (see `requests::names`).
    pub fn into_request(self, requester_name: String) -> Result<Request, RepositoryError> {
        Ok(Request {
            requester_name,
            id: RequestId(self.id),
            status: self.status()?,
            priority: Priority::parse(&self.priority).map_err(|e| corrupt("priority", e))?,
            title: self.title,
            description: self.description,
            due_date: self.due_date,
            requester_id: UserId(self.requester_id),
            assignee_id: self.assignee_id.map(UserId),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = requests)]
pub(super) struct NewRequestRow<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub priority: &'a str,
    pub due_date: Date,
    pub status: &'a str,
    pub requester_id: i64,
    pub assignee_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub(super) struct NotificationRow {
    pub id: i64,
    pub request_id: i64,
    pub kind: String,
    pub params: String,
    pub message: String,
    pub read: bool,
    pub created_at: OffsetDateTime,
}

impl NotificationRow {
    pub fn into_notification(self) -> Result<Notification, RepositoryError> {
        Ok(Notification {
            id: NotificationId(self.id),
            request_id: RequestId(self.request_id),
            kind: NotificationKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            params: serde_json::from_str(&self.params).map_err(|e| corrupt("params", e))?,
            message: self.message,
            read: self.read,
            created_at: self.created_at,
        })
    }
}
