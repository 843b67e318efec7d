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
-- be repeated; a verification already recorded is kept. Overwriting the password and the role
-- revokes the account's access tokens.
INSERT INTO users (email, name, password_hash, role, email_verified_at)
VALUES (@email, @name, @password_hash, @role, sqlc.narg('email_verified_at'))
ON CONFLICT (lower(email)) DO UPDATE SET
    name              = excluded.name,
    password_hash     = excluded.password_hash,
    role              = excluded.role,
    email_verified_at = coalesce(users.email_verified_at, excluded.email_verified_at),
    token_version     = users.token_version + 1,
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
-- It revokes the user's access tokens.
UPDATE users SET
    password_hash     = @password_hash,
    email_verified_at = coalesce(email_verified_at, @now::timestamptz),
    token_version     = token_version + 1,
    updated_at        = now()
WHERE id = @id
RETURNING *;

-- name: ListUsers :many
-- ListUsers pages through the accounts by id. A non-empty @email keeps the accounts whose
-- address contains it, ignoring case; strpos, not LIKE, so that % and _ match themselves. The
-- search scans the table, which an admin's occasional look can afford.
SELECT * FROM users
WHERE @email::text = '' OR strpos(lower(email), lower(@email::text)) > 0
ORDER BY id
LIMIT @size OFFSET @skip;

-- name: LockAdmins :many
-- LockAdmins holds the rows of every admin until the transaction ends and returns their ids, so
-- that concurrent demotions take turns and cannot together leave no admin. A row demoted by the
-- transaction waited for is not returned.
SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE;

-- name: SetUserRole :one
-- SetUserRole revokes the user's access tokens when the role changes, and changes nothing
-- otherwise.
UPDATE users SET
    token_version = token_version + CASE WHEN role <> @role::text THEN 1 ELSE 0 END,
    updated_at    = CASE WHEN role <> @role::text THEN now() ELSE updated_at END,
    role          = @role::text
WHERE id = @id
RETURNING *;
