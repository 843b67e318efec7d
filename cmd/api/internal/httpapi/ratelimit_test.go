package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// httptest's requests come from this address; tests name it as the trusted proxy to send
// X-Forwarded-For.
const testRemoteIP = "192.0.2.1"

// limited returns b's api with small limits counted in the Redis at redisURL, under a prefix of
// the test's own, the general ones decided in process as the api ships.
func limited(t *testing.T, b bundle, redisURL string, limits httpapi.RateLimits, proxies ...string) http.Handler {
	t.Helper()
	l, err := ratelimit.New(redisURL, redistest.Namespace(t), discardLog())
	require.NoError(t, err)
	local := ratelimit.NewLocal(l, time.Second)
	t.Cleanup(func() { local.Close(); _ = l.Close() })
	limits.Limiter, limits.Local = l, local
	b.limits, b.proxies = limits, proxies
	return b.newAPI(t, b.pool, b.cache, b.queue)
}

func loginFrom(email, fromIP string) call {
	return signInFrom(httpapi.LoginPath, email, "wrong-password", fromIP)
}

// signInFrom posts the credentials to path (the login or the dashboard sign-in) from fromIP,
// or from testRemoteIP when it is "".
func signInFrom(path, email, password, fromIP string) call {
	c := call{method: http.MethodPost, path: path, body: map[string]string{"email": email, "password": password}}
	if fromIP != "" {
		c.header = map[string]string{"X-Forwarded-For": fromIP}
	}
	return c
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("login429AfterLimit", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{LoginIP: 3, LoginEmailIP: 100, LoginEmail: 100, IP: 1000, User: 1000})
		for i := range 3 {
			rec := do(t, api, loginFrom("nobody"+strconv.Itoa(i)+"@example.org", ""))
			requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		}
		rec := do(t, api, loginFrom("someone@example.org", ""))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
		secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoError(t, err, "Retry-After: %q", rec.Header().Get("Retry-After"))
		require.True(t, secs >= 1 && secs <= 20, "Retry-After %d: one failure every 20 s refills a limit of 3/min", secs)

		// X-Forwarded-For from an untrusted peer changes nothing: the client stays 192.0.2.1.
		rec = do(t, api, loginFrom("someone@example.org", "203.0.113.9"))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
	})

	t.Run("login429PerAccountAcrossIPs", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{LoginIP: 100, LoginEmailIP: 100, LoginEmail: 2, IP: 1000, User: 1000}, testRemoteIP)
		// The owner signs in from home before the attack: that address stays open to them.
		require.Equal(t, http.StatusOK, do(t, api, signInFrom(httpapi.LoginPath, b.student.Email, studentPassword, "198.51.100.20")).Code)
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

		// The owner, from the address they signed in from before, is not kept out; from a new
		// one they wait like anyone else.
		rec = do(t, api, signInFrom(httpapi.LoginPath, b.student.Email, studentPassword, "198.51.100.20"))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rec = do(t, api, signInFrom(httpapi.LoginPath, b.student.Email, studentPassword, "198.51.100.21"))
		requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
	})

	t.Run("login401OtherIPUnaffected", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{LoginIP: 1, LoginEmailIP: 100, LoginEmail: 100, IP: 1000, User: 1000}, testRemoteIP)
		requireError(t, do(t, api, loginFrom("a@example.org", "198.51.100.1")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		requireError(t, do(t, api, loginFrom("b@example.org", "198.51.100.1")), http.StatusTooManyRequests, oes.ERATELIMITED, "")
		requireError(t, do(t, api, loginFrom("c@example.org", "198.51.100.2")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})

	t.Run("reads200UnderTheGenerousLimit", func(t *testing.T) {
		api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 1, AuthEmail: 1, LoginIP: 1, LoginEmailIP: 1, LoginEmail: 1, IP: 1000, User: 1000})
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

	// Without Redis the sign-in limits admit (a wrong password still answers 401, not 429);
	// the general limits, decided in process, still hold.
	t.Run("login401WithRedisDown", func(t *testing.T) {
		srv := redistest.StartServer(t)
		api := limited(t, b, srv.URL(), httpapi.RateLimits{AuthIP: 1, AuthEmail: 1, LoginIP: 1, LoginEmailIP: 1, LoginEmail: 1, IP: 12, User: 12})
		srv.Stop()
		for range 5 {
			requireError(t, do(t, api, loginFrom("a@example.org", "")), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: "/api/v1/exams"}).Code)
		}
		for range 2 {
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: "/api/v1/exams"}).Code)
		}
		requireError(t, do(t, api, call{method: http.MethodGet, path: "/api/v1/exams"}), http.StatusTooManyRequests, oes.ERATELIMITED, "")
	})
}

