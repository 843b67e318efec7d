package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/oes"
)

// Paths of the account endpoints that emails and messages refer to.
const (
	LoginPath        = "/api/v1/auth/login"
	VerifyPath       = "/api/v1/auth/verify"
	ResendPath       = "/api/v1/auth/verify/resend"
	ResetPath        = "/api/v1/auth/password-reset"
	ResetConfirmPath = "/api/v1/auth/password-reset/confirm"
	RegisterPath     = "/api/v1/auth/register"
)

type accounts struct {
	svc *account.Service
}

// registered is the answer to a registration, shaped as the seed design's queued-email result
// with the new account added.
type registered struct {
	Message string   `json:"message"`
	Queued  bool     `json:"queued"`
	JobID   string   `json:"jobId"`
	User    oes.User `json:"user"`
}

// register answers 201 once the account and its verification email are stored together: the
// email is on its way whatever state the queue is in.
func (h accounts) register(c *gin.Context) {
	var in account.RegisterInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	r, err := h.svc.Register(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, registered{
		Message: "account created; follow the link in the email on its way to you to verify your address",
		Queued:  true, JobID: r.JobID, User: r.User,
	})
}

func (h accounts) verify(c *gin.Context) {
	u, err := h.svc.VerifyEmail(c.Request.Context(), c.Query("token"))
	respond(c, http.StatusOK, gin.H{"message": "email address verified; you can sign in now", "user": u}, err)
}

type emailInput struct {
	Email string `json:"email"`
}

// resend and requestReset answer 202 whether or not the address has an account, so that they
// cannot be used to find out which addresses do.
func (h accounts) resend(c *gin.Context) {
	var in emailInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	respond(c, http.StatusAccepted, gin.H{
		"message": "if an account with an unverified address uses this email, a new verification email is on its way",
	}, h.svc.ResendVerification(c.Request.Context(), in.Email))
}

// signIn checks the credentials in the body; when they are wrong it answers the error and
// reports false.
func (h accounts) signIn(c *gin.Context) (account.Session, bool) {
	var in loginInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return account.Session{}, false
	}
	s, err := h.svc.Login(c.Request.Context(), in.Email, in.Password)
	switch oes.ErrorCode(err) {
	case "":
		c.Set(ctxSignIn, signInPassed)
	case oes.EEMAILNOTVERIFIED: // the password was right
		c.Set(ctxSignIn, signInPassed)
	case oes.EUNAUTHORIZED:
		c.Set(ctxSignIn, signInFailed)
	}
	if err != nil {
		writeError(c, err)
		return account.Session{}, false
	}
	return s, true
}

// signIn's outcome, for the sign-in limits (limits.login), under ctxSignIn: failed when the
// address is unknown or the password wrong, passed when the password was right; absent when
// the credentials were not checked (a malformed body, a store failure).
const (
	ctxSignIn    = "oes.sign_in"
	signInFailed = "failed"
	signInPassed = "passed"
)

type loginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h accounts) login(c *gin.Context) {
	s, ok := h.signIn(c)
	if !ok {
		return
	}
	// The body is a credential: no cache may keep it.
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s)
}

func (h accounts) requestReset(c *gin.Context) {
	var in emailInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	respond(c, http.StatusAccepted, gin.H{
		"message": "if an account uses this email, a password-reset email is on its way",
	}, h.svc.RequestPasswordReset(c.Request.Context(), in.Email))
}

func (h accounts) confirmReset(c *gin.Context) {
	var in account.ResetPasswordInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	respond(c, http.StatusOK, gin.H{"message": "password changed; sign in with the new password"},
		h.svc.ResetPassword(c.Request.Context(), in))
}
