-- name: CreateUser :one
INSERT INTO users (email, name, password_hash, role, email_verified_at)
VALUES (@email, @name, @password_hash, @role, sqlc.narg('email_verified_at'))
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
-- GetUserByEmail compares addresses case-insensitively, through the unique index on
-- lower(email).
SELECT * FROM users WHERE lower(email) = lower(@email);

-- name: UpsertUser :one
-- UpsertUser makes the account match the arguments whether or not it existed, so seeding can
-- be repeated; a verification already recorded is kept.
INSERT INTO users (email, name, password_hash, role, email_verified_at)
VALUES (@email, @name, @password_hash, @role, sqlc.narg('email_verified_at'))
ON CONFLICT (lower(email)) DO UPDATE SET
    name              = excluded.name,
    password_hash     = excluded.password_hash,
    role              = excluded.role,
    email_verified_at = coalesce(users.email_verified_at, excluded.email_verified_at),
    updated_at        = now()
RETURNING *;

-- name: LockUser :one
-- LockUser holds the user's row until the transaction ends, so that concurrent requests issuing
-- tokens for one user take turns. It does not block readers or writers of other tables.
SELECT id FROM users WHERE id = @id FOR NO KEY UPDATE;

-- name: MarkUserEmailVerified :one
-- MarkUserEmailVerified keeps an earlier verification time.
UPDATE users SET
    email_verified_at = coalesce(email_verified_at, @now::timestamptz),
    updated_at        = now()
WHERE id = @id
RETURNING *;

-- name: SetUserPassword :one
-- SetUserPassword also counts the address as verified: the token that allows it was sent there.
UPDATE users SET
    password_hash     = @password_hash,
    email_verified_at = coalesce(email_verified_at, @now::timestamptz),
    updated_at        = now()
WHERE id = @id
RETURNING *;
