-- Every name here is unqualified on purpose: tests apply these migrations inside a schema of
-- their own chosen through search_path. Constraints are named because the store turns a
-- violated constraint into a caller-facing message by its name.

-- +goose Up
CREATE TABLE users (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email             text        NOT NULL,
    name              text        NOT NULL,
    password_hash     text        NOT NULL,
    role              text        NOT NULL DEFAULT 'student',
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_role_check CHECK (role IN ('student', 'admin'))
);

-- Addresses are compared case-insensitively: Ann@x.org and ann@x.org are one account.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE exams (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title            text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    duration_minutes integer     NOT NULL,
    published        boolean     NOT NULL DEFAULT false,
    -- An exam outlives the account of the admin who wrote it.
    created_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT exams_duration_minutes_check CHECK (duration_minutes > 0)
);

-- The student catalogue lists published exams by id.
CREATE INDEX exams_published_id_idx ON exams (id) WHERE published;
CREATE INDEX exams_created_by_idx ON exams (created_by);

CREATE TABLE questions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exam_id    bigint      NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    position   integer     NOT NULL,
    text       text        NOT NULL,
    points     integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Also the index that lists an exam's questions in order.
    CONSTRAINT questions_exam_id_position_key UNIQUE (exam_id, position),
    CONSTRAINT questions_points_check CHECK (points >= 0)
);

CREATE TABLE options (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id bigint  NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    text        text    NOT NULL,
    is_correct  boolean NOT NULL DEFAULT false,
    -- Also the index that lists a question's options in order.
    CONSTRAINT options_question_id_position_key UNIQUE (question_id, position),
    -- Lets an answer name its option and question together, so it cannot pair an option with
    -- a question the option does not belong to.
    CONSTRAINT options_id_question_id_key UNIQUE (id, question_id)
);

CREATE TABLE attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Results must not vanish with an exam: an exam that has been attempted cannot be deleted.
    exam_id      bigint      NOT NULL,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    score        integer,
    max_score    integer,
    CONSTRAINT attempts_exam_id_fkey FOREIGN KEY (exam_id) REFERENCES exams (id) ON DELETE RESTRICT,
    CONSTRAINT attempts_score_check CHECK (score >= 0 AND score <= max_score)
);

-- A student has at most one attempt in progress per exam; submitted ones accumulate.
CREATE UNIQUE INDEX attempts_open_key ON attempts (exam_id, user_id) WHERE submitted_at IS NULL;
CREATE INDEX attempts_user_id_idx ON attempts (user_id);
-- attempts_open_key leads with exam_id but only covers open attempts.
CREATE INDEX attempts_exam_id_idx ON attempts (exam_id);

-- The answers of an attempt are the evidence behind its score. Deleting a question or replacing
-- its options must not silently rewrite a result any more than deleting the exam may, so the
-- references to questions and options RESTRICT as attempts.exam_id does: once a question has
-- been answered, the question and its options are frozen and the store reports a conflict. The
-- answers themselves go with their attempt (and an attempt with its user).
CREATE TABLE attempt_answers (
    attempt_id  bigint NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    question_id bigint NOT NULL,
    option_id   bigint NOT NULL,
    PRIMARY KEY (attempt_id, question_id, option_id),
    CONSTRAINT attempt_answers_question_id_fkey FOREIGN KEY (question_id)
        REFERENCES questions (id) ON DELETE RESTRICT,
    CONSTRAINT attempt_answers_option_id_fkey FOREIGN KEY (option_id, question_id)
        REFERENCES options (id, question_id) ON DELETE RESTRICT
);

-- Referencing rows must be found without a scan when a question or an option is deleted.
CREATE INDEX attempt_answers_question_id_idx ON attempt_answers (question_id);
CREATE INDEX attempt_answers_option_id_idx ON attempt_answers (option_id);

-- +goose Down
DROP TABLE attempt_answers;
DROP TABLE attempts;
DROP TABLE options;
DROP TABLE questions;
DROP TABLE exams;
DROP TABLE users;
