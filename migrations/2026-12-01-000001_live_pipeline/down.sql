ALTER TABLE notifications DROP COLUMN params;
