-- name: StartAttempt :one
-- StartAttempt opens an attempt at a published exam that is open now, of which the student
-- has attempts left and is a candidate (when it has candidates). It yields no row when any of that does not hold, or when the student has
-- an attempt at it open already (attempts_open_key): ExamStartState tells which. Two starts at
-- once cannot both take the last attempt: only one attempt may be open.
INSERT INTO attempts (exam_id, user_id)
SELECT e.id, @user_id FROM exams e
WHERE e.id = @exam_id AND e.published
    AND (e.opens_at IS NULL OR e.opens_at <= now())
    AND (e.closes_at IS NULL OR now() < e.closes_at)
    AND (SELECT count(*) FROM attempts a WHERE a.exam_id = e.id AND a.user_id = @user_id) < e.max_attempts
    AND (NOT EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id)
        OR EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id AND c.user_id = @user_id))
ON CONFLICT (exam_id, user_id) WHERE submitted_at IS NULL DO NOTHING
RETURNING id;

-- name: GetOpenAttemptID :one
SELECT id FROM attempts WHERE exam_id = @exam_id AND user_id = @user_id AND submitted_at IS NULL;

-- name: ExamStartState :one
-- ExamStartState is what decides whether a student may start an attempt at an exam now.
SELECT e.published, e.opens_at, e.closes_at, e.max_attempts, now()::timestamptz AS now,
    (SELECT count(*) FROM attempts a WHERE a.exam_id = e.id AND a.user_id = @user_id)::integer AS attempts,
    EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id) AS restricted,
    EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id AND c.user_id = @user_id) AS candidate
FROM exams e WHERE e.id = @exam_id;

-- name: GetAttempt :one
-- GetAttempt computes the deadline from the exam's current duration and closing time rather
-- than storing it, so an admin who lengthens an exam extends the attempts in progress too. No
-- attempt runs past the exam's close: the answer key may be released then.
SELECT
    a.id, a.exam_id, a.user_id, a.started_at, a.submitted_at, a.score, a.max_score,
    least(a.started_at + make_interval(mins => e.duration_minutes), e.closes_at)::timestamptz AS deadline,
    e.title AS exam_title,
    u.email AS user_email,
    u.name  AS user_name
FROM attempts a
JOIN exams e ON e.id = a.exam_id
JOIN users u ON u.id = a.user_id
WHERE a.id = @id;

-- name: LockAttempt :one
-- LockAttempt holds the attempt row until the transaction ends: answer writers and graders of
-- one attempt take turns, so a grade always sees the answers that were saved before it.
SELECT
    a.id, a.exam_id, a.user_id, a.started_at, a.submitted_at, a.score, a.max_score,
    least(a.started_at + make_interval(mins => e.duration_minutes), e.closes_at)::timestamptz AS deadline
FROM attempts a
JOIN exams e ON e.id = a.exam_id
WHERE a.id = @id
FOR UPDATE OF a;

-- name: ListUserAttempts :many
SELECT
    a.id, a.exam_id, a.user_id, a.started_at, a.submitted_at, a.score, a.max_score,
    least(a.started_at + make_interval(mins => e.duration_minutes), e.closes_at)::timestamptz AS deadline,
    e.title AS exam_title
FROM attempts a
JOIN exams e ON e.id = a.exam_id
WHERE a.user_id = @user_id
ORDER BY a.started_at DESC, a.id DESC;

-- name: ListExpiredExamAttempts :many
-- ListExpiredExamAttempts names the attempts at an exam whose time ran out before anyone
-- graded them.
SELECT a.id
FROM attempts a
JOIN exams e ON e.id = a.exam_id
WHERE a.exam_id = @exam_id
  AND a.submitted_at IS NULL
  AND least(a.started_at + make_interval(mins => e.duration_minutes), e.closes_at) <= @now::timestamptz
ORDER BY a.id;

-- name: ListAttemptAnswers :many
SELECT question_id, option_id FROM attempt_answers
WHERE attempt_id = @attempt_id
ORDER BY question_id, option_id;

-- name: DeleteAttemptAnswers :exec
DELETE FROM attempt_answers
WHERE attempt_id = @attempt_id AND question_id = ANY(@question_ids::bigint[]);

-- name: InsertAttemptAnswers :exec
-- InsertAttemptAnswers writes answers from parallel arrays, zipped by unnest in the select list.
INSERT INTO attempt_answers (attempt_id, question_id, option_id)
SELECT @attempt_id::bigint, unnest(@question_ids::bigint[]), unnest(@option_ids::bigint[]);

-- name: FinishAttempt :execrows
UPDATE attempts SET submitted_at = @submitted_at, score = @score, max_score = @max_score
WHERE id = @id AND submitted_at IS NULL;

-- name: ListExamResults :many
SELECT a.id, a.user_id, u.email, u.name, a.started_at, a.submitted_at, a.score, a.max_score
FROM attempts a
JOIN users u ON u.id = a.user_id
WHERE a.exam_id = @exam_id AND a.submitted_at IS NOT NULL
ORDER BY a.submitted_at, a.id
LIMIT @size OFFSET @skip;

-- name: ListExpiredAttempts :many
-- ListExpiredAttempts returns up to @max attempts still open at @now whose time has run out
-- (their duration, or their exam's close), the first to start first.
SELECT a.id
FROM attempts a
JOIN exams e ON e.id = a.exam_id
WHERE a.submitted_at IS NULL
  AND least(a.started_at + make_interval(mins => e.duration_minutes), e.closes_at) <= @now::timestamptz
ORDER BY a.started_at, a.id
LIMIT @max;

-- name: ListOpenExamsForUser :many
-- ListOpenExamsForUser returns the published exams that have not closed, open now or later, of
-- which the student is a candidate (those with candidates) or that are open to every student,
-- with the attempts the student has started at each and the one in progress (0: none).
SELECT e.id, e.title, e.duration_minutes, e.opens_at, e.closes_at, e.max_attempts,
    (SELECT count(*) FROM attempts a WHERE a.exam_id = e.id AND a.user_id = @user_id)::integer AS attempts_used,
    coalesce((SELECT a.id FROM attempts a WHERE a.exam_id = e.id AND a.user_id = @user_id AND a.submitted_at IS NULL), 0)::bigint AS open_attempt_id
FROM exams e
WHERE e.published AND (e.closes_at IS NULL OR e.closes_at > @now::timestamptz)
    AND (NOT EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id)
        OR EXISTS (SELECT 1 FROM exam_candidates c WHERE c.exam_id = e.id AND c.user_id = @user_id))
ORDER BY e.opens_at NULLS FIRST, e.id;
