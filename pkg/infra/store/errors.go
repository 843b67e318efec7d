package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oeshq/oes/pkg/oes"
)

// SQLSTATE codes the store reacts to.
const (
	codeNotNullViolation     = "23502"
	codeForeignKeyViolation  = "23503"
	codeUniqueViolation      = "23505"
	codeCheckViolation       = "23514"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeTooManyConnections   = "53300"
	codeQueryCanceled        = "57014" // statement_timeout or a cancel request
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
)

// violation is what a caller is told when a named constraint refuses a write.
type violation struct {
	code    string
	field   string // the input field at fault, for EINVALID
	message string
}

// violations explains the schema's constraints by name (see db/migrations). A foreign key
// appears here only for the direction the store can violate it in: the referenced row is
// missing on insert. Removals that leave references behind are explained by the removing
// method through translateRemoval, which knows what is being removed.
var violations = map[string]violation{
	"users_email_key":                  {oes.ECONFLICT, "email", "an account with this email already exists"},
	"users_role_check":                 {oes.EINVALID, "role", "must be student or admin"},
	"exams_duration_minutes_check":     {oes.EINVALID, "duration_minutes", "must be greater than 0"},
	"exams_created_by_fkey":            {oes.ECONFLICT, "", "the account creating the exam no longer exists"},
	"exams_window_check":               {oes.EINVALID, "closes_at", "must be after opens_at"},
	"exams_max_attempts_check":         {oes.EINVALID, "max_attempts", "must be between 1 and 100"},
	"exams_key_release_check":          {oes.EINVALID, "key_release", "must be after_close, after_submit or never"},
	"exams_question_visibility_check":  {oes.EINVALID, "question_visibility", "must be during_attempt or public"},
	"questions_points_check":           {oes.EINVALID, "points", "must not be negative"},
	"questions_exam_id_position_key":   {oes.ECONFLICT, "position", "another question of this exam has this position"},
	"questions_exam_id_fkey":           {oes.ENOTFOUND, "", "the exam does not exist"},
	"options_question_id_position_key": {oes.ECONFLICT, "options", "two options of the question have the same position"},
	"attempts_open_key":                {oes.ECONFLICT, "", "an attempt at this exam is already in progress"},
	"attempts_exam_id_fkey":            {oes.ENOTFOUND, "", "the exam does not exist"},
	"attempts_user_id_fkey":            {oes.ENOTFOUND, "", "the account does not exist"},
	"attempts_score_check":             {oes.EINVALID, "score", "must be from 0 to the maximum score"},
	"attempt_answers_question_id_fkey": {oes.EINVALID, "answers", "names a question that does not exist"},
	"attempt_answers_option_id_fkey":   {oes.EINVALID, "answers", "names an option that is not one of its question's"},
	"user_tokens_user_id_fkey":         {oes.ENOTFOUND, "", "the account does not exist"},
	"user_tokens_pending_key":          {oes.ECONFLICT, "", "another token was issued for this account at the same time, try again"},
	"email_outbox_user_id_fkey":        {oes.ENOTFOUND, "", "the account does not exist"},
}

// translate returns err as an *oes.Error whose message a caller may see, wrapping err itself
// for logs. subject names what the call was about ("exam 42") in not-found messages. Errors
// the store has no words for are returned as they are and count as EINTERNAL.
func translate(err error, subject string) error {
	if err == nil {
		return nil
	}
	var oesErr *oes.Error
	// A cancelled context means the caller gave up, which is not the database's fault.
	if errors.As(err, &oesErr) || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		e := notFound(subject)
		e.Err = err
		return e
	}
	if unavailable(err) {
		return &oes.Error{Code: oes.EUNAVAILABLE, Message: "the database is unavailable, try again later", Err: err}
	}

	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	if v, ok := violations[pgErr.ConstraintName]; ok {
		if v.code == oes.EINVALID {
			e := oes.Invalid(oes.FieldError{Field: v.field, Message: v.message})
			e.Err = err
			return e
		}
		return &oes.Error{Code: v.code, Message: v.message, Err: err}
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		return &oes.Error{Code: oes.ECONFLICT, Message: "the " + subject + " conflicts with existing data", Err: err}
	case codeForeignKeyViolation:
		return &oes.Error{Code: oes.ECONFLICT, Message: "the " + subject + " refers to data that does not exist or is still referred to", Err: err}
	case codeSerializationFailure, codeDeadlockDetected:
		return &oes.Error{Code: oes.ECONFLICT, Message: "the change collided with a concurrent one, try again", Err: err}
	case codeCheckViolation, codeNotNullViolation:
		return &oes.Error{Code: oes.EINVALID, Message: "the " + subject + " is invalid", Err: err}
	}
	if strings.HasPrefix(pgErr.Code, "22") { // data exception: a value out of range and the like
		return &oes.Error{Code: oes.EINVALID, Message: "a value of the " + subject + " is out of range", Err: err}
	}
	return err
}

// notFound is the error for a subject ("exam 42") that does not exist.
func notFound(subject string) *oes.Error {
	return &oes.Error{Code: oes.ENOTFOUND, Message: subject + " not found"}
}

// translateRemoval is translate for a call that deletes rows: a foreign-key violation there
// means other rows still refer to them, and inUse tells the caller which.
func translateRemoval(err error, subject, inUse string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeForeignKeyViolation {
		return &oes.Error{Code: oes.ECONFLICT, Message: inUse, Err: err}
	}
	return translate(err, subject)
}

// unavailable reports whether err means the database could not be reached or did not answer
// in time, as opposed to refusing the request.
func unavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || pgconn.Timeout(err) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case codeTooManyConnections, codeQueryCanceled, codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08") // connection exception
}
