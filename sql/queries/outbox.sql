-- The email outbox. Every state change names the states it may start from (@from_states, from
-- oes.EmailState.From), so the state machine lives in one place and a row that moved on in
-- the meantime is left alone.

-- name: InsertEmail :one
INSERT INTO email_outbox (kind, user_id, recipient, from_address, reply_to, subject, html_body,
                          text_body, priority, max_attempts, send_after)
VALUES (@kind, sqlc.narg('user_id'), @recipient, @from_address, @reply_to, @subject,
        sqlc.narg('html_body'), sqlc.narg('text_body'), @priority, @max_attempts,
        coalesce(sqlc.narg('send_after')::timestamptz, now()))
RETURNING id;

-- name: CancelUserEmails :execrows
-- CancelUserEmails cancels the user's unsent emails of one kind, such as a verification email
-- whose token a newer one replaced: sent, its link would no longer work.
UPDATE email_outbox SET
    state = 'cancelled', last_error = @reason, finished_at = now(), updated_at = now(),
    html_body = NULL, text_body = NULL
WHERE user_id = @user_id AND kind = @kind AND state = ANY(@from_states::text[]);

-- name: LockPendingEmails :many
-- LockPendingEmails takes the oldest pending rows for the relay. Rows another transaction
-- holds are skipped, so relays in several processes never work one row at once.
SELECT id, kind, priority, send_after FROM email_outbox
WHERE state = 'pending'
ORDER BY id
LIMIT @max_rows
FOR UPDATE SKIP LOCKED;

-- name: LockInFlightEmails :many
-- LockInFlightEmails takes, in id order after @after_id, the rows that should have a task in
-- Redis: queued ones older than @queued_before, and sending ones claimed before
-- @claimed_before (whose worker has finished or died by then).
SELECT id, kind, priority, send_after, next_attempt_at FROM email_outbox
WHERE id > @after_id
  AND ((state = 'queued' AND queued_at < @queued_before::timestamptz)
    OR (state = 'sending' AND claimed_at < @claimed_before::timestamptz))
ORDER BY id
LIMIT @max_rows
FOR UPDATE SKIP LOCKED;

-- name: MarkEmailsQueued :exec
UPDATE email_outbox SET state = 'queued', queued_at = now(), updated_at = now()
WHERE id = ANY(@ids::bigint[]) AND state = ANY(@from_states::text[]);

-- name: RecordAndClaimEmails :many
-- RecordAndClaimEmails records the final states of sending emails (@ids, each with its own
-- outcome) and claims others (@claim_ids: marks them as being sent and returns what a worker
-- needs to send each, with whether its address is suppressed), in one statement: the deliveries
-- of a worker that end and start together cost one round trip and one commit. The bodies go
-- once an email is delivered; a failed or suppressed email keeps them for an admin's retry. An
-- email in both lists is only recorded. Every row carries the ids recorded, and a claimed email
-- (none claimed: one row whose claim columns are NULL).
WITH finished AS (
    UPDATE email_outbox o SET
        state       = u.state,
        attempts    = o.attempts + u.attempts_spent,
        last_error  = u.last_error,
        smtp_reply  = u.smtp_reply,
        finished_at = now(),
        next_attempt_at = NULL,
        updated_at  = now(),
        html_body   = CASE WHEN u.state = 'delivered' THEN NULL ELSE o.html_body END,
        text_body   = CASE WHEN u.state = 'delivered' THEN NULL ELSE o.text_body END
    FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@states::text[]) AS state,
            unnest(@attempts_spent::int[]) AS attempts_spent, unnest(@last_errors::text[]) AS last_error,
            unnest(@smtp_replies::text[]) AS smtp_reply) AS u
    WHERE o.id = ANY(@ids::bigint[]) AND o.id = u.id AND o.state = 'sending'
    RETURNING o.id
), claimed AS (
    UPDATE email_outbox o SET state = 'sending', claimed_at = now(), updated_at = now()
    WHERE o.id = ANY(@claim_ids::bigint[]) AND o.state = ANY(@from_states::text[])
        AND o.id <> ALL(@ids::bigint[])
    RETURNING o.id, o.kind, o.recipient, o.from_address, o.reply_to, o.subject, o.html_body,
        o.text_body, o.max_attempts, o.attempts, o.deferrals, o.send_after,
        EXISTS (SELECT 1 FROM email_suppressions s WHERE s.address = lower(o.recipient)) AS suppressed
)
SELECT f.ids::bigint[] AS recorded, c.id, c.kind, c.recipient, c.from_address, c.reply_to, c.subject,
    c.html_body, c.text_body, c.max_attempts, c.attempts, c.deferrals, c.send_after, c.suppressed
