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
