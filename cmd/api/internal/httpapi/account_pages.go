package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/oes"
)

// Paths of the pages the account emails link to (under LINK_BASE_URL, which is this api by
// default), and of the forms on them. They are plain HTML forms: they work without scripts.
//
// Opening a link spends nothing. Mail scanners and link previews fetch the links in emails
// before the recipient does, so a GET only looks at the token (is it valid, used, expired?)
// and shows either a button (verification) or the new-password form (reset), which POST the
// token; only the POST spends it. A scanner that followed the verification link would
// otherwise verify an address nobody read, and one that opened the reset link would leave
// its recipient a dead link.
//
// The forms need no CSRF token of their own: they carry no cookie and act on no session. The
// emailed token in the form is the credential, and another site cannot know it; a site that
// posts a token it was sent itself acts on its own account only, and signs nobody in. The
// forms that ask for an email send nothing but a link to that address, which anyone may ask
// for through the API as well; the auth rate limits bound them per address and per client.
const (
	VerifyPagePath       = "/verify"
	VerifyResendPagePath = "/verify/resend"
	ResetPagePath        = "/reset-password"
	ResetRequestPagePath = "/reset-password/request"
)

//go:embed account_pages.html
var accountPagesHTML string

//go:embed account_pages.css
var accountPagesCSS string

var accountPageTemplate = template.Must(template.New("account").Parse(accountPagesHTML))

