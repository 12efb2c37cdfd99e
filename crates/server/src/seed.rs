//! The demo users (`SEED_DEMO=true`, and always in dev mode).

use request_desk_domain::permissions::Actor;
use request_desk_domain::settings::SettingsInput;
use request_desk_domain::user::{Role, UserInput};
use request_desk_domain::RequestDesk;

pub const DEMO_PASSWORD: &str = "demo-password";

/// Email, display name and role of each demo user.
pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("admin@example.com", "Ada Admin", Role::Admin),
    ("designer@example.com", "Dana Designer", Role::Designer),
    ("alice@example.com", "Alice", Role::Requester),
    ("bob@example.com", "Bob", Role::Requester),
];

/// Creates the demo users that are missing and makes the demo designer the
/// default designer if none is set. Idempotent.
pub fn seed_demo(desk: &RequestDesk) -> anyhow::Result<()> {
    let mut users = Vec::new();
    for (email, name, role) in DEMO_USERS {
        let input = UserInput {
            email: email.into(),
            password: DEMO_PASSWORD.into(),
            display_name: name.into(),
        };
        users.push(desk.ensure_user(&input, role)?);
    }
    let settings = desk.public_settings()?;
    if settings.default_designer_id.is_none() {
        let admin = Actor {
            id: users[0].id,
            role: Role::Admin,
        };
        desk.update_settings(
            &admin,
            &SettingsInput {
                daily_capacity: settings.daily_capacity.into(),
                limited_threshold_percent: settings.limited_threshold_percent.into(),
                booking_window_days: settings.booking_window_days.into(),
                closed_weekdays: settings
                    .closed_weekdays
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
                timezone: settings.timezone,
                default_designer_id: Some(users[1].id.0),
            },
        )?;
    }
    Ok(())
}
