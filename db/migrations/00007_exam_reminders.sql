-- Reminders of an exam's opening are outbox emails held back until their time (send_after).
-- They name their exam, so that they are cancelled and written again when its opening time or
-- its candidates change, and cancelled when it is deleted.

-- +goose Up
ALTER TABLE email_outbox ADD COLUMN exam_id bigint REFERENCES exams (id) ON DELETE SET NULL;
CREATE INDEX email_outbox_exam_unsent_idx ON email_outbox (exam_id) WHERE state IN ('pending', 'queued');

-- +goose Down
ALTER TABLE email_outbox DROP COLUMN exam_id;
