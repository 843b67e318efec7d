package httpapi_test

import (
	"context"

	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/nettest"
)

type readiness struct {
	Status   string `json:"status"`
	Postgres string `json:"postgres"`
	Redis    string `json:"redis"`
}

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("healthz200", func(t *testing.T) {
		require.Equal(t, 200, do(t, b.api, call{method: "GET", path: "/healthz"}).Code)
	})
	t.Run("readyz200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/readyz"})
		require.Equal(t, 200, rec.Code)
		require.Equal(t, readiness{"ready", "up", "up"}, decode[readiness](t, rec))
	})
	t.Run("readyz200WithRedisDown", func(t *testing.T) {
		h := b.newAPI(t, b.pool, newCache(t, "redis://"+nettest.FreeAddr(t)+"/0", b.ns), b.queue)
		rec := do(t, h, call{method: "GET", path: "/readyz"})
		require.Equal(t, 200, rec.Code, "a Redis outage must not take replicas out of the load balancer")
		require.Equal(t, readiness{"ready", "up", "down"}, decode[readiness](t, rec))
	})
}

func TestPostgresDown(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://oes@"+nettest.FreeAddr(t)+"/oes?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b := setup(t)
	h := b.newAPI(t, pool, b.cache, b.queue)

	t.Run("readyz503", func(t *testing.T) {
		rec := do(t, h, call{method: "GET", path: "/readyz"})
		require.Equal(t, 503, rec.Code)
		require.Equal(t, "down", decode[readiness](t, rec).Postgres)
	})
	t.Run("list503", func(t *testing.T) {
		requireError(t, do(t, h, call{method: "GET", path: "/api/v1/exams"}), 503, oes.EUNAVAILABLE, "")
	})
	t.Run("get503", func(t *testing.T) {
		requireError(t, do(t, h, call{method: "GET", path: "/api/v1/exams/1/questions"}), 503, oes.EUNAVAILABLE, "")
	})
	t.Run("create503", func(t *testing.T) {
		rec := do(t, h, call{method: "POST", path: "/api/v1/exams", admin: true, body: map[string]any{"title": "x", "duration_minutes": 5}})
		requireError(t, rec, 503, oes.EUNAVAILABLE, "")
	})
}

func TestRedisDownReadsStillSucceed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	createQuestion(t, b.api, e.ID, "Still here?")
	h := b.newAPI(t, b.pool, newCache(t, "redis://"+nettest.FreeAddr(t)+"/0", b.ns), b.queue)

	require.Equal(t, "Still here?", getQuestions(t, h, e.ID).Questions[0].Text)
	rec := do(t, h, call{method: "PATCH", path: "/api/v1/exams/" + itoa(e.ID), admin: true, body: map[string]any{"title": "Renamed"}})
	require.Equal(t, 200, rec.Code, "writes succeed; invalidation failures are logged")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("unknownRoute404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/nothing"}), 404, oes.ENOTFOUND, "")
	})
	t.Run("wrongMethod405", func(t *testing.T) {
		rec := do(t, b.api, call{method: "PUT", path: "/api/v1/exams"})
		require.Equal(t, 405, rec.Code)
		require.Equal(t, "method_not_allowed", decode[errorResponse](t, rec).Error.Code)
	})
	t.Run("requestIDKept", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/healthz", header: map[string]string{"X-Request-ID": "abc-123"}})
		require.Equal(t, "abc-123", rec.Header().Get("X-Request-ID"))
	})
	t.Run("requestIDMinted", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/healthz"})
		require.Len(t, rec.Header().Get("X-Request-ID"), 24)
	})
	t.Run("cacheStats200", func(t *testing.T) {
		do(t, b.api, call{method: "GET", path: "/api/v1/exams"})
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/cache/stats", admin: true})
		require.Equal(t, 200, rec.Code)
		require.Contains(t, rec.Body.String(), `"all_exams"`)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
