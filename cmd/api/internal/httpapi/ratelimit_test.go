package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/ratelimit"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// httptest's requests come from this address; tests name it as the trusted proxy to send
// X-Forwarded-For.
const testRemoteIP = "192.0.2.1"

// limited returns b's api with small limits counted in the Redis at redisURL, under a prefix of
// the test's own.
func limited(t *testing.T, b bundle, redisURL string, limits httpapi.RateLimits, proxies ...string) http.Handler {
	t.Helper()
	l, err := ratelimit.New(redisURL, redistest.Namespace(t), discardLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	limits.Limiter = l
	b.limits, b.proxies = limits, proxies
	return b.newAPI(t, b.pool, b.cache, b.queue)
}

func loginFrom(email, fromIP string) call {
	c := call{method: http.MethodPost, path: httpapi.LoginPath,
		body: map[string]string{"email": email, "password": "wrong-password"}}
	if fromIP != "" {
		c.header = map[string]string{"X-Forwarded-For": fromIP}
	}
	return c
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("login429AfterLimit", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 3, AuthEmail: 100, IP: 1000, User: 1000})
		for i := range 3 {
			rec := do(t, api, loginFrom("nobody"+strconv.Itoa(i)+"@example.org", ""))
			requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		}
		rec := do(t, api, loginFrom("someone@example.org", ""))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
		secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoError(t, err, "Retry-After: %q", rec.Header().Get("Retry-After"))
		require.True(t, secs >= 1 && secs <= 20, "Retry-After %d: one request every 20 s refills a limit of 3/min", secs)

		// X-Forwarded-For from an untrusted peer changes nothing: the client stays 192.0.2.1.
		rec = do(t, api, loginFrom("someone@example.org", "203.0.113.9"))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
	})

	t.Run("login429PerAccountAcrossIPs", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 100, AuthEmail: 2, IP: 1000, User: 1000}, testRemoteIP)
		for i := range 2 {
			rec := do(t, api, loginFrom(b.student.Email, "203.0.113."+strconv.Itoa(i+1)))
			requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		}
		rec := do(t, api, loginFrom(" "+b.student.Email, "203.0.113.50"))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
		require.NotEmpty(t, rec.Header().Get("Retry-After"))

		// Another account from the same addresses is not affected.
		rec = do(t, api, loginFrom(b.admin.Email, "203.0.113.1"))
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})

	t.Run("login401OtherIPUnaffected", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 1, AuthEmail: 100, IP: 1000, User: 1000}, testRemoteIP)
		requireError(t, do(t, api, loginFrom("a@example.org", "198.51.100.1")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		requireError(t, do(t, api, loginFrom("b@example.org", "198.51.100.1")), http.StatusTooManyRequests, oes.ERATELIMITED, "")
		requireError(t, do(t, api, loginFrom("c@example.org", "198.51.100.2")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})

	t.Run("reads200UnderTheGenerousLimit", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 1, AuthEmail: 1, IP: 1000, User: 1000})
		for range 200 {
			rec := do(t, api, call{method: http.MethodGet, path: "/api/v1/exams"})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
	})

	t.Run("profile429PerAccount", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 100, AuthEmail: 100, IP: 1000, User: 2}, testRemoteIP)
		for i := range 2 {
			rec := do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT,
				header: map[string]string{"X-Forwarded-For": "203.0.113." + strconv.Itoa(i+1)}})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		rec := do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT,
			header: map[string]string{"X-Forwarded-For": "203.0.113.99"}})
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
		rec = do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.adminJWT})
		require.Equal(t, http.StatusOK, rec.Code, "another account has its own count")
	})

	t.Run("login401WithRedisDown", func(t *testing.T) {
		srv := redistest.StartServer(t)
		api := limited(t, b, srv.URL(), httpapi.RateLimits{AuthIP: 1, AuthEmail: 1, IP: 1, User: 1})
		srv.Stop()
		for range 5 {
			requireError(t, do(t, api, loginFrom("a@example.org", "")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: "/api/v1/exams"}).Code)
		}
	})
}
