-- One global, monotonic change number. Every change to a date's numbers and
-- every settings change takes the next value; clients use it to catch up.
CREATE SEQUENCE change_version_seq;

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    display_name  TEXT        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role          TEXT        NOT NULL CHECK (role IN ('requester', 'designer', 'admin')),
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Exactly one row (id = 1), holding the admin's capacity settings.
CREATE TABLE settings (
    id                        SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    daily_capacity            INTEGER  NOT NULL CHECK (daily_capacity >= 0),
    limited_threshold_percent INTEGER  NOT NULL CHECK (limited_threshold_percent BETWEEN 0 AND 100),
    booking_window_days       INTEGER  NOT NULL CHECK (booking_window_days >= 0),
    -- Bit 0 = Monday … bit 6 = Sunday.
    closed_weekdays           SMALLINT NOT NULL DEFAULT 0 CHECK (closed_weekdays BETWEEN 0 AND 127),
    timezone                  TEXT     NOT NULL,
    default_designer_id       BIGINT   REFERENCES users (id) ON DELETE SET NULL,
    version                   BIGINT   NOT NULL DEFAULT 0
);
INSERT INTO settings (daily_capacity, limited_threshold_percent, booking_window_days, timezone)
VALUES (10, 60, 60, 'UTC');

-- One row per date that was ever booked, overridden or changed. The row is
-- what bookings lock (FOR UPDATE), so "is there room" and "take it" are atomic.
CREATE TABLE days (
    date              DATE    PRIMARY KEY,
    capacity_override INTEGER CHECK (capacity_override >= 0),
    override_note     TEXT,
    used              INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    version           BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX days_version_idx ON days (version);

CREATE TABLE requests (
    id           BIGSERIAL   PRIMARY KEY,
    title        TEXT        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  TEXT        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    priority     TEXT        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due_date     DATE        NOT NULL REFERENCES days (date),
    status       TEXT        NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'rejected', 'cancelled')),
    requester_id BIGINT      NOT NULL REFERENCES users (id),
    assignee_id  BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_requester_idx ON requests (requester_id, id);
CREATE INDEX requests_due_date_idx ON requests (due_date);

CREATE TABLE notifications (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id BIGINT      NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL CHECK (kind IN ('NewRequest', 'StatusChanged')),
    message    TEXT        NOT NULL,
    read       BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE NOT read;
