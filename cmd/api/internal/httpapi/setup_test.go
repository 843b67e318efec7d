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
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// testTokens signs and checks the access tokens of every api under test.
var testTokens = func() *auth.Tokens {
	t, err := auth.New([]byte(testSecret), 15*time.Minute)
	if err != nil {
		panic(err)
	}
	return t
}()

const testSecret = "test-secret-of-at-least-32-bytes-for-hs256"

// Passwords of the accounts setup creates.
const (
	adminPassword   = "admin-password-1"
	studentPassword = "student-password-1"
)

// bundle is one test's API with its own schema, cache namespace and email queue, and two
// verified accounts with their access tokens.
type bundle struct {
	api      testAPI
	pool     *pgxpool.Pool
	store    *store.Store
	cache    *cache.Cache
	queue    *queue.Client // the dashboard's
	queueCfg queue.Config
	outbox   *outbox.Service
	clock    *clock
	redisURL string
	ns       string

	admin, student       oes.User
	adminJWT, studentJWT string

	// limits and proxies are the rate limits of the apis newAPI builds: none unless a test
	// sets them, since tests send many requests from one address.
	limits  httpapi.RateLimits
	proxies []string
	// metrics receives the request metrics of the apis newAPI builds: none unless a test sets it.
	metrics prometheus.Registerer
	// log is the logger of the apis newAPI builds and of their services: none unless a test
	// sets it.
	log *slog.Logger
	// reminders are the offsets of the exam reminders of the apis newAPI builds: none unless
	// a test sets them.
	reminders []time.Duration
	// hsts and origins are the HSTS max-age and the CORS origins of the apis newAPI builds:
	// none unless a test sets them.
	hsts    time.Duration
	origins []string
}

// testAPI is a router under test with the access token that call.admin sends.
type testAPI struct {
	http.Handler
	// router is the api without the wait for detached work: what a client sees.
	router   http.Handler
	adminJWT string
}

func setup(t testing.TB) bundle {
	t.Helper()
	pool := pgtest.New(t)
	b := bundle{pool: pool, store: store.New(pool), clock: &clock{}, redisURL: redistest.URL(t), ns: redistest.Namespace(t)}
	b.queueCfg = queuetest.Config(t)
	b.queue = queuetest.Client(t, b.queueCfg)
	b.outbox = outbox.NewService(b.store)
	b.admin = createAccount(t, b.store, "admin@example.org", adminPassword, oes.RoleAdmin, true)
	b.student = createAccount(t, b.store, "student@example.org", studentPassword, oes.RoleStudent, true)
	b.adminJWT, b.studentJWT = jwtFor(t, b.admin), jwtFor(t, b.student)
	b.cache = newCache(t, b.redisURL, b.ns)
	b.api = b.newAPI(t, pool, b.cache, b.queue)
	return b
}

// replica returns a second api process's view of the same Postgres schema, Redis namespace
// and queue: its own cache client, so its own in-process cache.
func (b bundle) replica(t testing.TB) testAPI {
	return b.newAPI(t, b.pool, newCache(t, b.redisURL, b.ns), b.queue)
}

func newCache(t testing.TB, url, ns string) *cache.Cache {
	t.Helper()
	cfg := config.Defaults[config.Cache]().CacheConfig()
	cfg.Namespace = ns
	c, err := cache.New(url, cfg, discardLog())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// newAPI returns an api over the given dependencies, with b's clock and admin.
func (b bundle) newAPI(t testing.TB, pool *pgxpool.Pool, c *cache.Cache, q *queue.Client) testAPI {
	t.Helper()
	log := b.log
	if log == nil {
		log = discardLog()
	}
	st := store.New(pool)
	profiles := newProfiles(t, st, c)
	accounts, err := account.NewService(st, testTokens, account.Config{
		VerifyURL: testBaseURL + httpapi.VerifyPagePath,
		ResetURL:  testBaseURL + httpapi.ResetPagePath,
		VerifyTTL: 24 * time.Hour,
		ResetTTL:  time.Hour,
		// bcrypt's least cost: the default would make hashing dominate the tests under -race.
		PasswordCost: bcrypt.MinCost,
		Now:          b.clock.now,
		Revoker:      profiles,
	}, log)
	require.NoError(t, err)
	exams := exam.NewService(st, c, log).WithReminders(b.reminders)
	h := httpapi.NewRouter(httpapi.Deps{
		Log:       log,
		Exams:     exams,
		Accounts:  accounts,
		Attempts:  attempt.NewService(st, exams, c, 3, log).WithSealer(testSealer),
		Tokens:    testTokens,
		Outbox:    outbox.NewService(st),
		Dashboard: httpapi.NewDashboard(q),
		Cache:     c,
		DB:        st,
		Profiles:  profiles,
		Limits:    b.limits,
		// A test names its proxies to send X-Forwarded-For; by default none is trusted.
		TrustedProxies: b.proxies,
		Metrics:        b.metrics,
		HSTSMaxAge:     b.hsts,
		AllowedOrigins: b.origins,
	})
	// Tests read what a request wrote as soon as it is answered: wait for the emails that resend
	// and reset requests write after answering.
	waiting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		accounts.Wait()
	})
	return testAPI{Handler: waiting, router: h, adminJWT: b.adminJWT}
}

const testBaseURL = "https://oes.example.org"

// clock is the account service's clock; tests move it forward to expire emailed tokens.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// createAccount stores an account directly, with its password hashed as registration does.
func createAccount(t testing.TB, st *store.Store, email, password, role string, verified bool) oes.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	in := store.NewUser{Email: email, Name: "Test " + role, PasswordHash: string(hash), Role: role}
	if verified {
		now := time.Now()
		in.EmailVerifiedAt = &now
	}
	u, err := st.CreateUser(context.Background(), in)
	require.NoError(t, err)
	return u
}

// jwtFor mints the access token the api would issue u at sign-in.
func jwtFor(t testing.TB, u oes.User) string {
	t.Helper()
	tok, _, err := testTokens.Issue(u)
	require.NoError(t, err)
	return tok
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// call is one request: who sends it, what, and the response it got.
type call struct {
	method, path string
	body         any    // string bodies are sent as they are
	admin        bool   // send the bundle admin's access token
	as           string // send this access token
	header       map[string]string
}

// request is the request c stands for, as do sends it to h.
func (c call) request(t testing.TB, h http.Handler) *http.Request {
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
		api, ok := h.(testAPI)
		require.True(t, ok, "call.admin needs a testAPI")
		c.as = api.adminJWT
	}
	if c.as != "" {
		req.Header.Set("Authorization", "Bearer "+c.as)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req
}

func do(t testing.TB, h http.Handler, c call) *httptest.ResponseRecorder {
	t.Helper()
	req := c.request(t, h)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkContract(t, req, rec)
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

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
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
