package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/nettest"
)

type registeredBody struct {
	Message string   `json:"message"`
	Queued  bool     `json:"queued"`
	JobID   string   `json:"jobId"`
	User    oes.User `json:"user"`
}

type sessionBody struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      oes.User  `json:"user"`
}

func register(t *testing.T, b bundle, email, name, password string) registeredBody {
	t.Helper()
	rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": email, "name": name, "password": password}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[registeredBody](t, rec)
}

func login(t *testing.T, b bundle, email, password string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, b.api, call{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": email, "password": password}})
}

func TestRegister(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("register201", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register",
			body: map[string]string{"email": "Ann@Example.org", "name": "Ann Lee", "password": "correct horse"}})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		r := decode[registeredBody](t, rec)
		require.True(t, r.Queued)
		require.NotEmpty(t, r.Message)
		require.Equal(t, "Ann@Example.org", r.User.Email)
		require.Equal(t, oes.RoleStudent, r.User.Role)
		require.Nil(t, r.User.EmailVerifiedAt)
		require.NotContains(t, rec.Body.String(), "password")

		s := jobStatus(t, b, r.JobID)
		require.Equal(t, account.EmailPriority, s.Priority)
		require.Equal(t, 10, s.Priority)
		require.Equal(t, "critical", s.Lane)
		require.Equal(t, 5, s.AttemptsAllowed)
		require.Equal(t, oes.EmailPending, s.State)
		require.Equal(t, oes.EmailVerify, s.Kind)
		require.Equal(t, "Ann@Example.org", s.Recipient)
		require.Equal(t, r.User.ID, *s.UserID)
		require.Equal(t, templates.VerificationSubject, s.Subject)
		require.Equal(t, 1, counts(t, b).Waiting)

		e := onlyEmailTo(t, b, "Ann@Example.org")
		require.Equal(t, r.JobID, e.ID)
		require.Contains(t, e.Message.HTML, "Hello Ann Lee,")
	})

	t.Run("register409DuplicateIgnoringCase", func(t *testing.T) {
		before := counts(t, b)
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register",
			body: map[string]string{"email": "ann@EXAMPLE.org", "name": "Other Ann", "password": "another password"}})
		requireError(t, rec, http.StatusConflict, oes.ECONFLICT, "")
		require.Equal(t, before, counts(t, b), "nothing is queued")
		require.Len(t, emailsTo(t, b, "ann@EXAMPLE.org"), 1, "the first registration's only")
	})

	valid := map[string]any{"email": "bob@example.org", "name": "Bob", "password": "long enough"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range valid {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"register400MissingEmail", with("email", nil), "email"},
		{"register400BadEmail", with("email", "bob.example.org"), "email"},
		{"register400EmailWithDisplayName", with("email", "Bob <bob@example.org>"), "email"},
		{"register400EmailTooLong", with("email", strings.Repeat("b", 250)+"@example.org"), "email"},
		{"register400EmailHeaderInjection", with("email", "bob@example.org\r\nBcc: eve@example.org"), "email"},
		{"register400MissingName", with("name", nil), "name"},
		{"register400BlankName", with("name", "   "), "name"},
		{"register400NameTooLong", with("name", strings.Repeat("é", 101)), "name"},
		{"register400NameControlCharacter", with("name", "Bob\nBcc: eve"), "name"},
		{"register400MissingPassword", with("password", nil), "password"},
		{"register400ShortPassword", with("password", "seven77"), "password"},
		{"register400ShortMultibytePassword", with("password", "ééééééé"), "password"},
		{"register400PasswordOver72Bytes", with("password", strings.Repeat("p", 73)), "password"},
		{"register400PasswordWrongType", with("password", 12345678), "password"},
		{"register400UnknownField", with("role", "admin"), "role"},
		{"register400NotJSON", "{email:", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counts(t, b)
			rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register", body: tt.body})
			requireError(t, rec, http.StatusBadRequest, oes.EINVALID, tt.field)
			require.Equal(t, before, counts(t, b), "nothing is queued")
		})
	}

	t.Run("register201NameAtTheLimits", func(t *testing.T) {
		r := register(t, b, "cy@example.org", strings.Repeat("é", 100), strings.Repeat("p", 72))
		require.True(t, r.Queued)
		register(t, b, "di@example.org", "D", "ééééééée")
	})
}

