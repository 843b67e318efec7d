package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/cache"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/store"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

const adminToken = "test-admin-token"

// bundle is one test's API with its own schema and cache namespace.
type bundle struct {
	api      http.Handler
	pool     *pgxpool.Pool
	cache    *cache.Cache
	redisURL string
	ns       string
}

func setup(t *testing.T) bundle {
	t.Helper()
	pool := pgtest.New(t)
	b := bundle{pool: pool, redisURL: redistest.URL(t), ns: redistest.Namespace(t)}
	b.cache = newCache(t, b.redisURL, b.ns)
	b.api = newAPI(pool, b.cache)
	return b
}

// replica returns a second api process's view of the same Postgres schema and Redis
// namespace: its own cache client, so its own in-process cache.
func (b bundle) replica(t *testing.T) http.Handler {
	return newAPI(b.pool, newCache(t, b.redisURL, b.ns))
}

func newCache(t *testing.T, url, ns string) *cache.Cache {
	t.Helper()
	cfg := cache.DefaultConfig()
	cfg.Namespace = ns
	c, err := cache.New(url, cfg, discardLog())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func newAPI(pool *pgxpool.Pool, c *cache.Cache) http.Handler {
	st := store.New(pool)
	return httpapi.NewRouter(httpapi.Deps{
		Log:        discardLog(),
		Exams:      exam.NewService(st, c, discardLog()),
		Cache:      c,
		DB:         st,
		AdminToken: adminToken,
	})
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// call is one request: who sends it, what, and the response it got.
type call struct {
	method, path string
	body         any // string bodies are sent as they are
	admin        bool
	header       map[string]string
}

func do(t *testing.T, h http.Handler, c call) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	switch v := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		require.NoError(t, err)
		body = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(context.Background(), c.method, c.path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorResponse is the API's error shape.
type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body.String())
	return v
}

// requireError checks the status, the error shape, and, when field is set, that the details
// name it. No response may carry SQL or driver text.
func requireError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, field string) {
	t.Helper()
	require.Equal(t, status, rec.Code, "body: %s", rec.Body.String())
	e := decode[errorResponse](t, rec)
	require.Equal(t, code, e.Error.Code)
	require.NotEmpty(t, e.Error.Message)
	for _, leak := range []string{"SQLSTATE", "violates", "pgx", "pq:", "goroutine", "SELECT", "INSERT"} {
		require.NotContains(t, rec.Body.String(), leak)
	}
	if field != "" {
		var fields []string
		for _, d := range e.Error.Details {
			fields = append(fields, d.Field)
		}
		require.Contains(t, fields, field)
	}
}
