package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// redisCommands returns the commands the Redis at url has run since its statistics were last
// reset, by name, less the health pings and the test's own INFO and CONFIG.
func redisCommands(t *testing.T, url string) map[string]int {
	t.Helper()
	c := redistest.Client(t, url)
	info, err := c.Do(context.Background(), c.B().Info().Section("commandstats").Build()).ToString()
	require.NoError(t, err)
	out := map[string]int{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "ping" || name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.Atoi(calls)
		require.NoError(t, err, line)
		out[name] = n
	}
	return out
}

func total(m map[string]int) (n int, s string) {
	names := make([]string, 0, len(m))
	for k, v := range m {
		n += v
		names = append(names, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(names)
	return n, strings.Join(names, " ")
}

// shippedLimits returns the rate limits as the api ships them, counted in the Redis at url:
// the defaults, but for the general limits ip and user.
func shippedLimits(t testing.TB, url string, ip, user int) httpapi.RateLimits {
	t.Helper()
	limiter, err := ratelimit.New(url, redistest.Namespace(t), discardLog())
	require.NoError(t, err)
	local := ratelimit.NewLocal(limiter, time.Second) // RATE_LIMIT_SYNC_INTERVAL's default
	t.Cleanup(func() { local.Close(); _ = limiter.Close() })
	return httpapi.RateLimits{Limiter: limiter, Local: local, AuthIP: 10, AuthEmail: 5, AuthEmailIP: 2,
		LoginIP: 10, LoginEmailIP: 5, LoginEmail: 20, IP: ip, User: user}
}

// In the shipped configuration (cache with client-side caching, rate limits on, the general
// ones decided in process), a hot read costs Redis nothing: 200 repeated reads, anonymous or
// signed in, cost at most 20 commands, the limits' background sync included.
func TestHotReadsCostAlmostNoRedisCommands(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	b := setup(t)
	c := newCache(t, srv.URL(), b.ns)
	b.limits = shippedLimits(t, srv.URL(), 6000, 600)
	api := b.newAPI(t, b.pool, c, b.queue)
	e := createExam(t, api, "Hot", true)
	createQuestion(t, api, e.ID, "Read often?")
	path := fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)

	ctl := redistest.Client(t, srv.URL())
	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"signed-in", b.studentJWT}} {
		// Warm: the first reads load the entry (and the caller's profile) into Redis and then
		// into the process.
		for range 3 {
			rec := do(t, api, call{method: http.MethodGet, path: path, as: who.token})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		time.Sleep(1200 * time.Millisecond) // a sync of the warm-up's counts
		require.NoError(t, ctl.Do(context.Background(), ctl.B().ConfigResetstat().Build()).Error())
		for range 200 {
			rec := do(t, api, call{method: http.MethodGet, path: path, as: who.token})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		time.Sleep(1200 * time.Millisecond) // the sync of the 200 reads' counts
		n, detail := total(redisCommands(t, srv.URL()))
		t.Logf("200 %s hot reads: %d Redis commands (%s)", who.name, n, detail)
		require.LessOrEqual(t, n, 20, "%s: %s", who.name, detail)
		require.Positive(t, n, "the limits' counts reach Redis")
	}
}

// A replica that could not invalidate while Redis was frozen serves nothing stale once Redis
// runs again, and neither does a replica that never saw the outage.
func TestNothingStaleAfterACacheOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	b := setup(t)
	a := b.newAPI(t, b.pool, newCache(t, srv.URL(), b.ns), b.queue)
	other := b.newAPI(t, b.pool, newCache(t, srv.URL(), b.ns), b.queue)
	kept := createExam(t, a, "Kept", true)
	gone := createExam(t, a, "Withdrawn", true)
	examPath := func(e oes.Exam) string { return fmt.Sprintf("/api/v1/exams/%d", e.ID) }
	for _, api := range []http.Handler{a, other} {
		for range 2 { // load, then copy into the process
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: examPath(kept)}).Code)
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: examPath(gone)}).Code)
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT}).Code)
		}
	}

	srv.Pause()
	frozen := time.Now()
	rec := do(t, a, call{method: http.MethodPatch, path: examPath(kept), admin: true, body: map[string]any{"title": "Kept, renamed"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = do(t, a, call{method: http.MethodPatch, path: examPath(gone), admin: true, body: map[string]any{"published": false}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = do(t, a, call{method: http.MethodPatch, path: httpapi.ProfilePath, as: b.studentJWT, body: map[string]any{"name": "Renamed Student"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	t.Logf("three writes during the outage took %s", time.Since(frozen).Round(time.Millisecond))
	srv.Resume()

	for name, api := range map[string]http.Handler{"A, whose invalidations failed": a, "B, which saw no outage": other} {
		// The first read after Redis is back may still come from memory for as long as the
		// cache takes to notice (it answers from Postgres meanwhile); none may be stale after.
		require.Eventually(t, func() bool {
			e := do(t, api, call{method: http.MethodGet, path: examPath(kept)})
			g := do(t, api, call{method: http.MethodGet, path: examPath(gone)})
			p := do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT})
			return e.Code == http.StatusOK && decode[oes.Exam](t, e).Title == "Kept, renamed" &&
				g.Code == http.StatusNotFound &&
				p.Code == http.StatusOK && decode[oes.User](t, p).Name == "Renamed Student"
		}, 15*time.Second, 50*time.Millisecond, name)
	}
}
