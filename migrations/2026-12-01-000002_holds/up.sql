-- A hold keeps one slot of a date for one user while they fill in the form.
-- One row per user at most (taking a new hold replaces the old one). A hold
-- is live while expires_at > now() on the database's clock, so every
-- instance agrees on it whatever their own clocks say; expired rows count
-- for nothing and are deleted by the sweeper, which announces their dates.
CREATE TABLE holds (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    date       DATE        NOT NULL REFERENCES days (date),
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX holds_user_key ON holds (user_id);
CREATE INDEX holds_date_idx ON holds (date, expires_at);
CREATE INDEX holds_expiry_idx ON holds (expires_at);
