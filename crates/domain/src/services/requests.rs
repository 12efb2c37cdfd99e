//! Booking, moving, cancelling and progressing requests.
//!
//! Window and weekday rules are checked here; the capacity check and the
//! write happen atomically in the repository (see [`RequestRepository`]).
//! After a change commits, the touched dates are broadcast and the people
//! concerned are notified.
//!
//! [`RequestRepository`]: crate::ports::RequestRepository

use time::Date;

use crate::capacity::{Capacity, DayRecord};
use crate::error::RepositoryError;
use crate::ids::{RequestId, UserId};
use crate::notification::{NewNotification, NotificationKind};
use crate::permissions::Actor;
use crate::ports::{Booked, BookingError};
use crate::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestInput, RequestPage, RequestStatus,
    MAX_PAGE_SIZE,
};
use crate::settings::{BookingCalendar, NotBookable};
use crate::validation::FieldError;
use crate::RequestDesk;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Validation(#[from] FieldError),
    #[error("request not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{date} cannot be booked: it is closed")]
    DateClosed { date: Date },
    #[error("{date} is outside the booking window ({min} to {max})")]
    DateOutOfWindow { date: Date, min: Date, max: Date },
    #[error("{date} is full ({used} of {capacity} booked)")]
    CapacityFull {
        date: Date,
        capacity: u32,
        used: u32,
    },
    #[error("a request cannot go from {} to {}", .from.as_str(), .to.as_str())]
    InvalidTransition {
        from: RequestStatus,
        to: RequestStatus,
    },
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// The query of `GET /api/requests`, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

impl RequestDesk {
    /// Books a request on its due date, assigned to the default designer.
    pub fn create_request(
        &self,
        actor: &Actor,
        input: &RequestInput,
    ) -> Result<Request, RequestError> {
        let fields = RequestFields::parse(input)?;
        let (stored, calendar) = self.calendar()?;
        check_bookable(&calendar, fields.due_date)?;
        let daily = stored.settings.daily_capacity;
        let booked = self
            .ports
            .requests
            .create(
                NewRequest {
                    fields,
                    requester: actor.id,
                    assignee: stored.settings.default_designer,
                    at: self.ports.clock.now(),
                },
                daily,
            )
            .map_err(|e| booking_error(e, daily))?;
        let request = self.after_commit(booked, Some(&calendar))?;
        if let Some(assignee) = request.assignee_id {
            let message = format!(
                "New request “{}” due {}",
                request.title,
                crate::serde_formats::format_date(request.due_date)
            );
            self.notify(assignee, &request, NotificationKind::NewRequest, message);
        }
        Ok(request)
    }

    /// A request the actor may see; others' requests read as not found.
    pub fn get_request(&self, actor: &Actor, id: RequestId) -> Result<Request, RequestError> {
        match self.ports.requests.find(id)? {
            Some(r) if actor.can_view(&r) => Ok(r),
            _ => Err(RequestError::NotFound),
        }
    }

    pub fn list_requests(
        &self,
        actor: &Actor,
        query: &ListQuery,
    ) -> Result<RequestPage, RequestError> {
        let status = query
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                RequestStatus::parse(s).ok_or_else(|| {
                    FieldError::new(
                        "status",
                        "must be one of pending, in_progress, completed, rejected, cancelled",
                    )
                })
            })
            .transpose()?;
        let page = query.page.unwrap_or(1);
        if page < 1 || page > i64::from(u32::MAX) {
            return Err(FieldError::new("page", "must be 1 or more").into());
        }
        let page_size = query.page_size.unwrap_or(20);
        if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&page_size) {
            return Err(FieldError::new(
                "pageSize",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            )
            .into());
        }
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                return Err(FieldError::new("from", "must not be after 'to'").into());
            }
        }
        Ok(self.ports.requests.list(&RequestFilter {
            requester: (!actor.sees_all_requests()).then_some(actor.id),
            status,
            from: query.from,
            to: query.to,
            page: page as u32,
            page_size: page_size as u32,
        })?)
    }

    /// Edits a request; a new due date moves its slot atomically.
    pub fn update_request(
        &self,
        actor: &Actor,
        id: RequestId,
        input: &RequestInput,
    ) -> Result<Request, RequestError> {
        let current = self.get_request(actor, id)?;
        if !actor.can_edit(&current) {
            return Err(if current.requester_id == actor.id {
                RequestError::Conflict("only a pending request can be edited")
            } else {
                RequestError::Forbidden("only the owner or an admin may edit this request")
            });
        }
        // Omitted optional fields keep their current values.
        let input = RequestInput {
            description: input
                .description
                .clone()
                .or_else(|| Some(current.description.clone())),
            priority: input
                .priority
                .clone()
                .or_else(|| Some(current.priority.as_str().to_owned())),
            ..input.clone()
        };
        let fields = RequestFields::parse(&input)?;
        let (stored, calendar) = self.calendar()?;
        if fields.due_date != current.due_date && current.status.holds_slot() {
            check_bookable(&calendar, fields.due_date)?;
        }
        let daily = stored.settings.daily_capacity;
        let booked = self
            .ports
            .requests
            .update(id, current.status, &fields, daily, self.ports.clock.now())
            .map_err(|e| booking_error(e, daily))?;
        self.after_commit(booked, Some(&calendar))
    }

    /// Cancels a pending or in-progress request, freeing its slot.
    pub fn cancel_request(&self, actor: &Actor, id: RequestId) -> Result<Request, RequestError> {
        let current = self.get_request(actor, id)?;
        if !actor.can_cancel(&current) {
            return Err(RequestError::Forbidden(
                "only the owner or an admin may cancel this request",
            ));
        }
        let request = self.transition(
            &current,
            RequestStatus::Cancelled,
            RequestStatus::can_cancel,
        )?;
        if request.requester_id != actor.id {
            self.status_changed(&request);
        }
        Ok(request)
    }

    /// Moves a request along its workflow (designers and admins).
    pub fn set_request_status(
        &self,
        actor: &Actor,
        id: RequestId,
        status: &str,
    ) -> Result<Request, RequestError> {
        if !actor.can_set_status() {
            return Err(RequestError::Forbidden(
                "only designers and admins may change a request's status",
            ));
        }
        let to = RequestStatus::parse(status).ok_or_else(|| {
            FieldError::new(
                "status",
                "must be one of pending, in_progress, completed, rejected, cancelled",
            )
        })?;
        let current = self.get_request(actor, id)?;
        let request = self.transition(&current, to, |from| from.can_move_to(to))?;
        self.status_changed(&request);
        Ok(request)
    }

    fn transition(
        &self,
        current: &Request,
        to: RequestStatus,
        allowed: impl Fn(RequestStatus) -> bool,
    ) -> Result<Request, RequestError> {
        let invalid = |from| RequestError::InvalidTransition { from, to };
        if !allowed(current.status) {
            return Err(invalid(current.status));
        }
        let booked = self
            .ports
            .requests
            .transition(current.id, current.status, to, self.ports.clock.now())
            .map_err(|e| match e {
                // A concurrent change won; judge against what it left.
                BookingError::StatusChanged(now) if !allowed(now) => invalid(now),
                e => booking_error(e, Capacity::new(0).expect("valid")),
            })?;
        self.after_commit(booked, None)
    }

    /// Broadcasts the dates a committed change touched.
    fn after_commit(
        &self,
        booked: Booked,
        calendar: Option<&BookingCalendar>,
    ) -> Result<Request, RequestError> {
        self.publish_days(&booked.changed_days, calendar)?;
        Ok(booked.request)
    }

    fn status_changed(&self, request: &Request) {
        let message = format!(
            "Your request “{}” is now {}",
            request.title,
            request.status.as_str()
        );
        self.notify(
            request.requester_id,
            request,
            NotificationKind::StatusChanged,
            message,
        );
    }

    /// Stores and pushes a notification. The change it reports has already
    /// committed, so a failure here must not turn the request into an error:
    /// the notification is lost, the booking is not.
    fn notify(&self, user: UserId, request: &Request, kind: NotificationKind, message: String) {
        let stored = self.ports.notifications.create(NewNotification {
            user,
            request: request.id,
            kind,
            message,
            at: self.ports.clock.now(),
        });
        if let Ok((notification, unread)) = stored {
            self.ports
                .notifier
                .notification_received(user, &notification);
            self.ports.notifier.inbox_updated(user, unread);
        }
    }
}

