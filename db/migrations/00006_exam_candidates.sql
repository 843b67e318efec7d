-- The candidates of an exam: the students an admin assigned to it. An exam with candidates is
-- theirs only (others may not start it, nor see it in their list of open exams); an exam with
-- none is open to every student. Announcements go to the candidates.

-- +goose Up
CREATE TABLE exam_candidates (
    exam_id  bigint      NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    user_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (exam_id, user_id)
);

-- A student's exams, and what ON DELETE CASCADE from users looks up.
CREATE INDEX exam_candidates_user_id_idx ON exam_candidates (user_id);

-- +goose Down
DROP TABLE exam_candidates;
