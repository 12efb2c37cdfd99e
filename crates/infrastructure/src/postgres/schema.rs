//! Diesel's view of the tables in `migrations/` (kept by hand, in step with them).

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    settings (id) {
        id -> Int2,
        daily_capacity -> Int4,
        limited_threshold_percent -> Int4,
        booking_window_days -> Int4,
        closed_weekdays -> Int2,
        timezone -> Text,
        default_designer_id -> Nullable<Int8>,
        version -> Int8,
    }
}

diesel::table! {
    days (date) {
        date -> Date,
        capacity_override -> Nullable<Int4>,
        override_note -> Nullable<Text>,
        used -> Int4,
        version -> Int8,
    }
}

diesel::table! {
    requests (id) {
        id -> Int8,
        title -> Text,
        description -> Text,
        priority -> Text,
        due_date -> Date,
        status -> Text,
        requester_id -> Int8,
        assignee_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        user_id -> Int8,
        request_id -> Int8,
        kind -> Text,
        params -> Text,
        message -> Text,
        read -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    holds (id) {
        id -> Int8,
        user_id -> Int8,
        date -> Date,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(requests -> days (due_date));
diesel::joinable!(holds -> days (date));
diesel::joinable!(notifications -> requests (request_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    settings,
    days,
    requests,
    notifications,
    holds
);
