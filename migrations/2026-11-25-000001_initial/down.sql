DROP TABLE notifications;
DROP TABLE requests;
DROP TABLE days;
DROP TABLE settings;
DROP TABLE users;
DROP SEQUENCE change_version_seq;
