package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/oes"
)

// Every answer, error or not, HTML or JSON, carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	calls := []call{
		{method: http.MethodGet, path: "/healthz"},
		{method: http.MethodGet, path: "/api/v1/exams"},
		{method: http.MethodGet, path: "/api/v1/admin/users"},
		{method: http.MethodGet, path: "/api/v1/nothing-here"},
		{method: http.MethodPost, path: "/healthz"},
		{method: http.MethodGet, path: httpapi.VerifyPagePath},
		{method: http.MethodGet, path: "/docs"},
		{method: http.MethodHead, path: "/healthz"},
	}
	t.Run("noHSTSByDefault", func(t *testing.T) {
		for _, c := range calls {
			rec := do(t, b.api, c)
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), "%s %s", c.method, c.path)
			require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"), "%s %s", c.method, c.path)
			require.Empty(t, rec.Header().Get("Strict-Transport-Security"), "%s %s", c.method, c.path)
			require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "%s %s: no CORS unless configured", c.method, c.path)
		}
	})
	t.Run("hstsWhenConfigured", func(t *testing.T) {
		b := b
		b.hsts = 365 * 24 * time.Hour
		api := b.newAPI(t, b.pool, b.cache, b.queue)
		for _, c := range calls {
			rec := do(t, api, c)
			require.Equal(t, "max-age=31536000", rec.Header().Get("Strict-Transport-Security"), "%s %s", c.method, c.path)
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), "%s %s", c.method, c.path)
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const front = "https://app.example.org"
	b.origins = []string{front, "http://localhost:3000"}
	api := b.newAPI(t, b.pool, b.cache, b.queue)
	preflight := func(h http.Handler, origin, path string) *httptest.ResponseRecorder {
		return do(t, h, call{method: http.MethodOptions, path: path, header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,content-type",
		}})
	}

	t.Run("preflight204AllowedOrigin", func(t *testing.T) {
		for _, path := range []string{"/api/v1/attempts/1/answers", "/api/v1/auth/login", "/api/v1/exams"} {
			rec := preflight(api, front, path)
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			require.Empty(t, rec.Body.String())
			h := rec.Header()
			require.Equal(t, front, h.Get("Access-Control-Allow-Origin"))
			for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
				require.Contains(t, h.Get("Access-Control-Allow-Methods"), m)
			}
			for _, hd := range []string{"Authorization", "Content-Type"} {
				require.Contains(t, h.Get("Access-Control-Allow-Headers"), hd)
			}
			require.NotEmpty(t, h.Get("Access-Control-Max-Age"))
			require.Empty(t, h.Get("Access-Control-Allow-Credentials"), "never credentials across origins")
			require.Contains(t, h.Values("Vary"), "Origin")
		}
	})
	t.Run("preflightOtherOriginGetsNoCORS", func(t *testing.T) {
		rec := preflight(api, "https://evil.example.com", "/api/v1/exams")
		require.NotEqual(t, http.StatusNoContent, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Methods"))
		requireError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed", "")
	})
	t.Run("preflightWithoutConfigurationGetsNoCORS", func(t *testing.T) {
		rec := preflight(b.api, front, "/api/v1/exams")
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("get200AllowedOriginReadsTheAnswer", func(t *testing.T) {
		rec := do(t, api, call{method: http.MethodGet, path: "/api/v1/users/me", as: b.studentJWT, header: map[string]string{"Origin": front}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, front, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-ID")
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))
	})
	t.Run("errorsCarryCORSToo", func(t *testing.T) {
		// A front end must be able to read why it was refused.
		rec := do(t, api, call{method: http.MethodGet, path: "/api/v1/users/me", as: "not-a-token", header: map[string]string{"Origin": front}})
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		require.Equal(t, front, rec.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("getOtherOriginGetsNoCORS", func(t *testing.T) {
		rec := do(t, api, call{method: http.MethodGet, path: "/api/v1/exams", header: map[string]string{"Origin": "https://app.example.org.evil.com"}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Values("Vary"), "Origin", "caches keep one answer per origin")
	})
	t.Run("anyOriginWithoutCredentials", func(t *testing.T) {
		b := b
		b.origins = []string{"*"}
		api := b.newAPI(t, b.pool, b.cache, b.queue)
		rec := preflight(api, "https://anywhere.example.net", "/api/v1/exams")
		require.Equal(t, http.StatusNoContent, rec.Code)
		require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))
		rec = do(t, api, call{method: http.MethodGet, path: "/api/v1/exams", header: map[string]string{"Origin": "https://anywhere.example.net"}})
		require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	})
}

// HEAD answers what GET would, without the body, on every GET route; link checkers and
// uptime probes see the verification link and /healthz working.
func TestHEAD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	register(t, b, "ann@example.org", "Ann", "correct horse")
	link := emailedLink(t, onlyEmailTo(t, b, "ann@example.org").Message, httpapi.VerifyPagePath)
	e := createExam(t, b.api, "Probed", true)

	for _, tc := range []struct {
		name, path string
		as         string
		status     int
	}{
		{"head200Healthz", "/healthz", "", http.StatusOK},
		{"head200VerificationLink", link, "", http.StatusOK},
		{"head200ResetPage", httpapi.ResetPagePath, "", http.StatusOK},
		{"head200Exam", "/api/v1/exams/" + itoa(e.ID), "", http.StatusOK},
		{"head200Docs", "/docs", "", http.StatusOK},
		{"head200AdminList", "/api/v1/admin/users?page=2&size=5", b.adminJWT, http.StatusOK},
		{"head401AdminListWithoutToken", "/api/v1/admin/users", "", http.StatusUnauthorized},
		{"head400BadPaging", "/api/v1/admin/users?page=0", b.adminJWT, http.StatusBadRequest},
		{"head404Unknown", "/api/v1/nothing-here", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := do(t, b.api, call{method: http.MethodGet, path: tc.path, as: tc.as})
			require.Equal(t, tc.status, get.Code, get.Body.String())
			head := do(t, b.api, call{method: http.MethodHead, path: tc.path, as: tc.as})
			require.Equal(t, tc.status, head.Code)
			require.Empty(t, head.Body.String(), "HEAD has no body")
			require.Equal(t, get.Header().Get("Content-Type"), head.Header().Get("Content-Type"))
			require.NotEmpty(t, head.Header().Get("X-Request-ID"))
			require.Empty(t, head.Header().Get("Allow"))
		})
	}
	t.Run("headSpendsNoVerificationToken", func(t *testing.T) {
		requireError(t, login(t, b, "ann@example.org", "correct horse"), http.StatusForbidden, oes.EEMAILNOTVERIFIED, "")
		rec := do(t, b.api, call{method: http.MethodGet, path: link})
		requirePage(t, rec, http.StatusOK, "Verify my address")
	})
	t.Run("head405OnAPostOnlyRoute", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodHead, path: httpapi.LoginPath})
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		require.Empty(t, rec.Body.String())
	})
	t.Run("allowNamesHEADWhereGETIs", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodPut, path: "/healthz"})
		requireError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed", "")
		require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	})
	t.Run("overTheWire", func(t *testing.T) {
		srv := httptest.NewServer(b.api)
		t.Cleanup(srv.Close)
		for _, path := range []string{"/healthz", link} {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodHead, srv.URL+path, nil)
			require.NoError(t, err)
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, http.StatusOK, res.StatusCode, path)
			require.Empty(t, body)
			require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
				strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"), res.Header.Get("Content-Type"))
		}
	})
}
