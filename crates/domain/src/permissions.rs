//! Who may do what. Every rule of the contract's "who" column lives here.

use crate::ids::UserId;
use crate::request::{Request, RequestStatus};
use crate::user::Role;

/// The signed-in user performing an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Designers and admins see every request; requesters only their own.
    pub fn sees_all_requests(&self) -> bool {
        matches!(self.role, Role::Designer | Role::Admin)
    }

    pub fn can_view(&self, request: &Request) -> bool {
        self.sees_all_requests() || request.requester_id == self.id
    }

    /// The owner while the request is pending, or an admin.
    pub fn can_edit(&self, request: &Request) -> bool {
        self.is_admin()
            || (request.requester_id == self.id && request.status == RequestStatus::Pending)
    }

    /// The owner or an admin.
    pub fn can_cancel(&self, request: &Request) -> bool {
        self.is_admin() || request.requester_id == self.id
    }

    /// Designers and admins drive the workflow.
    pub fn can_set_status(&self) -> bool {
        matches!(self.role, Role::Designer | Role::Admin)
    }
}
