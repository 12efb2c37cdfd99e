-- Issue 11 (hardening).
-- An admin can disable an account: its tokens stop working at once.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;

-- A booking window longer than a year made a plain GET /api/availability
-- (whose default range is the window) exceed the 366-day span limit.
UPDATE settings SET booking_window_days = 365 WHERE booking_window_days > 365;
ALTER TABLE settings ADD CONSTRAINT settings_booking_window_days_max CHECK (booking_window_days <= 365);
