//! Booking, moving, cancelling and progressing requests.
//!
//! Everything that decides — the window, the weekday, the capacity, the
//! default designer, who is notified — is judged inside the repository's
//! transaction, against the settings in force there (see
//! [`RequestRepository`] and [`admit`](crate::capacity::admit)), and that
//! transaction also queues the live events. A use case here checks
//! permissions and input, asks for one atomic step and answers what it
//! committed: nothing after COMMIT can fail.
//!
//! [`RequestRepository`]: crate::ports::RequestRepository

use time::{Date, OffsetDateTime};

use crate::capacity::Refusal;
use crate::ids::RequestId;
use crate::permissions::Actor;
use crate::ports::{BookingError, HoldUse, Transition};
use crate::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestInput, RequestPage, RequestStatus,
    MAX_PAGE_SIZE,
};
use crate::validation::FieldError;
use crate::RepositoryError;
use crate::RequestDesk;

/// Longest reason a designer may give with a status change.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Validation(#[from] FieldError),
    #[error("request not found")]
    NotFound,
    #[error("only the owner or an admin may edit this request")]
    NotYoursToEdit,
    #[error("only the owner or an admin may cancel this request")]
    NotYoursToCancel,
    #[error("only designers and admins may change a request's status")]
    StatusIsForStaff,
    #[error("only a pending request can be edited")]
    NoLongerPending,
    #[error("the request was changed by someone else; reload and try again")]
    ChangedConcurrently,
    #[error("{date} cannot be booked: it is closed")]
    DateClosed { date: Date },
    #[error("{date} is outside the booking window ({min} to {max})")]
    DateOutOfWindow { date: Date, min: Date, max: Date },
    #[error("the hold has expired or is not yours; book without it")]
    HoldExpired,
    #[error("{}", full_message(*.date, *.capacity, *.used, *.held, *.frees_at))]
    CapacityFull {
        date: Date,
        capacity: u32,
        used: u32,
        /// Slots held by people filling in a request.
        held: u32,
        /// When the earliest of those holds expires.
        frees_at: Option<OffsetDateTime>,
    },
    /// The signed-in user's account no longer exists (deleted meanwhile).
    #[error("the signed-in user no longer exists")]
    UnknownUser,
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
    /// Books a request on its due date; the repository assigns it to the
    /// default designer in force and notifies them in the same transaction.
    pub fn create_request(
        &self,
        actor: &Actor,
        input: &RequestInput,
    ) -> Result<Request, RequestError> {
        let fields = RequestFields::parse(input)?;
        let booked = self
            .ports
            .requests
            .create(NewRequest {
                fields,
                requester: actor.id,
                hold: input.hold_id,
                at: self.ports.clock.now(),
            })
            .map_err(booking_error)?;
        Ok(booked.request)
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
                RequestError::NoLongerPending
            } else {
                RequestError::NotYoursToEdit
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
        let booked = self
            .ports
            .requests
            .update(
                id,
                current.status,
                &fields,
                input.hold_id.map(|id| HoldUse { user: actor.id, id }),
                self.ports.clock.now(),
            )
            .map_err(booking_error)?;
        Ok(booked.request)
    }

    /// Cancels a pending or in-progress request, freeing its slot. The
    /// requester is told when someone else cancelled it.
    pub fn cancel_request(&self, actor: &Actor, id: RequestId) -> Result<Request, RequestError> {
        let current = self.get_request(actor, id)?;
        if !actor.can_cancel(&current) {
            return Err(RequestError::NotYoursToCancel);
        }
        let notify_requester = current.requester_id != actor.id;
        self.transition(
            &current,
            RequestStatus::Cancelled,
            RequestStatus::can_cancel,
            notify_requester,
            None,
        )
    }

    /// Moves a request along its workflow (designers and admins), telling
    /// the requester, with the reason given if any.
    pub fn set_request_status(
        &self,
        actor: &Actor,
        id: RequestId,
        status: &str,
        reason: Option<&str>,
    ) -> Result<Request, RequestError> {
        if !actor.can_set_status() {
            return Err(RequestError::StatusIsForStaff);
        }
        let to = RequestStatus::parse(status).ok_or_else(|| {
            FieldError::new(
                "status",
                "must be one of pending, in_progress, completed, rejected, cancelled",
            )
        })?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
            return Err(FieldError::new(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            )
            .into());
        }
        let current = self.get_request(actor, id)?;
        self.transition(
            &current,
            to,
            |from| from.can_move_to(to),
            true,
            reason.map(str::to_owned),
        )
    }

    fn transition(
        &self,
        current: &Request,
        to: RequestStatus,
        allowed: impl Fn(RequestStatus) -> bool,
        notify_requester: bool,
        reason: Option<String>,
    ) -> Result<Request, RequestError> {
        let invalid = |from| RequestError::InvalidTransition { from, to };
        if !allowed(current.status) {
            return Err(invalid(current.status));
        }
        let transition = Transition {
            from: current.status,
            to,
            at: self.ports.clock.now(),
            notify_requester,
            reason,
        };
        let booked = self
            .ports
            .requests
            .transition(current.id, &transition)
            .map_err(|e| match e {
                // A concurrent change won; judge against what it left.
                BookingError::StatusChanged(now) if !allowed(now) => invalid(now),
                e => booking_error(e),
            })?;
        Ok(booked.request)
    }
}

