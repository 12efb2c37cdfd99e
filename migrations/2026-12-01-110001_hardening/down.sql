ALTER TABLE settings DROP CONSTRAINT settings_booking_window_days_max;
ALTER TABLE users DROP COLUMN disabled;
