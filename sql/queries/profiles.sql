-- name: UpdateUserName :one
UPDATE users SET
    name       = @name,
    updated_at = now()
WHERE id = @id
RETURNING *;
