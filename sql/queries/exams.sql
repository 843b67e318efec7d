-- name: ListPublishedExams :many
SELECT * FROM exams WHERE published ORDER BY id;

-- name: GetExam :one
SELECT * FROM exams WHERE id = @id;

-- name: LockExam :one
-- LockExam holds the exam row until the transaction ends, so concurrent writers of its
-- questions take turns choosing positions. It does not block writers of attempts.
SELECT id FROM exams WHERE id = @id FOR NO KEY UPDATE;

-- name: CreateExam :one
INSERT INTO exams (title, description, duration_minutes, published, created_by)
VALUES (@title, @description, @duration_minutes, @published, sqlc.narg('created_by'))
RETURNING *;

-- name: UpdateExam :one
-- UpdateExam changes the fields given and keeps those passed as NULL.
UPDATE exams SET
    title            = coalesce(sqlc.narg('title'), title),
    description      = coalesce(sqlc.narg('description'), description),
    duration_minutes = coalesce(sqlc.narg('duration_minutes'), duration_minutes),
    published        = coalesce(sqlc.narg('published'), published),
    updated_at       = now()
WHERE id = @id
RETURNING *;

-- name: DeleteExam :execrows
DELETE FROM exams WHERE id = @id;

-- name: ExistingExamTitles :many
SELECT DISTINCT title FROM exams WHERE title = ANY(@titles::text[]);

-- name: InsertExams :many
-- InsertExams writes many exams from parallel arrays, zipped by unnest in the select list.
INSERT INTO exams (title, description, duration_minutes, published, created_by)
SELECT
    unnest(@titles::text[]),
    unnest(@descriptions::text[]),
    unnest(@duration_minutes::integer[]),
    unnest(@published::boolean[]),
    sqlc.narg('created_by')::bigint
RETURNING id, title;

-- name: ImportLock :exec
-- ImportLock serialises imports until the transaction ends, so two of them cannot both
-- decide that a title is new.
SELECT pg_advisory_xact_lock(@key::bigint);