FROM (SELECT coalesce(array_agg(id), '{}') AS ids FROM finished) AS f
LEFT JOIN claimed c ON true;

-- name: DeferEmail :execrows
-- DeferEmail puts a sending email back on the queue for a later try.
UPDATE email_outbox SET
    state           = 'queued',
    attempts        = attempts + @attempts_spent,
    deferrals       = deferrals + @deferrals,
    last_error      = @last_error,
    smtp_reply      = @smtp_reply,
    next_attempt_at = @next_attempt_at,
    queued_at       = now(),
    updated_at      = now()
WHERE id = @id AND state = ANY(@from_states::text[]);

-- name: RetryEmail :execrows
-- RetryEmail gives a failed or suppressed email a fresh start: its attempts and its window of
-- retries count again from now.
UPDATE email_outbox SET
    state = 'pending', attempts = 0, deferrals = 0, last_error = '', smtp_reply = '',
    send_after = now(), next_attempt_at = NULL, finished_at = NULL, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]);

-- name: CancelEmail :execrows
UPDATE email_outbox SET
    state = 'cancelled', last_error = @reason, finished_at = now(), updated_at = now(),
    html_body = NULL, text_body = NULL
WHERE id = @id AND state = ANY(@from_states::text[]);

-- name: GetEmail :one
SELECT id, kind, state, user_id, recipient, subject, priority, max_attempts, attempts, deferrals,
    last_error, smtp_reply, created_at, send_after, queued_at, next_attempt_at, finished_at
FROM email_outbox WHERE id = @id;

-- name: ListEmailsInState :many
-- ListEmailsInState pages through the emails in one state, those that reached it first first:
-- every update of a row is a change of its state.
SELECT id, kind, state, user_id, recipient, subject, priority, max_attempts, attempts, deferrals,
    last_error, smtp_reply, created_at, send_after, queued_at, next_attempt_at, finished_at
FROM email_outbox
WHERE state = @state
ORDER BY updated_at, id
LIMIT @size OFFSET @skip;

-- name: ListUserEmails :many
SELECT id, kind, state, user_id, recipient, subject, priority, max_attempts, attempts, deferrals,
    last_error, smtp_reply, created_at, send_after, queued_at, next_attempt_at, finished_at
FROM email_outbox
WHERE user_id = @user_id
ORDER BY id DESC
LIMIT @size OFFSET @skip;

-- name: CountEmails :one
-- CountEmails reads the unfinished, failed and suppressed rows through email_outbox_state_idx
-- and the rows finished since @since through email_outbox_finished_at_idx; delivered and
-- cancelled rows older than that are not counted. A pending email (never tried: its
-- next_attempt_at is null) is waiting or delayed by its send_after, as a queued one is.
SELECT
    count(*) FILTER (WHERE state IN ('pending', 'queued')
        AND coalesce(next_attempt_at, send_after) <= now())::int AS waiting,
    count(*) FILTER (WHERE state IN ('pending', 'queued')
        AND next_attempt_at IS NULL AND send_after > now())::int AS delayed,
    count(*) FILTER (WHERE state = 'queued' AND next_attempt_at > now())::int AS retrying,
    count(*) FILTER (WHERE state = 'sending')::int AS active,
    count(*) FILTER (WHERE state = 'delivered')::int AS completed,
    count(*) FILTER (WHERE state = 'failed')::int AS failed,
    count(*) FILTER (WHERE state = 'suppressed')::int AS suppressed,
    count(*) FILTER (WHERE state = 'cancelled')::int AS cancelled
FROM (
    SELECT state, send_after, next_attempt_at FROM email_outbox
    WHERE state IN ('pending', 'queued', 'sending', 'failed', 'suppressed')
    UNION ALL
    SELECT state, send_after, next_attempt_at FROM email_outbox
    WHERE finished_at >= @since::timestamptz AND state IN ('delivered', 'cancelled')
) AS e;

-- name: SuppressAddress :exec
INSERT INTO email_suppressions (address, reason, email_id)
VALUES (lower(@address), @reason, @email_id)
ON CONFLICT (address) DO NOTHING;

-- name: ListSuppressions :many
SELECT address, reason, email_id, created_at FROM email_suppressions
ORDER BY created_at DESC, address
LIMIT @size OFFSET @skip;

-- name: DeleteSuppression :execrows
DELETE FROM email_suppressions WHERE address = lower(@address);
