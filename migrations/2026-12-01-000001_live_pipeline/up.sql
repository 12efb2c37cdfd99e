-- What a client needs to word a notification in its own language
-- ({title, dueDate, status?, reason?} as JSON text), stored with it by the
-- transaction of the change it reports.
ALTER TABLE notifications ADD COLUMN params TEXT NOT NULL DEFAULT '{}';

-- Notifications stored before this column: title and due date from their
-- request, the status from the English message ("… is now <status>").
UPDATE notifications n
SET params = json_strip_nulls(json_build_object(
        'title', r.title,
        'dueDate', to_char(r.due_date, 'YYYY-MM-DD'),
        'status', CASE WHEN n.kind = 'StatusChanged'
                       THEN substring(n.message FROM ' is now ([a-z_]+)$') END
    ))::text
FROM requests r
WHERE r.id = n.request_id;

ALTER TABLE notifications ALTER COLUMN params DROP DEFAULT;