// accountPagesCSP lets the pages use their own stylesheet, which is inline and named by its
// hash, and post their forms to this origin; nothing else: no script, image, frame or font.
var accountPagesCSP = func() string {
	sum := sha256.Sum256([]byte(accountPagesCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// accountPage is what one page says. Lines are paragraphs; each form is shown when set.
type accountPage struct {
	Heading       string
	Done, Problem bool
	Lines         []string
	Confirm       *confirmForm
	Password      *passwordForm
	Email         *emailForm

	CSS template.CSS
}

// confirmForm is a button that posts the emailed token.
type confirmForm struct{ Action, Token, Button string }

// passwordForm asks for a new password to set with the emailed token.
type passwordForm struct{ Action, Token, Error string }

// emailForm asks for an email address to send a new link to.
type emailForm struct{ Heading, Action, Button, Value, Error string }

// accountPages serves the pages of the emailed links through the same account service as the
// JSON endpoints.
type accountPages struct {
	svc *account.Service
}

func resendForm(value, problem string) *emailForm {
	return &emailForm{Heading: "Need a new link?", Action: VerifyResendPagePath, Button: "Send a new verification email",
		Value: value, Error: problem}
}

func resetRequestForm(value, problem string) *emailForm {
	return &emailForm{Heading: "Need a new link?", Action: ResetRequestPagePath, Button: "Send a password-reset email",
		Value: value, Error: problem}
}

// verifyForm shows the verification link's state: a button that verifies while the link
// works, or why it does not with a form asking for a new one.
func (h accountPages) verifyForm(c *gin.Context) {
	token := c.Query("token")
	if token == "" {
		renderPage(c, http.StatusOK, accountPage{
			Heading: "Verify your email address",
			Lines:   []string{"Open the link in the verification email to verify your address, or ask for a new email."},
			Email:   resendForm("", ""),
		})
		return
	}
	err := h.svc.CheckVerification(c.Request.Context(), token)
	if err == nil {
		renderPage(c, http.StatusOK, accountPage{
			Heading: "Verify your email address",
			Lines:   []string{"Confirm that this email address is yours to finish setting up your account."},
			Confirm: &confirmForm{Action: VerifyPagePath, Token: token, Button: "Verify my address"},
		})
		return
	}
	h.brokenVerifyLink(c, err)
}

// verify spends the verification token the button posts.
func (h accountPages) verify(c *gin.Context) {
	_, err := h.svc.VerifyEmail(c.Request.Context(), c.PostForm("token"))
	if err != nil {
		h.brokenVerifyLink(c, err)
		return
	}
	renderPage(c, http.StatusOK, accountPage{
		Heading: "Your email address is verified",
		Done:    true,
		Lines:   []string{"You can sign in now."},
	})
}

// brokenVerifyLink explains why a verification link does not work and offers a new one.
func (h accountPages) brokenVerifyLink(c *gin.Context, err error) {
	msg, ok := fieldProblem(err, "token")
	if !ok {
		renderFailure(c, err)
		return
	}
	renderPage(c, statusOf(oes.EINVALID), accountPage{
		Heading: "This verification link does not work",
		Problem: true,
		Lines: []string{"This link " + msg + ".",
			"If you already verified your address, you can sign in."},
		Email: resendForm("", ""),
	})
}

// resend asks for a new verification email; like the JSON endpoint, it says the same whether
// or not the address has an account to verify.
func (h accountPages) resend(c *gin.Context) {
	email := c.PostForm("email")
	err := h.svc.ResendVerification(c.Request.Context(), email)
	if msg, ok := fieldProblem(err, "email"); ok {
		renderPage(c, statusOf(oes.EINVALID), accountPage{
			Heading: "Send a new verification email", Email: resendForm(echoedEmail(email), "Email address "+msg+"."),
		})
		return
	}
	if err != nil {
		renderFailure(c, err)
		return
	}
	renderPage(c, http.StatusOK, accountPage{
		Heading: "Check your email",
		Done:    true,
		Lines: []string{"If the account exists and is unverified, a new email is on its way with a link that verifies it.",
			"Only the newest link works."},
	})
}

// resetForm shows the new-password form while the reset link works, or why it does not with
// a form asking for a new one. Without a token it is the form that asks for a reset email.
func (h accountPages) resetForm(c *gin.Context) {
	token := c.Query("token")
	if token == "" {
		renderPage(c, http.StatusOK, accountPage{
			Heading: "Reset your password",
			Lines:   []string{"Enter the email address of your account: a link to choose a new password will be sent to it."},
			Email:   &emailForm{Action: ResetRequestPagePath, Button: "Send a password-reset email"},
		})
		return
	}
	if err := h.svc.CheckReset(c.Request.Context(), token); err != nil {
		h.brokenResetLink(c, err)
		return
	}
	renderPage(c, http.StatusOK, accountPage{
		Heading:  "Choose a new password",
		Password: &passwordForm{Action: ResetPagePath, Token: token},
	})
}

// reset sets the new password with the token the form posts, as
// POST /api/v1/auth/password-reset/confirm does.
func (h accountPages) reset(c *gin.Context) {
	in := account.ResetPasswordInput{Token: c.PostForm("token"), Password: c.PostForm("password")}
	err := h.svc.ResetPassword(c.Request.Context(), in)
	if _, broken := fieldProblem(err, "token"); broken {
		h.brokenResetLink(c, err)
		return
	}
	if msg, ok := fieldProblem(err, "password"); ok {
		renderPage(c, statusOf(oes.EINVALID), accountPage{
			Heading:  "Choose a new password",
			Password: &passwordForm{Action: ResetPagePath, Token: in.Token, Error: "The password " + msg + "."},
		})
		return
	}
	if err != nil {
		renderFailure(c, err)
		return
	}
	renderPage(c, http.StatusOK, accountPage{
		Heading: "Your password is changed",
		Done:    true,
		Lines:   []string{"Sign in with your new password. Sessions opened before the change have ended."},
	})
}

// brokenResetLink explains why a reset link does not work and offers a new one.
func (h accountPages) brokenResetLink(c *gin.Context, err error) {
	msg, ok := fieldProblem(err, "token")
	if !ok {
		renderFailure(c, err)
		return
	}
	renderPage(c, statusOf(oes.EINVALID), accountPage{
		Heading: "This password-reset link does not work",
		Problem: true,
		Lines:   []string{"This link " + msg + ". Your password has not changed."},
		Email:   resetRequestForm("", ""),
	})
}

// requestReset asks for a password-reset email; like the JSON endpoint, it says the same
// whether or not the address has an account.
func (h accountPages) requestReset(c *gin.Context) {
	email := c.PostForm("email")
	err := h.svc.RequestPasswordReset(c.Request.Context(), email)
	if msg, ok := fieldProblem(err, "email"); ok {
		renderPage(c, statusOf(oes.EINVALID), accountPage{
			Heading: "Reset your password", Email: resetRequestForm(echoedEmail(email), "Email address "+msg+"."),
		})
		return
	}
	if err != nil {
		renderFailure(c, err)
		return
	}
	renderPage(c, http.StatusOK, accountPage{
		Heading: "Check your email",
		Done:    true,
		Lines:   []string{"If an account uses this email, a password-reset email is on its way.", "Only the newest link works."},
	})
}

// echoedEmail is the refused address a form is filled in with again, cut to the longest
// address there is, so that a page answering a huge one stays small.
func echoedEmail(email string) string { return truncate(email, account.MaxEmailBytes) }

// fieldProblem returns what an EINVALID err says about field.
func fieldProblem(err error, field string) (string, bool) {
	var e *oes.Error
	if !errors.As(err, &e) || e.Code != oes.EINVALID {
		return "", false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return f.Message, true
		}
	}
	return "", false
}

// renderFailure is writeError for a page: the status and caller-safe message of err, as
// HTML; errors the application does not understand are logged and shown as "internal error".
func renderFailure(c *gin.Context, err error) {
	code := oes.ErrorCode(err)
	status := statusOf(code)
	msg := truncate(oes.ErrorMessage(err), maxMessageBytes)
	if status >= http.StatusInternalServerError {
		logger(c).LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("code", code), slog.Any("err", err))
		if code == oes.EINTERNAL {
			msg = "internal error"
		}
	}
	renderPage(c, status, accountPage{
		Heading: "Something went wrong",
		Problem: true,
		Lines:   []string{capitalize(msg) + ".", "Nothing was changed; try again in a moment."},
	})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// renderPage writes p with the pages' headers: no framing, nothing loaded from anywhere, no
// caching (a page may hold an emailed token) and no Referer.
func renderPage(c *gin.Context, status int, p accountPage) {
	p.CSS = template.CSS(accountPagesCSS)
	var buf bytes.Buffer
	if err := accountPageTemplate.Execute(&buf, p); err != nil {
		logger(c).ErrorContext(c.Request.Context(), "account page failed", "err", err)
		writeError(c, oes.Errorf(oes.EINTERNAL, "internal error"))
		return
	}
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", accountPagesCSP)
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