/// "full" for people: booked out, or taken by holds that may still free up.
fn full_message(
    date: Date,
    capacity: u32,
    used: u32,
    held: u32,
    frees_at: Option<OffsetDateTime>,
) -> String {
    if held == 0 || used >= capacity {
        return format!("{date} is full ({used} of {capacity} booked)");
    }
    let until = frees_at.map_or(String::new(), |at| {
        format!(
            "; the first of them is kept until {}",
            crate::serde_formats::format_timestamp(at)
        )
    });
    format!(
        "{date} is taken for now: {used} of {capacity} booked and {held} held by people filling in a request{until}"
    )
}

pub(crate) fn booking_error(e: BookingError) -> RequestError {
    match e {
        BookingError::Refused(Refusal::OutOfWindow { date, min, max }) => {
            RequestError::DateOutOfWindow { date, min, max }
        }
        BookingError::Refused(Refusal::Closed { date }) => RequestError::DateClosed { date },
        BookingError::Refused(Refusal::Full { day, frees_at }) => RequestError::CapacityFull {
            date: day.date,
            capacity: day.capacity,
            used: day.used,
            held: day.held,
            frees_at,
        },
        BookingError::UnknownUser => RequestError::UnknownUser,
        BookingError::NotFound => RequestError::NotFound,
        BookingError::HoldExpired => RequestError::HoldExpired,
        BookingError::StatusChanged(_) => RequestError::ChangedConcurrently,
        BookingError::Repository(e) => RequestError::Repository(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{Day, DayRecord};
    use crate::ports::Booked;
    use crate::request::Priority;
    use crate::services::test_support::{Mocks, NOW};
    use crate::settings::{BookingCalendar, CapacitySettings, ClosedWeekdays};
    use crate::user::Role;
    use crate::{HoldId, UserId};
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
            hold_id: None,
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
            requester_name: "Alice".into(),
            assignee_id: Some(DESIGNER.id),
            created_at: NOW,
            updated_at: NOW,
        }
    }

    fn day(date: Date, used: u32) -> Day {
        let record = DayRecord {
            used,
            version: 5,
            ..DayRecord::untouched(date)
        };
        Day::from_record(&record, &BookingCalendar::at(&settings(), NOW))
    }

    #[test]
    fn booking_asks_the_repository_for_one_atomic_step_at_the_clocks_time() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default();
        m.requests
            .expect_create()
            .withf(move |n| {
                n.fields.title.as_str() == "Poster" && n.requester == ALICE.id && n.at == NOW
            })
            .times(1)
            .returning(move |_| {
                Ok(Booked {
                    request: request(RequestStatus::Pending, due),
                    changed_days: vec![day(due, 1)],
                })
            });
        let r = m.build().create_request(&ALICE, &input(due)).unwrap();
        assert_eq!(r.status, RequestStatus::Pending);
    }

    #[test]
    fn refusals_from_the_transaction_map_to_the_contracts_errors() {
        let due = date!(2026 - 05 - 12);
        let refusals = [
            Refusal::OutOfWindow {
                date: due,
                min: date!(2026 - 05 - 13),
                max: date!(2026 - 07 - 12),
            },
            Refusal::Closed { date: due },
            Refusal::Full {
                day: day(due, 10),
                frees_at: None,
            },
        ];
        for refusal in refusals {
            let mut m = Mocks::default();
            let r = refusal.clone();
            m.requests
                .expect_create()
                .returning(move |_| Err(BookingError::Refused(r.clone())));
            let err = m.build().create_request(&ALICE, &input(due)).unwrap_err();
            match refusal {
                Refusal::OutOfWindow { .. } => assert!(
                    matches!(err, RequestError::DateOutOfWindow { min, .. } if min == date!(2026 - 05 - 13))
                ),
                Refusal::Closed { .. } => assert!(matches!(err, RequestError::DateClosed { .. })),
                Refusal::Full { .. } => assert!(matches!(
                    err,
                    RequestError::CapacityFull { date, capacity: 10, used: 10, .. } if date == due
                )),
            }
        }
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
    fn moving_asks_for_the_new_date_with_the_status_it_was_judged_in() {
        let (old, new) = (date!(2026 - 05 - 12), date!(2026 - 05 - 13));
        let mut m = Mocks::default();
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::Pending, old))));
        m.requests
            .expect_update()
            .withf(move |_, expected, f, hold, at| {
                *expected == RequestStatus::Pending
                    && f.due_date == new
                    && *hold
                        == Some(HoldUse {
                            user: ALICE.id,
                            id: HoldId(5),
                        })
                    && *at == NOW
            })
            .times(1)
            .returning(move |_, _, _, _, _| {
                Ok(Booked {
                    request: request(RequestStatus::Pending, new),
                    changed_days: vec![day(old, 0), day(new, 1)],
                })
            });
        assert_eq!(
            m.build()
                .update_request(
                    &ALICE,
                    RequestId(7),
                    &RequestInput {
                        hold_id: Some(HoldId(5)),
                        ..input(new)
                    }
                )
                .unwrap()
                .due_date,
            new
        );
    }

    #[test]
    fn owners_edit_only_pending_requests_but_admins_always_can() {
        let mut m = Mocks::default();
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
            Err(RequestError::NoLongerPending)
        ));
        assert!(matches!(
            desk.update_request(&DESIGNER, RequestId(7), &input(due)),
            Err(RequestError::NotYoursToEdit)
        ));
        assert!(desk
            .update_request(&ADMIN, RequestId(7), &input(due))
            .is_ok());
    }

    #[test]
    fn requesters_cannot_set_a_status() {
        let desk = Mocks::default().build();
        assert!(matches!(
            desk.set_request_status(&ALICE, RequestId(7), "completed", None),
            Err(RequestError::StatusIsForStaff)
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
            .set_request_status(&DESIGNER, RequestId(7), "completed", None)
            .unwrap_err();
        assert!(matches!(
            err,
            RequestError::InvalidTransition {
                from: RequestStatus::Pending,
                to: RequestStatus::Completed
            }
        ));
        assert!(matches!(
            desk.set_request_status(&DESIGNER, RequestId(7), "done", None),
            Err(RequestError::Validation(_))
        ));
    }

    #[test]
    fn rejecting_tells_the_requester_with_the_reason() {
        let due = date!(2026 - 05 - 12);
        let mut m = Mocks::default();
        m.requests
            .expect_find()
            .returning(move |_| Ok(Some(request(RequestStatus::Pending, due))));
        m.requests
            .expect_transition()
            .withf(|_, t| {
                t.from == RequestStatus::Pending
                    && t.to == RequestStatus::Rejected
                    && t.notify_requester
                    && t.reason.as_deref() == Some("out of scope")
                    && t.at == NOW
            })
            .times(1)
            .returning(move |_, _| {
                Ok(Booked {
                    request: request(RequestStatus::Rejected, due),
                    changed_days: vec![day(due, 0)],
                })
            });
        let r = m
            .build()
            .set_request_status(&DESIGNER, RequestId(7), "rejected", Some(" out of scope "))
            .unwrap();
        assert_eq!(r.status, RequestStatus::Rejected);
    }

    #[test]
    fn an_overlong_reason_is_refused_before_anything_is_written() {
        let err = Mocks::default()
            .build()
            .set_request_status(&DESIGNER, RequestId(7), "rejected", Some(&"x".repeat(501)))
            .unwrap_err();
        assert!(matches!(err, RequestError::Validation(f) if f.field == "reason"));
    }

    #[test]
    fn the_requester_is_told_of_a_cancel_only_when_someone_else_cancelled() {
        let due = date!(2026 - 05 - 12);
        for (actor, told) in [(ALICE, false), (ADMIN, true)] {
            let mut m = Mocks::default();
            m.requests
                .expect_find()
                .returning(move |_| Ok(Some(request(RequestStatus::Pending, due))));
            m.requests
                .expect_transition()
                .withf(move |_, t| t.to == RequestStatus::Cancelled && t.notify_requester == told)
                .times(1)
                .returning(move |_, _| {
                    Ok(Booked {
                        request: request(RequestStatus::Cancelled, due),
                        changed_days: vec![day(due, 0)],
                    })
                });
            m.build().cancel_request(&actor, RequestId(7)).unwrap();
        }
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
            .returning(|_, _| Err(BookingError::StatusChanged(RequestStatus::Cancelled)));
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
