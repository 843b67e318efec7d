-- name: ListExamQuestions :many
-- ListExamQuestions reads an exam's questions with their options in one statement, hence from
-- one snapshot, ordered by question and then option position. It starts from the exam so that
-- an unknown exam yields no rows while an exam without questions yields one row of NULL
-- question columns; a question without options has NULL option columns.
SELECT
    e.id         AS exam_id,
    q.id         AS question_id,
    q.position   AS question_position,
    q.text       AS question_text,
    q.points     AS question_points,
    q.created_at AS question_created_at,
    q.updated_at AS question_updated_at,
    o.id         AS option_id,
    o.position   AS option_position,
    o.text       AS option_text,
    o.is_correct AS option_is_correct
FROM exams e
LEFT JOIN questions q ON q.exam_id = e.id
LEFT JOIN options o ON o.question_id = q.id
WHERE e.id = @exam_id
ORDER BY q.position, o.position;

-- name: GetQuestion :many
-- GetQuestion reads a question and its options in one statement: one row per option, or one
-- row of NULL option columns when it has none.
SELECT
    q.id         AS question_id,
    q.exam_id    AS exam_id,
    q.position   AS question_position,
    q.text       AS question_text,
    q.points     AS question_points,
    q.created_at AS question_created_at,
    q.updated_at AS question_updated_at,
    o.id         AS option_id,
    o.position   AS option_position,
    o.text       AS option_text,
    o.is_correct AS option_is_correct
FROM questions q
LEFT JOIN options o ON o.question_id = q.id
WHERE q.id = @id
ORDER BY o.position;

-- name: GetQuestionOptions :many
SELECT * FROM options WHERE question_id = @question_id ORDER BY position;

-- name: NextQuestionPosition :one
SELECT (coalesce(max(position), 0) + 1)::integer AS next_position
FROM questions
WHERE exam_id = @exam_id;

-- name: CreateQuestion :one
INSERT INTO questions (exam_id, position, text, points)
VALUES (@exam_id, @position, @text, @points)
RETURNING *;

-- name: UpdateQuestion :one
UPDATE questions SET
    position   = coalesce(sqlc.narg('position'), position),
    text       = coalesce(sqlc.narg('text'), text),
    points     = coalesce(sqlc.narg('points'), points),
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: DeleteQuestion :one
DELETE FROM questions WHERE id = @id RETURNING exam_id;

-- name: DeleteQuestionOptions :execrows
DELETE FROM options WHERE question_id = @question_id;

-- name: InsertQuestionOptions :many
-- InsertQuestionOptions writes the options of one question from parallel arrays, zipped by
-- unnest in the select list.
INSERT INTO options (question_id, position, text, is_correct)
SELECT
    @question_id::bigint,
    unnest(@positions::integer[]),
    unnest(@texts::text[]),
    unnest(@is_correct::boolean[])
RETURNING *;

-- name: InsertQuestions :many
-- InsertQuestions writes many questions from parallel arrays, zipped by unnest in the select
-- list.
INSERT INTO questions (exam_id, position, text, points)
SELECT
    unnest(@exam_ids::bigint[]),
    unnest(@positions::integer[]),
    unnest(@texts::text[]),
    unnest(@points::integer[])
RETURNING id, exam_id, position;

-- name: InsertOptions :copyfrom
INSERT INTO options (question_id, position, text, is_correct)
VALUES (@question_id, @position, @text, @is_correct);
