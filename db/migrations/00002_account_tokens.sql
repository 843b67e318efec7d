-- Single-use tokens sent by email: one to confirm an address, one to choose a new password.
-- Only a SHA-256 hash of each token is stored, so a copy of the table grants nothing.

-- +goose Up
CREATE TABLE user_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password')),
    CONSTRAINT user_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    -- Also the index a token is looked up by when it comes back.
    CONSTRAINT user_tokens_token_hash_key UNIQUE (token_hash)
);

-- A user has at most one token of each purpose that is still usable: issuing a new one deletes
-- the pending one first, so only the latest email works. Also the index that finds it.
CREATE UNIQUE INDEX user_tokens_pending_key ON user_tokens (user_id, purpose) WHERE used_at IS NULL;
-- Deleting a user cascades here, used tokens included.
CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id);

-- +goose Down
DROP TABLE user_tokens;
