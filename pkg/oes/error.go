// Package oes holds the domain types and error codes of the online examination system.
// It depends on nothing else in the project, so every other package may import it.
package oes

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in the API's error writer; a code says what
// kind of failure happened, the message says what a caller can do about it.
const (
	EINVALID      = "invalid"      // the input failed validation; Fields names what
	ENOTFOUND     = "not_found"    // the entity does not exist
	ECONFLICT     = "conflict"     // the write collides with existing data (unique key, state)
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // credentials are valid but not allowed to do this
	ETOOLARGE     = "too_large"    // the request body exceeds the limit
	EUNAVAILABLE  = "unavailable"  // a dependency (Postgres) cannot be reached right now
	EINTERNAL     = "internal"     // anything else; never shown to the caller in detail
)

// EEMAILNOTVERIFIED refuses a sign-in whose password is right while the account's address is
// not verified yet; it is a kind of forbidden that a client can act on (resend the email).
const EEMAILNOTVERIFIED = "email_not_verified"

// Refusals to start an attempt, kinds of conflict a client can tell apart and explain: the exam
// is not open yet, has closed, or the student has used every attempt it allows.
const (
	EEXAMNOTOPEN        = "exam_not_open"
	EEXAMCLOSED         = "exam_closed"
	EATTEMPTSEXHAUSTED  = "attempts_exhausted"
	EQUESTIONSNOTPUBLIC = "questions_not_public" // the exam's questions are read through an attempt
	ENOTACANDIDATE      = "not_a_candidate"      // the exam has candidates and the student is not one
)

// ELASTADMIN refuses a change of role that would leave no admin; it is a kind of conflict
// a client can explain (promote another account first).
const ELASTADMIN = "last_admin"

// ERATELIMITED refuses a request over an abuse limit; the caller may try again later.
const ERATELIMITED = "rate_limited"

// Error is a failure the application understands. Its Message is safe to show to a caller;
// internals (driver messages, SQL) stay in the wrapped error and in logs.
type Error struct {
	Code    string
	Message string
	// Fields lists the input fields that failed validation, by name, with a reason each.
	Fields []FieldError
	// Err is the underlying cause, kept for logs and errors.Is; it is never shown to callers.
	Err error
}

// FieldError names one invalid input field and why it was refused.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error that lists the failing fields.
func Invalid(fields ...FieldError) *Error {
	msg := "the request is invalid"
	if len(fields) == 1 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the *Error's message, or a generic
// text for errors the application does not understand.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