fn check_bookable(calendar: &BookingCalendar, date: Date) -> Result<(), RequestError> {
    calendar.check(date).map_err(|why| match why {
        NotBookable::OutOfWindow => RequestError::DateOutOfWindow {
            date,
            min: calendar.min_date,
            max: calendar.max_date,
        },
        NotBookable::ClosedWeekday => RequestError::DateClosed { date },
    })
}

fn booking_error(e: BookingError, daily: Capacity) -> RequestError {
    match e {
        BookingError::CapacityFull(record) => full(&record, daily),
        BookingError::NotFound => RequestError::NotFound,
        BookingError::StatusChanged(_) => {
            RequestError::Conflict("the request was changed by someone else; reload and try again")
        }
        BookingError::Repository(e) => RequestError::Repository(e),
    }
}

/// A day with capacity 0 is closed rather than full.
fn full(record: &DayRecord, daily: Capacity) -> RequestError {
    let capacity = record.capacity(daily).get();
    if capacity == 0 {
        RequestError::DateClosed { date: record.date }
    } else {
        RequestError::CapacityFull {
            date: record.date,
            capacity,
            used: record.used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::Notification;
    use crate::request::Priority;
    use crate::services::test_support::{Mocks, NOW};
    use crate::settings::{CapacitySettings, ClosedWeekdays};
    use crate::user::Role;
    use crate::NotificationId;
    use time::macros::date;
    use time::Weekday;

    const ALICE: Actor = Actor {
        id: UserId(3),
        role: Role::Requester,
    };
    const BOB: Actor = Actor {
        id: UserId(4),
        role: Role::Requester,
    };
    const DESIGNER: Actor = Actor {
        id: UserId(2),
        role: Role::Designer,
    };
    const ADMIN: Actor = Actor {
        id: UserId(1),
        role: Role::Admin,
    };

    fn settings() -> CapacitySettings {
        CapacitySettings {
            closed_weekdays: ClosedWeekdays::from_weekdays([Weekday::Friday]),
            default_designer: Some(DESIGNER.id),
            ..CapacitySettings::default()
        }
    }

    fn input(due: Date) -> RequestInput {
        RequestInput {
            title: " Poster ".into(),
            description: None,
            priority: Some("high".into()),
            due_date: due,
        }
    }

    fn request(status: RequestStatus, due: Date) -> Request {
        Request {
            id: RequestId(7),
            title: "Poster".into(),
            description: String::new(),
            priority: Priority::High,
            due_date: due,
            status,
            requester_id: ALICE.id,
            assignee_id: Some(DESIGNER.id),
            created_at: NOW,
            updated_at: NOW,
        }
    }

    fn record(date: Date, used: u32) -> DayRecord {
        DayRecord {
            date,
            capacity_override: None,
            used,
            version: 5,
        }
    }

    fn notification() -> Notification {
        Notification {
            id: NotificationId(1),
            request_id: RequestId(7),
            kind: NotificationKind::NewRequest,
            message: "m".into(),
            read: false,
            created_at: NOW,
        }
    }

    fn expect_notification(m: &mut Mocks, user: UserId, kind: NotificationKind) {
        m.notifications
            .expect_create()
            .withf(move |n| n.user == user && n.kind == kind)
            .times(1)
            .returning(|_| Ok((notification(), 1)));
        m.notifier
            .expect_notification_received()
            .withf(move |u, _| *u == user)
            .times(1)
            .return_const(());
        m.notifier
            .expect_inbox_updated()
            .withf(move |u, n| *u == user && *n == 1)
            .times(1)
            .return_const(());
    }

    #[test]
    fn booking_takes_a_slot_broadcasts_the_day_and_notifies_the_designer() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests
            .expect_create()
            .withf(move |n, daily| {
                n.fields.title.as_str() == "Poster"
                    && n.requester == ALICE.id
                    && n.assignee == Some(DESIGNER.id)
                    && daily.get() == 10
            })
            .times(1)
            .returning(move |_, _| {
                Ok(Booked {
                    request: request(RequestStatus::Pending, due),
                    changed_days: vec![record(due, 1)],
                })
            });
        m.broadcast
            .expect_capacity_updated()
            .withf(move |u| {
                u.len() == 1
                    && u[0].date == due
                    && u[0].used == 1
                    && u[0].remaining == 9
                    && u[0].version == 5
            })
            .times(1)
            .return_const(());
        expect_notification(&mut m, DESIGNER.id, NotificationKind::NewRequest);
        let r = m.build().create_request(&ALICE, &input(due)).unwrap();
        assert_eq!(r.status, RequestStatus::Pending);
    }

    #[test]
    fn closed_and_out_of_window_dates_are_refused_before_any_write() {
        let desk = Mocks::default().with_settings(settings(), 0).build();
        let friday = date!(2026 - 05 - 15);
        assert!(matches!(
            desk.create_request(&ALICE, &input(friday)),
            Err(RequestError::DateClosed { .. })
        ));
        assert!(matches!(
            desk.create_request(&ALICE, &input(date!(2026 - 05 - 10))),
            Err(RequestError::DateOutOfWindow { min, .. }) if min == date!(2026 - 05 - 11)
        ));
        assert!(matches!(
            desk.create_request(&ALICE, &input(date!(2026 - 07 - 11))),
            Err(RequestError::DateOutOfWindow { .. })
        ));
    }

    #[test]
    fn a_full_date_reports_its_numbers_and_broadcasts_nothing() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests
            .expect_create()
            .returning(move |_, _| Err(BookingError::CapacityFull(record(due, 10))));
        let err = m.build().create_request(&ALICE, &input(due)).unwrap_err();
        assert!(
            matches!(err, RequestError::CapacityFull { date, capacity: 10, used: 10 } if date == due)
        );
    }

    #[test]
    fn a_zero_capacity_override_reads_as_closed() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests.expect_create().returning(move |_, _| {
            Err(BookingError::CapacityFull(DayRecord {
                capacity_override: Some(Capacity::new(0).unwrap()),
                ..record(due, 0)
            }))
        });
        assert!(matches!(
            m.build().create_request(&ALICE, &input(due)),
            Err(RequestError::DateClosed { .. })
        ));
    }

    #[test]
    fn invalid_fields_name_the_field() {
        let desk = Mocks::default().build();
        let mut bad = input(date!(2026 - 05 - 12));
        bad.title = "   ".into();
        assert!(
            matches!(desk.create_request(&ALICE, &bad), Err(RequestError::Validation(f)) if f.field == "title")
        );
    }

    #[test]
    fn another_requesters_request_is_not_found() {
        let mut m = Mocks::default();
        m.requests
            .expect_find()
            .returning(|_| Ok(Some(request(RequestStatus::Pending, date!(2026 - 05 - 12)))));
        let desk = m.build();
        assert!(matches!(
            desk.get_request(&BOB, RequestId(7)),
            Err(RequestError::NotFound)
        ));
        assert!(desk.get_request(&ALICE, RequestId(7)).is_ok());
        assert!(desk.get_request(&DESIGNER, RequestId(7)).is_ok());
        assert!(matches!(
            desk.cancel_request(&BOB, RequestId(7)),
            Err(RequestError::NotFound)
        ));
        assert!(matches!(
            desk.update_request(&BOB, RequestId(7), &input(date!(2026 - 05 - 13))),
            Err(RequestError::NotFound)
        ));
    }

    #[test]
    fn moving_broadcasts_both_dates() {
        let (old, new) = (date!(2026 - 05 - 12), date!(2026 - 05 - 13));
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::Pending, old))));
        m.requests
            .expect_update()
            .withf(move |_, expected, f, _, _| {
                *expected == RequestStatus::Pending && f.due_date == new
            })
            .returning(move |_, _, _, _, _| {
                Ok(Booked {
                    request: request(RequestStatus::Pending, new),
                    changed_days: vec![record(old, 0), record(new, 1)],
                })
            });
        m.broadcast
            .expect_capacity_updated()
            .withf(move |u| u.iter().map(|d| d.date).collect::<Vec<_>>() == vec![old, new])
            .times(1)
            .return_const(());
        assert_eq!(
            m.build()
                .update_request(&ALICE, RequestId(7), &input(new))
                .unwrap()
                .due_date,
            new
        );
    }

    #[test]
    fn moving_to_a_closed_date_is_refused() {
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests
            .expect_find()
            .returning(|_| Ok(Some(request(RequestStatus::Pending, date!(2026 - 05 - 12)))));
        let err = m
            .build()
            .update_request(&ALICE, RequestId(7), &input(date!(2026 - 05 - 15)))
            .unwrap_err();
        assert!(matches!(err, RequestError::DateClosed { .. }));
    }

    #[test]
    fn owners_edit_only_pending_requests_but_admins_always_can() {
        let mut m = Mocks::default().with_settings(settings(), 0);
        let due = date!(2026 - 05 - 12);
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::InProgress, due))));
        m.requests.expect_update().returning(move |_, _, _, _, _| {
            Ok(Booked {
                request: request(RequestStatus::InProgress, due),
                changed_days: vec![],
            })
        });
        let desk = m.build();
        assert!(matches!(
            desk.update_request(&ALICE, RequestId(7), &input(due)),
            Err(RequestError::Conflict(_))
        ));
        assert!(matches!(
            desk.update_request(&DESIGNER, RequestId(7), &input(due)),
            Err(RequestError::Forbidden(_))
        ));
        assert!(desk
            .update_request(&ADMIN, RequestId(7), &input(due))
            .is_ok());
    }

    #[test]
    fn requesters_cannot_set_a_status() {
        let desk = Mocks::default().build();
        assert!(matches!(
            desk.set_request_status(&ALICE, RequestId(7), "completed"),
            Err(RequestError::Forbidden(_))
        ));
    }

    #[test]
    fn disallowed_transitions_are_conflicts() {
        let mut m = Mocks::default();
        m.requests
            .expect_find()
            .returning(|_| Ok(Some(request(RequestStatus::Pending, date!(2026 - 05 - 12)))));
        let desk = m.build();
        let err = desk
            .set_request_status(&DESIGNER, RequestId(7), "completed")
            .unwrap_err();
        assert!(matches!(
            err,
            RequestError::InvalidTransition {
                from: RequestStatus::Pending,
                to: RequestStatus::Completed
            }
        ));
        assert!(matches!(
            desk.set_request_status(&DESIGNER, RequestId(7), "done"),
            Err(RequestError::Validation(_))
        ));
    }

    #[test]
    fn rejecting_frees_the_slot_and_tells_the_requester() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default().with_settings(settings(), 0);
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::Pending, due))));
        m.requests
            .expect_transition()
            .withf(|_, from, to, _| {
                *from == RequestStatus::Pending && *to == RequestStatus::Rejected
            })
            .returning(move |_, _, _, _| {
                Ok(Booked {
                    request: request(RequestStatus::Rejected, due),
                    changed_days: vec![record(due, 0)],
                })
            });
        m.broadcast
            .expect_capacity_updated()
            .withf(|u| u[0].used == 0)
            .times(1)
            .return_const(());
        expect_notification(&mut m, ALICE.id, NotificationKind::StatusChanged);
        let r = m
            .build()
            .set_request_status(&DESIGNER, RequestId(7), "rejected")
            .unwrap();
        assert_eq!(r.status, RequestStatus::Rejected);
    }

    #[test]
    fn a_lost_race_is_judged_against_the_winning_status() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default();
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::Pending, due))));
        m.requests
            .expect_transition()
            .returning(|_, _, _, _| Err(BookingError::StatusChanged(RequestStatus::Cancelled)));
        let err = m.build().cancel_request(&ALICE, RequestId(7)).unwrap_err();
        assert!(matches!(
            err,
            RequestError::InvalidTransition {
                from: RequestStatus::Cancelled,
                ..
            }
        ));
    }

    #[test]
    fn completed_requests_cannot_be_cancelled() {
        let mut m = Mocks::default();
        m.requests.expect_find().returning(|_| {
            Ok(Some(request(
                RequestStatus::Completed,
                date!(2026 - 05 - 12),
            )))
        });
        assert!(matches!(
            m.build().cancel_request(&ALICE, RequestId(7)),
            Err(RequestError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn listing_scopes_requesters_to_their_own_and_validates_paging() {
        let mut m = Mocks::default();
        m.requests
            .expect_list()
            .withf(|f| f.requester == Some(ALICE.id) && f.page == 2 && f.page_size == 5)
            .times(1)
            .returning(|f| {
                Ok(RequestPage {
                    items: vec![],
                    total: 0,
                    page: f.page,
                    page_size: f.page_size,
                })
            });
        m.requests
            .expect_list()
            .withf(|f| f.requester.is_none() && f.status == Some(RequestStatus::Pending))
            .times(1)
            .returning(|f| {
                Ok(RequestPage {
                    items: vec![],
                    total: 0,
                    page: f.page,
                    page_size: f.page_size,
                })
            });
        let desk = m.build();
        desk.list_requests(
            &ALICE,
            &ListQuery {
                page: Some(2),
                page_size: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        desk.list_requests(
            &DESIGNER,
            &ListQuery {
                status: Some("pending".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let bad = desk.list_requests(
            &ALICE,
            &ListQuery {
                page_size: Some(0),
                ..Default::default()
            },
        );
        assert!(matches!(bad, Err(RequestError::Validation(f)) if f.field == "pageSize"));
        let bad = desk.list_requests(
            &ALICE,
            &ListQuery {
                status: Some("done".into()),
                ..Default::default()
            },
        );
        assert!(matches!(bad, Err(RequestError::Validation(f)) if f.field == "status"));
    }
}
