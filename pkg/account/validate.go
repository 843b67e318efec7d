package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oeshq/oes/pkg/oes"
)

// Input limits.
const (
	MinPasswordChars = 8
	// MaxPasswordBytes is bcrypt's limit: it ignores what follows, so a longer password would
	// be accepted with only its first 72 bytes checked.
	MaxPasswordBytes = 72
	MaxNameChars     = 100
	MaxEmailBytes    = 254 // the longest address SMTP can carry
)

// fieldErrors collects what is wrong with an input.
type fieldErrors []oes.FieldError

func (fs *fieldErrors) add(field, msg string) {
	*fs = append(*fs, oes.FieldError{Field: field, Message: msg})
}

func (fs fieldErrors) err() error {
	if len(fs) == 0 {
		return nil
	}
	return oes.Invalid(fs...)
}

// checkEmail reports what is wrong with a bare address such as ann@example.org, or "".
func checkEmail(email string) string {
	switch {
	case email == "":
		return "is required"
	case len(email) > MaxEmailBytes:
		return "must be at most 254 bytes"
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !strings.Contains(email, "@") {
		return "is not a valid email address"
	}
	return ""
}

// CheckName reports what is wrong with a display name, or "": the rule registration and
// profile edits share. Control characters are refused
// because names are written into emails.
func CheckName(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return "is required"
	case n > MaxNameChars:
		return "must be at most 100 characters"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// checkPassword reports what is wrong with a new password, or "".
func checkPassword(pw string) string {
	switch {
	case pw == "":
		return "is required"
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return "must be at least 8 characters"
	case len(pw) > MaxPasswordBytes:
		return "must be at most 72 bytes"
	}
	return ""
}
