-- An exam's policy: when it may be taken, how often, when a student may see the answer key,
-- and whether its questions may be read outside an attempt. The defaults are the strict ones:
-- one attempt, the key released once the exam closes, questions shown only during an attempt.
-- Practice exams opt out (after_submit, public).

-- +goose Up
ALTER TABLE exams
    ADD COLUMN opens_at            timestamptz,
    ADD COLUMN closes_at           timestamptz,
    ADD COLUMN max_attempts        integer NOT NULL DEFAULT 1,
    ADD COLUMN key_release         text    NOT NULL DEFAULT 'after_close',
    ADD COLUMN question_visibility text    NOT NULL DEFAULT 'during_attempt',
    ADD CONSTRAINT exams_window_check CHECK (opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at),
    ADD CONSTRAINT exams_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
    ADD CONSTRAINT exams_key_release_check CHECK (key_release IN ('after_close', 'after_submit', 'never')),
    ADD CONSTRAINT exams_question_visibility_check CHECK (question_visibility IN ('during_attempt', 'public'));

-- +goose Down
ALTER TABLE exams
    DROP COLUMN opens_at,
    DROP COLUMN closes_at,
    DROP COLUMN max_attempts,
    DROP COLUMN key_release,
    DROP COLUMN question_visibility;
