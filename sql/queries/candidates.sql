-- name: AddCandidatesByID :many
-- AddCandidatesByID assigns the students among @user_ids to the exam and returns the ids it
-- added; ids of students assigned already, of admins or of nobody are left out.
INSERT INTO exam_candidates (exam_id, user_id)
SELECT @exam_id, u.id FROM users u
WHERE u.id = ANY(@user_ids::bigint[]) AND u.role = 'student'
ON CONFLICT DO NOTHING
RETURNING user_id;

-- name: AddCandidatesByEmail :many
-- AddCandidatesByEmail is AddCandidatesByID by address, compared case-insensitively.
INSERT INTO exam_candidates (exam_id, user_id)
SELECT @exam_id, u.id FROM users u
WHERE lower(u.email) = ANY(@emails::text[]) AND u.role = 'student'
ON CONFLICT DO NOTHING
RETURNING user_id;

-- name: AddAllStudentsAsCandidates :execrows
INSERT INTO exam_candidates (exam_id, user_id)
SELECT @exam_id, u.id FROM users u WHERE u.role = 'student'
ON CONFLICT DO NOTHING;

-- name: FindStudents :many
-- FindStudents returns the students among @user_ids or @emails (lowercased), to tell a caller
-- which of those it named do not exist.
SELECT id, lower(email)::text AS email FROM users
WHERE role = 'student' AND (id = ANY(@user_ids::bigint[]) OR lower(email) = ANY(@emails::text[]));

-- name: ListCandidates :many
SELECT c.user_id, u.email, u.name, c.added_at
FROM exam_candidates c JOIN users u ON u.id = c.user_id
WHERE c.exam_id = @exam_id
ORDER BY c.added_at, c.user_id
LIMIT @size OFFSET @skip;

-- name: CountCandidates :one
SELECT count(*)::integer FROM exam_candidates WHERE exam_id = @exam_id;

-- name: RemoveCandidate :execrows
DELETE FROM exam_candidates WHERE exam_id = @exam_id AND user_id = @user_id;

-- name: InsertAnnouncement :one
-- InsertAnnouncement writes one email of the same message to every candidate of the exam whose
-- address is not suppressed, in one statement, and returns how many it wrote and how many
-- candidates it left out as suppressed.
WITH candidates AS (
    SELECT u.id, u.email,
        EXISTS (SELECT 1 FROM email_suppressions s WHERE s.address = lower(u.email)) AS suppressed
    FROM exam_candidates c JOIN users u ON u.id = c.user_id
    WHERE c.exam_id = @exam_id
), written AS (
    INSERT INTO email_outbox (kind, user_id, recipient, from_address, reply_to, subject, html_body, text_body,
        priority, max_attempts)
    SELECT @kind, id, email, @from_address, @reply_to, @subject, @html_body, @text_body, @priority, @max_attempts
    FROM candidates WHERE NOT suppressed
    RETURNING 1
)
SELECT (SELECT count(*) FROM written)::integer AS written,
    (SELECT count(*) FROM candidates WHERE suppressed)::integer AS suppressed;