// The sign-in limits count failures only, so that nobody keeps an account's owner out by
// failing in their name: not from another address, and not on the dashboard's sign-in, which
// shares the counts.
func TestSignInLimitsCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The defaults.
	defaults := httpapi.RateLimits{AuthIP: 10, AuthEmail: 5, AuthEmailIP: 2, LoginIP: 10, LoginEmailIP: 5, LoginEmail: 20, IP: 6000, User: 600}
	const attacker, owner = "203.0.113.7", "198.51.100.7"

	for _, path := range []string{httpapi.LoginPath, httpapi.AdminSessionPath} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			api := limited(t, b, b.redisURL, defaults, testRemoteIP)
			for range 5 {
				rec := do(t, api, signInFrom(path, b.admin.Email, "wrong-password", attacker))
				requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
			}
			rec := do(t, api, signInFrom(path, b.admin.Email, "wrong-password", attacker))
			requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")
			rec = do(t, api, signInFrom(path, b.admin.Email, adminPassword, attacker))
			// The attacker's address is refused even the right password.
			requireError(t, rec, http.StatusTooManyRequests, oes.ERATELIMITED, "")

			rec = do(t, api, signInFrom(path, b.admin.Email, adminPassword, owner))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		})
	}

	t.Run("login200RightPasswordsDoNotCount", func(t *testing.T) {
		t.Parallel()
		api := limited(t, b, b.redisURL, httpapi.RateLimits{LoginIP: 2, LoginEmailIP: 2, LoginEmail: 2, IP: 1000, User: 1000}, testRemoteIP)
		for range 10 {
			rec := do(t, api, signInFrom(httpapi.LoginPath, b.student.Email, studentPassword, owner))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		// A mistake, then the right password: the success empties the count of the mistakes.
		requireError(t, do(t, api, loginFrom(b.student.Email, owner)), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		require.Equal(t, http.StatusOK, do(t, api, signInFrom(httpapi.LoginPath, b.student.Email, studentPassword, owner)).Code)
		requireError(t, do(t, api, loginFrom(b.student.Email, owner)), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
}

// One client cannot use up the emails an address may be sent: the address's owner, from
// another client, still gets theirs.
func TestResetAndResendLimitsPerClientAndAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{httpapi.ResetPath, httpapi.ResendPath} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			api := limited(t, b, b.redisURL, httpapi.RateLimits{AuthIP: 100, AuthEmail: 3, AuthEmailIP: 2, IP: 1000, User: 1000}, testRemoteIP)
			ask := func(fromIP string) call {
				return call{method: http.MethodPost, path: path, body: map[string]string{"email": b.student.Email},
					header: map[string]string{"X-Forwarded-For": fromIP}}
			}
			for range 2 {
				require.Equal(t, http.StatusAccepted, do(t, api, ask("203.0.113.7")).Code)
			}
			requireError(t, do(t, api, ask("203.0.113.7")), http.StatusTooManyRequests, oes.ERATELIMITED, "")
			require.Equal(t, http.StatusAccepted, do(t, api, ask("198.51.100.7")).Code, "the owner's request")
			requireError(t, do(t, api, ask("198.51.100.8")), http.StatusTooManyRequests, oes.ERATELIMITED, "") // the address's own limit
		})
	}
}
