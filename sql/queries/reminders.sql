-- name: CancelExamReminders :execrows
-- CancelExamReminders cancels the unsent reminders of an exam, to every candidate or to one.
UPDATE email_outbox SET
    state = 'cancelled', last_error = @reason, finished_at = now(), updated_at = now(),
    html_body = NULL, text_body = NULL
WHERE exam_id = @exam_id AND kind = 'exam_reminder' AND state IN ('pending', 'queued')
    AND (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'));

-- name: InsertExamReminders :execrows
-- InsertExamReminders writes, for every candidate of the exam whose address is not suppressed,
-- one reminder per time of @send_afters that is still to come, held back until then.
INSERT INTO email_outbox (kind, user_id, exam_id, recipient, subject, html_body, text_body, priority,
    max_attempts, send_after)
SELECT 'exam_reminder', u.id, c.exam_id, u.email, @subject, @html_body, @text_body, @priority, @max_attempts, o.at
FROM exam_candidates c
JOIN users u ON u.id = c.user_id
CROSS JOIN unnest(@send_afters::timestamptz[]) AS o(at)
WHERE c.exam_id = @exam_id
    AND o.at > now()
    AND NOT EXISTS (SELECT 1 FROM email_suppressions s WHERE s.address = lower(u.email));
