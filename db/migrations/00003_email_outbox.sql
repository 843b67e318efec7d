-- The email outbox: every email the system decides to send, written in the transaction of the
-- change that causes it, so that nothing commits without its email and no email exists for a
-- rolled-back change. The queue in Redis only carries row ids; this table is the record of
-- what was sent, what failed and why. States and their moves are in pkg/oes/email.go.

-- +goose Up
CREATE TABLE email_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL,
    -- The account the email concerns, for its email history; the row outlives the account.
    user_id         bigint      REFERENCES users (id) ON DELETE SET NULL,
    recipient       text        NOT NULL,
    from_address    text        NOT NULL DEFAULT '',
    reply_to        text        NOT NULL DEFAULT '',
    subject         text        NOT NULL,
    -- The bodies may hold single-use links; they are erased once the email is delivered or
    -- cancelled, and kept while it may still be sent (a failed email can be retried).
    html_body       text,
    text_body       text,
    priority        smallint    NOT NULL,
    max_attempts    smallint    NOT NULL,
    state           text        NOT NULL DEFAULT 'pending',
    -- attempts counts the tries that ended with a verdict on the email (delivered, refused,
    -- failed); deferrals the tries an outage cut short, which spend no attempt.
    attempts        integer     NOT NULL DEFAULT 0,
    deferrals       integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    smtp_reply      text        NOT NULL DEFAULT '',
    send_after      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    queued_at       timestamptz,
    claimed_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_outbox_state_check CHECK (state IN
        ('pending', 'queued', 'sending', 'delivered', 'failed', 'suppressed', 'cancelled')),
    CONSTRAINT email_outbox_priority_check CHECK (priority BETWEEN 1 AND 10),
    CONSTRAINT email_outbox_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 25)
);

-- The relay takes pending rows in order; the sweep walks the rows that should be in Redis.
CREATE INDEX email_outbox_pending_idx ON email_outbox (id) WHERE state = 'pending';
CREATE INDEX email_outbox_in_flight_idx ON email_outbox (id) WHERE state IN ('queued', 'sending');
-- Lists by state (failed, sending) and counts of the unfinished and kept-for-review states.
CREATE INDEX email_outbox_state_idx ON email_outbox (state, id)
    WHERE state IN ('pending', 'queued', 'sending', 'failed', 'suppressed');
CREATE INDEX email_outbox_finished_at_idx ON email_outbox (finished_at) WHERE finished_at IS NOT NULL;
-- A user's email history, newest first; also what ON DELETE SET NULL looks up.
CREATE INDEX email_outbox_user_id_idx ON email_outbox (user_id, id);

-- Wakes the relay (pkg/outbox) as soon as a row becomes pending. The channel is named after the
-- schema, so that relays of other schemas in one database are not woken. Notifications of one
-- transaction are delivered once, at commit.
-- +goose StatementBegin
CREATE FUNCTION email_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(current_schema() || '.email_outbox', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER email_outbox_pending_notify
    AFTER INSERT OR UPDATE OF state ON email_outbox
    FOR EACH ROW WHEN (NEW.state = 'pending')
    EXECUTE FUNCTION email_outbox_notify();

-- Addresses a mail server refused for good (a 5xx to RCPT TO, or a 5.1.x reply): later emails to
-- them are not sent until an admin removes the entry.
CREATE TABLE email_suppressions (
    -- lower-cased
    address    text        PRIMARY KEY,
    reason     text        NOT NULL,
    email_id   bigint      REFERENCES email_outbox (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE email_suppressions;
DROP TRIGGER email_outbox_pending_notify ON email_outbox;
DROP FUNCTION email_outbox_notify();
DROP TABLE email_outbox;
