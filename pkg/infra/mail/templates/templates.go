// Package templates renders the emails the system sends. The templates are embedded in the
// binary; each email has an HTML part, rendered with html/template so that every value is
// escaped for where it appears, and a plain-text part rendered with text/template.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	texttemplate "text/template"
	"time"

	"github.com/oeshq/oes/pkg/infra/mail"
)

//go:embed files/*.tmpl
var files embed.FS

// Subjects of the emails.
const (
	VerificationSubject  = "Verify your email address"
	PasswordResetSubject = "Reset your password"
)

// Verification is what the address-verification email says.
type Verification struct {
	Name      string        // the account holder's name, as registered
	VerifyURL string        // the link that verifies the address, token included
	ExpiresIn time.Duration // how long the link works
}

// PasswordReset is what the password-reset email says.
type PasswordReset struct {
	Name      string        // the account holder's name, as registered
	ResetURL  string        // the link to the page that sets a new password, token included
	ExpiresIn time.Duration // how long the link works
}

var funcs = map[string]any{"duration": humanDuration}

var (
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(files, "files/*.html.tmpl"))
	textTemplates = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(files, "files/*.txt.tmpl"))
)

// VerificationEmail returns the address-verification email to the address to.
func VerificationEmail(to string, v Verification) (mail.Message, error) {
	return render(to, VerificationSubject, "verify", v)
}

// PasswordResetEmail returns the password-reset email to the address to.
func PasswordResetEmail(to string, r PasswordReset) (mail.Message, error) {
	return render(to, PasswordResetSubject, "reset", r)
}

func render(to, subject, name string, data any) (mail.Message, error) {
	var html, text bytes.Buffer
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html.tmpl", data); err != nil {
		return mail.Message{}, fmt.Errorf("templates: render %s (html): %w", name, err)
	}
	if err := textTemplates.ExecuteTemplate(&text, name+".txt.tmpl", data); err != nil {
		return mail.Message{}, fmt.Errorf("templates: render %s (text): %w", name, err)
	}
	return mail.Message{To: []string{to}, Subject: subject, HTML: html.String(), Text: text.String()}, nil
}

// humanDuration writes d for a reader: "24 hours", "1 hour", "90 minutes".
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}

func plural(n int64, unit string) string {
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
