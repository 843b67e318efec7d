-- name: CreateUserToken :exec
INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at)
VALUES (@user_id, @purpose, @token_hash, @expires_at);

-- name: DeletePendingUserTokens :execrows
-- DeletePendingUserTokens revokes the user's unused tokens of one purpose; used ones stay, so
-- that presenting one again is reported as reuse.
DELETE FROM user_tokens WHERE user_id = @user_id AND purpose = @purpose AND used_at IS NULL;

-- name: ConsumeUserToken :one
-- ConsumeUserToken marks the token used if it is unused and unexpired at @now, and returns its
-- user. Of two concurrent calls with one token, the second waits for the first's row lock and
-- then finds the token used.
UPDATE user_tokens SET used_at = @now::timestamptz
WHERE token_hash = @token_hash AND purpose = @purpose AND used_at IS NULL AND expires_at > @now
RETURNING user_id;

-- name: GetUserToken :one
-- GetUserToken explains why ConsumeUserToken found nothing: a token that exists was used or
-- has expired.
SELECT used_at, expires_at FROM user_tokens WHERE token_hash = @token_hash AND purpose = @purpose;
