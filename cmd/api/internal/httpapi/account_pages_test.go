package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/oes"
)

// postForm submits form to path as a browser submits an HTML form.
func postForm(t *testing.T, h http.Handler, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, call{method: http.MethodPost, path: path, body: form.Encode(),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
}

// requirePage checks that rec is an account page with status, showing every one of want, and
// sent with the pages' headers.
func requirePage(t *testing.T, rec *httptest.ResponseRecorder, status int, want ...string) {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"), "a page may hold a token")
	require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
	csp := rec.Header().Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.NotContains(t, rec.Body.String(), "<script", "the pages work without scripts")
	for _, w := range want {
		require.Contains(t, rec.Body.String(), w)
	}
}

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]*)"`)

func TestVerifyPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	register(t, b, "ann@example.org", "Ann", "correct horse")
	link := emailedLink(t, onlyEmailTo(t, b, "ann@example.org").Message, httpapi.VerifyPagePath)
	token := strings.TrimPrefix(link, httpapi.VerifyPagePath+"?token=")

	t.Run("get200ShowsTheButtonAndSpendsNothing", func(t *testing.T) {
		for range 2 { // a mail scanner, then the recipient
			rec := do(t, b.api, call{method: http.MethodGet, path: link})
			requirePage(t, rec, http.StatusOK, "Verify my address", `action="/verify"`)
			require.Equal(t, token, hiddenToken.FindStringSubmatch(rec.Body.String())[1])
		}
		requireError(t, login(t, b, "ann@example.org", "correct horse"), http.StatusForbidden, oes.EEMAILNOTVERIFIED, "")
	})
	t.Run("post200Verifies", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.VerifyPagePath, url.Values{"token": {token}})
		requirePage(t, rec, http.StatusOK, "Your email address is verified", "You can sign in now.")
		require.Equal(t, http.StatusOK, login(t, b, "ann@example.org", "correct horse").Code)
	})
	t.Run("get400Used", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: link})
		requirePage(t, rec, http.StatusBadRequest, "This link has already been used.", `action="/verify/resend"`)
		require.NotContains(t, rec.Body.String(), "Verify my address")
	})
	t.Run("post400Used", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.VerifyPagePath, url.Values{"token": {token}})
		requirePage(t, rec, http.StatusBadRequest, "This link has already been used.")
	})
	t.Run("get400Expired", func(t *testing.T) {
		register(t, b, "late@example.org", "Late", "correct horse")
		late := emailedLink(t, onlyEmailTo(t, b, "late@example.org").Message, httpapi.VerifyPagePath)
		b.clock.advance(24*time.Hour + time.Minute)
		t.Cleanup(func() { b.clock.advance(-24*time.Hour - time.Minute) })
		rec := do(t, b.api, call{method: http.MethodGet, path: late})
		requirePage(t, rec, http.StatusBadRequest, "This link has expired: ask for a new one.", "Send a new verification email")
	})
	for name, path := range map[string]string{
		"get400Garbage":         httpapi.VerifyPagePath + "?token=" + url.QueryEscape(`<b>"x"</b>`),
		"get400UnknownToken":    httpapi.VerifyPagePath + "?token=" + strings.Repeat("A", 43),
		"get400AResetTokenHere": httpapi.VerifyPagePath + "?token=" + requestResetToken(t, b, b.admin.Email),
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(t, b.api, call{method: http.MethodGet, path: path})
			requirePage(t, rec, http.StatusBadRequest, "This link is not valid")
			require.NotContains(t, rec.Body.String(), "<b>", "nothing of the request is written unescaped")
		})
	}
	t.Run("get200WithoutAToken", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.VerifyPagePath})
		requirePage(t, rec, http.StatusOK, `action="/verify/resend"`)
	})
}

// requestResetToken asks for a password reset for email through the API and returns the
// emailed token.
func requestResetToken(t *testing.T, b bundle, email string) string {
	t.Helper()
	rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.ResetPath, body: map[string]string{"email": email}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	return resetToken(t, onlyEmailTo(t, b, email).Message)
}

func TestVerifyPageResend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	register(t, b, "ann@example.org", "Ann", "correct horse")
	first := emailedLink(t, onlyEmailTo(t, b, "ann@example.org").Message, httpapi.VerifyPagePath)
	const sent = "If the account exists and is unverified, a new email is on its way"

	t.Run("resend200SendsANewLink", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.VerifyResendPagePath, url.Values{"email": {"ann@example.org"}})
		requirePage(t, rec, http.StatusOK, sent)
		second := emailedLink(t, onlyEmailTo(t, b, "ann@example.org").Message, httpapi.VerifyPagePath)
		require.NotEqual(t, first, second)
		requirePage(t, do(t, b.api, call{method: http.MethodGet, path: first}), http.StatusBadRequest, "replaced by a newer one")
		token := strings.TrimPrefix(second, httpapi.VerifyPagePath+"?token=")
		requirePage(t, postForm(t, b.api, httpapi.VerifyPagePath, url.Values{"token": {token}}), http.StatusOK, "verified")
	})
	for name, email := range map[string]string{"resend200Unknown": "nobody@example.org", "resend200Verified": b.student.Email} {
		t.Run(name, func(t *testing.T) {
			rec := postForm(t, b.api, httpapi.VerifyResendPagePath, url.Values{"email": {email}})
			requirePage(t, rec, http.StatusOK, sent)
			require.Empty(t, emailsTo(t, b, email), "the same answer, and no email")
		})
	}
	t.Run("resend400NotAnAddress", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.VerifyResendPagePath, url.Values{"email": {"not-an-address"}})
		requirePage(t, rec, http.StatusBadRequest, "Email address is not a valid email address.", `value="not-an-address"`)
	})
}

func TestResetPasswordPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := requestResetToken(t, b, b.student.Email)
	link := httpapi.ResetPagePath + "?token=" + token

	t.Run("get200ShowsTheFormAndSpendsNothing", func(t *testing.T) {
		for range 2 {
			rec := do(t, b.api, call{method: http.MethodGet, path: link})
			requirePage(t, rec, http.StatusOK, "Choose a new password", `name="password"`, `action="/reset-password"`)
			require.Equal(t, token, hiddenToken.FindStringSubmatch(rec.Body.String())[1])
		}
		require.Equal(t, http.StatusOK, login(t, b, b.student.Email, studentPassword).Code, "the password is as it was")
	})
	t.Run("post400ShortPassword", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetPagePath, url.Values{"token": {token}, "password": {"short"}})
		requirePage(t, rec, http.StatusBadRequest, "The password must be at least 8 characters.", `name="password"`)
		require.Equal(t, token, hiddenToken.FindStringSubmatch(rec.Body.String())[1], "the form keeps the token to try again")
	})
	t.Run("post200SetsThePassword", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetPagePath, url.Values{"token": {token}, "password": {"a-new-password"}})
		requirePage(t, rec, http.StatusOK, "Your password is changed")
		require.Equal(t, http.StatusOK, login(t, b, b.student.Email, "a-new-password").Code)
		requireError(t, login(t, b, b.student.Email, studentPassword), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("post400Used", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetPagePath, url.Values{"token": {token}, "password": {"another-password"}})
		requirePage(t, rec, http.StatusBadRequest, "This link has already been used. Your password has not changed.")
		require.Equal(t, http.StatusOK, login(t, b, b.student.Email, "a-new-password").Code)
	})
	t.Run("get400Used", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: link})
		requirePage(t, rec, http.StatusBadRequest, "This link has already been used.", `action="/reset-password/request"`)
		require.NotContains(t, rec.Body.String(), `name="password"`)
	})
	t.Run("get400Expired", func(t *testing.T) {
		expired := requestResetToken(t, b, b.admin.Email)
		b.clock.advance(time.Hour + time.Minute)
		t.Cleanup(func() { b.clock.advance(-time.Hour - time.Minute) })
		rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.ResetPagePath + "?token=" + expired})
		requirePage(t, rec, http.StatusBadRequest, "This link has expired: ask for a new one.")
		rec = postForm(t, b.api, httpapi.ResetPagePath, url.Values{"token": {expired}, "password": {"a-new-password"}})
		requirePage(t, rec, http.StatusBadRequest, "This link has expired")
	})
	t.Run("post400NoToken", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetPagePath, url.Values{"password": {"a-new-password"}})
		requirePage(t, rec, http.StatusBadRequest, "This link is required.")
	})
	t.Run("get200WithoutATokenAsksForTheEmail", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.ResetPagePath})
		requirePage(t, rec, http.StatusOK, "Reset your password", `action="/reset-password/request"`)
	})
	t.Run("request200SendsALink", func(t *testing.T) {
		u := createAccount(t, b.store, "forgetful@example.org", "some-password", oes.RoleStudent, true)
		rec := postForm(t, b.api, httpapi.ResetRequestPagePath, url.Values{"email": {u.Email}})
		requirePage(t, rec, http.StatusOK, "If an account uses this email, a password-reset email is on its way.")
		resetToken(t, onlyEmailTo(t, b, u.Email).Message)
	})
	t.Run("request200Unknown", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetRequestPagePath, url.Values{"email": {"nobody@example.org"}})
		requirePage(t, rec, http.StatusOK, "If an account uses this email")
	})
	t.Run("request400NotAnAddress", func(t *testing.T) {
		rec := postForm(t, b.api, httpapi.ResetRequestPagePath, url.Values{"email": {""}})
		requirePage(t, rec, http.StatusBadRequest, "Email address is required.")
	})
}

// The pages' stylesheet is inline: the policy allows it by its hash, and nothing else.
func TestAccountPagesPolicyAllowsTheirStylesheet(t *testing.T) {
	t.Parallel()
	h := httpapi.NewRouter(httpapi.Deps{Log: discardLog()})
	rec := do(t, h, call{method: http.MethodGet, path: httpapi.VerifyPagePath})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(rec.Body.String())
	require.NotNil(t, m)
	sum := sha256.Sum256([]byte(m[1]))
	require.Equal(t, "default-src 'none'; style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'; "+
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'", rec.Header().Get("Content-Security-Policy"))
}

// The forms count against the same limits as the JSON endpoints, per client and per address
// named in the form.
func TestAccountPagesRateLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 100, AuthEmail: 2, IP: 1000, User: 1000})
	form := url.Values{"email": {"someone@example.org"}}
	for range 2 {
		require.Equal(t, http.StatusOK, postForm(t, api, httpapi.VerifyResendPagePath, form).Code)
	}
	requireError(t, postForm(t, api, httpapi.VerifyResendPagePath, form), http.StatusTooManyRequests, oes.ERATELIMITED, "")
	rec := do(t, api, call{method: http.MethodPost, path: httpapi.ResendPath, body: map[string]string{"email": "someone@example.org"}})
	requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
	require.Equal(t, http.StatusOK, postForm(t, api, httpapi.VerifyResendPagePath, url.Values{"email": {"other@example.org"}}).Code)
}