// The api writes emails to the outbox and never waits on the queue: with the queue's Redis
// down, a registration's email is on its way all the same (the worker's relay queues it when
// Redis returns).
func TestRegisterWithTheQueueDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	down := queueAt(t, "redis://"+nettest.FreeAddr(t)+"/0")
	api := b.newAPI(t, b.pool, b.cache, down)

	rec := do(t, api, call{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "ann@example.org", "name": "Ann", "password": "correct horse"}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	r := decode[registeredBody](t, rec)
	require.True(t, r.Queued)
	require.Equal(t, oes.EmailPending, jobStatus(t, b, r.JobID).State)
	link := verificationLink(t, onlyEmailTo(t, b, "ann@example.org").Message)
	require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: link}).Code)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := register(t, b, "ann@example.org", "Ann", "correct horse")
	link := verificationLink(t, onlyEmailTo(t, b, "ann@example.org").Message)
	require.True(t, strings.HasPrefix(link, "/api/v1/auth/verify?token="), link)
	token := strings.TrimPrefix(link, "/api/v1/auth/verify?token=")
	require.Len(t, token, 43, "32 random bytes, base64url")

	t.Run("verify200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: link})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		body := decode[struct {
			User oes.User `json:"user"`
		}](t, rec)
		require.Equal(t, r.User.ID, body.User.ID)
		require.NotNil(t, body.User.EmailVerifiedAt)
		require.Equal(t, http.StatusOK, login(t, b, "ann@example.org", "correct horse").Code)
	})
	t.Run("verify400Reused", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: link})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "token")
		require.Contains(t, rec.Body.String(), "already been used")
	})
	t.Run("verify400Expired", func(t *testing.T) {
		register(t, b, "late@example.org", "Late", "correct horse")
		late := verificationLink(t, onlyEmailTo(t, b, "late@example.org").Message)
		b.clock.advance(24*time.Hour + time.Minute)
		t.Cleanup(func() { b.clock.advance(-24*time.Hour - time.Minute) })
		rec := do(t, b.api, call{method: "GET", path: late})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "token")
		require.Contains(t, rec.Body.String(), "expired")
		requireError(t, login(t, b, "late@example.org", "correct horse"), http.StatusForbidden, oes.EEMAILNOTVERIFIED, "")
	})
	t.Run("verify400ReplacedByResend", func(t *testing.T) {
		register(t, b, "twice@example.org", "Twice", "correct horse")
		first := verificationLink(t, onlyEmailTo(t, b, "twice@example.org").Message)
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/verify/resend", body: map[string]string{"email": "twice@example.org"}})
		require.Equal(t, http.StatusAccepted, rec.Code)
		requireError(t, do(t, b.api, call{method: "GET", path: first}), http.StatusBadRequest, oes.EINVALID, "token")

		// The first email, whose link no longer works, is cancelled: only the new one is sent.
		second := verificationLink(t, onlyEmailTo(t, b, "twice@example.org").Message)
		require.NotEqual(t, first, second)
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: second}).Code)
	})
	for name, path := range map[string]string{
		"verify400Garbage":      "/api/v1/auth/verify?token=not-a-token",
		"verify400Missing":      "/api/v1/auth/verify",
		"verify400UnknownToken": "/api/v1/auth/verify?token=" + strings.Repeat("A", 43),
		"verify400Truncated":    "/api/v1/auth/verify?token=" + token[:42],
	} {
		t.Run(name, func(t *testing.T) {
			requireError(t, do(t, b.api, call{method: "GET", path: path}), http.StatusBadRequest, oes.EINVALID, "token")
		})
	}
}

