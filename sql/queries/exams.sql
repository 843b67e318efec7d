-- name: ListPublishedExams :many
SELECT * FROM exams WHERE published ORDER BY id;

-- name: GetExam :one
SELECT * FROM exams WHERE id = @id;

-- name: LockExam :one
-- LockExam holds the exam row until the transaction ends, so concurrent writers of its
-- questions take turns choosing positions. It does not block writers of attempts.
SELECT id FROM exams WHERE id = @id FOR NO KEY UPDATE;

-- name: CreateExam :one
-- CreateExam writes an exam; a policy field passed as NULL takes the schema's default.
INSERT INTO exams (title, description, duration_minutes, published, created_by, opens_at, closes_at,
    max_attempts, key_release, question_visibility)
VALUES (@title, @description, @duration_minutes, @published, sqlc.narg('created_by'),
    sqlc.narg('opens_at'), sqlc.narg('closes_at'),
    coalesce(sqlc.narg('max_attempts')::integer, 1),
    coalesce(sqlc.narg('key_release')::text, 'after_close'),
    coalesce(sqlc.narg('question_visibility')::text, 'during_attempt'))
RETURNING *;

-- name: UpdateExam :one
-- UpdateExam changes the fields given and keeps those passed as NULL; opens_at and closes_at
-- change (to NULL too) when their set_ flag is true.
UPDATE exams SET
    title            = coalesce(sqlc.narg('title'), title),
    description      = coalesce(sqlc.narg('description'), description),
    duration_minutes = coalesce(sqlc.narg('duration_minutes'), duration_minutes),
    published        = coalesce(sqlc.narg('published'), published),
    opens_at         = CASE WHEN @set_opens_at::boolean THEN sqlc.narg('opens_at')::timestamptz ELSE opens_at END,
    closes_at        = CASE WHEN @set_closes_at::boolean THEN sqlc.narg('closes_at')::timestamptz ELSE closes_at END,
    max_attempts     = coalesce(sqlc.narg('max_attempts'), max_attempts),
    key_release      = coalesce(sqlc.narg('key_release'), key_release),
    question_visibility = coalesce(sqlc.narg('question_visibility'), question_visibility),
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

-- name: MakePracticeExams :execrows
-- MakePracticeExams gives the exams titled @titles the policy of practice exams: questions
-- public, the key shown once an attempt is submitted, @max_attempts attempts. It changes
-- only the exams whose policy differs.
UPDATE exams SET
    question_visibility = 'public',
    key_release         = 'after_submit',
    max_attempts        = @max_attempts,
    updated_at          = now()
WHERE title = ANY(@titles::text[])
    AND (question_visibility, key_release, max_attempts) IS DISTINCT FROM ('public', 'after_submit', @max_attempts::integer);