func TestResendVerification(t *testing.T) {
	t.Parallel()
	b := setup(t)
	register(t, b, "new@example.org", "New", "correct horse")

	// A resend replaces the unsent email before it: one waits, the other is cancelled.
	tests := []struct {
		name     string
		email    string
		replaces int
	}{
		{"resend202Unknown", "nobody@example.org", 0},
		{"resend202Verified", b.student.Email, 0},
		{"resend202Unverified", "new@example.org", 1},
		{"resend202UnverifiedIgnoringCase", "NEW@example.org", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counts(t, b)
			rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/verify/resend", body: map[string]string{"email": tt.email}})
			require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
			after := counts(t, b)
			require.Equal(t, before.Waiting, after.Waiting)
			require.Equal(t, before.Cancelled+tt.replaces, after.Cancelled)
		})
	}
	t.Run("resend202SameAnswerForEveryone", func(t *testing.T) {
		var bodies []string
		for _, email := range []string{"nobody@example.org", b.student.Email, "new@example.org"} {
			bodies = append(bodies, do(t, b.api, call{method: "POST", path: "/api/v1/auth/verify/resend",
				body: map[string]string{"email": email}}).Body.String())
		}
		require.Equal(t, bodies[0], bodies[1])
		require.Equal(t, bodies[0], bodies[2])
	})
	t.Run("resend400BadEmail", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/verify/resend", body: map[string]string{"email": "nope"}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "email")
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	register(t, b, "new@example.org", "New", "correct horse")

	t.Run("login200ThenAdminEndpoint", func(t *testing.T) {
		rec := login(t, b, "ADMIN@example.org", adminPassword)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		s := decode[sessionBody](t, rec)
		require.Equal(t, b.admin.ID, s.User.ID)
		require.Equal(t, oes.RoleAdmin, s.User.Role)
		require.WithinDuration(t, time.Now().Add(15*time.Minute), s.ExpiresAt, 5*time.Second)
		require.NotContains(t, rec.Body.String(), "password")

		c, err := testTokens.Parse(s.Token)
		require.NoError(t, err)
		require.Equal(t, b.admin.ID, c.UserID)
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email", as: s.Token}).Code)
	})
	t.Run("login200StudentIsNoAdmin", func(t *testing.T) {
		rec := login(t, b, b.student.Email, studentPassword)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		s := decode[sessionBody](t, rec)
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email", as: s.Token}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})

	var unknown, wrong string
	t.Run("login401WrongPassword", func(t *testing.T) {
		rec := login(t, b, b.admin.Email, "not the password")
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		wrong = decode[errorResponse](t, rec).Error.Message
	})
	t.Run("login401UnknownEmail", func(t *testing.T) {
		rec := login(t, b, "nobody@example.org", "not the password")
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		unknown = decode[errorResponse](t, rec).Error.Message
		require.Equal(t, wrong, unknown, "an unknown email and a wrong password read the same")
	})
	t.Run("login401PasswordOver72Bytes", func(t *testing.T) {
		rec := login(t, b, b.admin.Email, adminPassword+strings.Repeat("x", 72))
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("login401UnverifiedWithWrongPassword", func(t *testing.T) {
		requireError(t, login(t, b, "new@example.org", "not the password"), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("login403EmailNotVerified", func(t *testing.T) {
		rec := login(t, b, "new@example.org", "correct horse")
		requireError(t, rec, http.StatusForbidden, oes.EEMAILNOTVERIFIED, "")
		require.Equal(t, "email_not_verified", decode[errorResponse](t, rec).Error.Code)
	})
	t.Run("login400MissingFields", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/login", body: map[string]string{}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "email")
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "password")
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requestReset := func(t *testing.T, email string) {
		t.Helper()
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset", body: map[string]string{"email": email}})
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
	confirm := func(token, password string) *httptest.ResponseRecorder {
		return do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset/confirm",
			body: map[string]string{"token": token, "password": password}})
	}

	t.Run("reset202Unknown", func(t *testing.T) {
		before := counts(t, b)
		requestReset(t, "nobody@example.org")
		require.Equal(t, before, counts(t, b), "nothing is queued")
	})

	var token string
	t.Run("reset202Known", func(t *testing.T) {
		requestReset(t, "STUDENT@example.org")
		e := onlyEmailTo(t, b, b.student.Email)
		s := jobStatus(t, b, e.ID)
		require.Equal(t, oes.EmailReset, s.Kind)
		require.Equal(t, 10, s.Priority)
		require.Equal(t, 5, s.AttemptsAllowed)
		require.Equal(t, templates.PasswordResetSubject, s.Subject)
		require.Equal(t, b.student.Email, s.Recipient)
		require.Contains(t, e.Message.Text, testBaseURL+"/reset-password?token=", "the link opens the reset page")
		token = resetToken(t, e.Message)
	})
	t.Run("confirm400ShortPassword", func(t *testing.T) {
		requireError(t, confirm(token, "short"), http.StatusBadRequest, oes.EINVALID, "password")
	})
	t.Run("confirm200", func(t *testing.T) {
		rec := confirm(token, "a brand new password")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		requireError(t, login(t, b, b.student.Email, studentPassword), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		require.Equal(t, http.StatusOK, login(t, b, b.student.Email, "a brand new password").Code)
	})
	t.Run("confirm400Reused", func(t *testing.T) {
		rec := confirm(token, "yet another password")
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "token")
		require.Contains(t, rec.Body.String(), "already been used")
		require.Equal(t, http.StatusOK, login(t, b, b.student.Email, "a brand new password").Code)
	})
	t.Run("confirm400Expired", func(t *testing.T) {
		requestReset(t, b.admin.Email)
		expired := resetToken(t, onlyEmailTo(t, b, b.admin.Email).Message)
		b.clock.advance(time.Hour + time.Minute)
		t.Cleanup(func() { b.clock.advance(-time.Hour - time.Minute) })
		rec := confirm(expired, "a brand new password")
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "token")
		require.Contains(t, rec.Body.String(), "expired")
	})
	t.Run("confirm400ReplacedByALaterRequest", func(t *testing.T) {
		u := createAccount(t, b.store, "forgetful@example.org", "old password", oes.RoleStudent, false)
		requestReset(t, u.Email)
		firstEmail := onlyEmailTo(t, b, u.Email)
		first := resetToken(t, firstEmail.Message)
		requestReset(t, u.Email)
		requireError(t, confirm(first, "a brand new password"), http.StatusBadRequest, oes.EINVALID, "token")

		// The first email would carry a dead token: it is cancelled, and only the second goes.
		cancelled := jobStatus(t, b, firstEmail.ID)
		require.Equal(t, oes.EmailCancelled, cancelled.State)
		require.Contains(t, cancelled.LastError, "superseded")
		second := resetToken(t, onlyEmailTo(t, b, u.Email).Message)
		require.Equal(t, http.StatusOK, confirm(second, "a brand new password").Code)
		require.Equal(t, http.StatusOK, login(t, b, u.Email, "a brand new password").Code,
			"the reset proved the address, so the account counts as verified")
	})
	t.Run("confirm400VerificationTokenIsNoResetToken", func(t *testing.T) {
		register(t, b, "mixed@example.org", "Mixed", "correct horse")
		link := verificationLink(t, onlyEmailTo(t, b, "mixed@example.org").Message)
		verifyToken := strings.TrimPrefix(link, "/api/v1/auth/verify?token=")
		requireError(t, confirm(verifyToken, "a brand new password"), http.StatusBadRequest, oes.EINVALID, "token")
	})
	t.Run("confirm400Garbage", func(t *testing.T) {
		rec := confirm("garbage", "x")
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "token")
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "password")
	})
	t.Run("reset400BadEmail", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset", body: map[string]string{"email": ""}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "email")
	})
}
