package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// queueList is the part of asynqmon's GET /api/queues answer the tests read.
type queueList struct {
	Queues []struct {
		Queue   string `json:"queue"`
		Pending int    `json:"pending"`
		Size    int    `json:"size"`
	} `json:"queues"`
}

func (l queueList) pending(name string) (int, bool) {
	for _, q := range l.Queues {
		if q.Queue == name {
			return q.Pending, true
		}
	}
	return 0, false
}

// queueSecret writes an email whose body holds a single-use link to the outbox, as
// verification does, and relays it onto b's queue as the worker would.
func queueSecret(t testing.TB, b bundle, secret string) queue.Job {
	t.Helper()
	id, err := b.store.InsertEmail(context.Background(), store.NewEmail{
		Kind: oes.EmailVerify, Priority: 5, MaxAttempts: 3,
		Message: mail.Message{
			To: []string{"learner@example.org"}, Subject: "Verify your email",
			Text: "Open https://oes.example.org/verify?token=" + secret,
		},
	})
	require.NoError(t, err)
	n, err := outbox.NewRelay(b.store, b.queue, outbox.RelayConfig{}, discardLog()).RelayPending(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	return queue.Job{ID: id, Kind: string(oes.EmailVerify), Priority: 5}
}

// inRedis reports whether j's task is in the queue's Redis.
func inRedis(t testing.TB, b bundle, j queue.Job) bool {
	t.Helper()
	missing, err := b.queue.Missing(context.Background(), []queue.Job{j})
	require.NoError(t, err)
	return len(missing) == 0
}

func TestDashboardAnswersAdminsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	queueSecret(t, b, "s3cret-token")
	lane := b.queueCfg.QueueName(queue.LaneDefault)

	// A browser that is not signed in is sent to the sign-in page; scripts get a 401.
	rec := do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/"})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, httpapi.AdminLoginPath, rec.Header().Get("Location"))
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues"}), http.StatusUnauthorized, "unauthorized", "")
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues", as: b.studentJWT}), http.StatusForbidden, "forbidden", "")
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/", as: b.studentJWT}), http.StatusForbidden, "forbidden", "")
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues", as: "forged.token.value"}), http.StatusUnauthorized, "unauthorized", "")

	// An admin's token opens it: the page, and the lane with its job.
	rec = do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/", admin: true})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "/admin/queues/static/")
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
	list := decode[queueList](t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues", admin: true}))
	pending, ok := list.pending(lane)
	require.True(t, ok, "lane %s missing from %+v", lane, list)
	require.Equal(t, 1, pending)

	// The listing shows what kind of email it is, and nothing of it that Redis does not hold:
	// neither the recipient nor the body with its link.
	rec = do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues/" + lane + "/pending_tasks", admin: true})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "verify_email")
	require.NotContains(t, rec.Body.String(), "learner@example.org")
	require.NotContains(t, rec.Body.String(), "s3cret-token")
}

func TestDashboardSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	job := queueSecret(t, b, "another-secret")
	id := queue.TaskID(job.ID)
	lane := b.queueCfg.QueueName(queue.LaneDefault)

	requireError(t, do(t, b.api, call{method: http.MethodPost, path: httpapi.AdminSessionPath,
		body: map[string]string{"email": b.admin.Email, "password": "wrong-password"}}), http.StatusUnauthorized, "unauthorized", "")
	requireError(t, do(t, b.api, call{method: http.MethodPost, path: httpapi.AdminSessionPath,
		body: map[string]string{"email": b.admin.Email}}), http.StatusBadRequest, "invalid", "password")
	rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.AdminSessionPath,
		body: map[string]string{"email": b.student.Email, "password": studentPassword}})
	requireError(t, rec, http.StatusForbidden, "forbidden", "")
	require.Empty(t, rec.Result().Cookies(), "a student gets no session")

	rec = do(t, b.api, call{method: http.MethodPost, path: httpapi.AdminSessionPath,
		body: map[string]string{"email": b.admin.Email, "password": adminPassword}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	session := cookies[0]
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, session.SameSite)
	require.Equal(t, "/admin", session.Path)
	require.True(t, session.Secure, "a request to a non-loopback host gets an HTTPS-only cookie")
	withCookie := map[string]string{"Cookie": session.Name + "=" + session.Value}

	// The cookie opens the dashboard, and nothing outside /admin/.
	rec = do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues", header: withCookie})
	require.Equal(t, http.StatusOK, rec.Code)
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/api/v1/admin/queues/email", header: withCookie}),
		http.StatusUnauthorized, "unauthorized", "")

	// A write from another site cannot ride on the cookie; one from the dashboard can.
	deletePath := "/admin/queues/api/queues/" + lane + "/pending_tasks/" + url.PathEscape(id)
	crossSite := map[string]string{"Cookie": withCookie["Cookie"], "Sec-Fetch-Site": "cross-site"}
	requireError(t, do(t, b.api, call{method: http.MethodDelete, path: deletePath, header: crossSite}), http.StatusForbidden, "forbidden", "")
	otherOrigin := map[string]string{"Cookie": withCookie["Cookie"], "Origin": "https://evil.example"}
	requireError(t, do(t, b.api, call{method: http.MethodDelete, path: deletePath, header: otherOrigin}), http.StatusForbidden, "forbidden", "")
	require.True(t, inRedis(t, b, job), "the refused deletions left the job")

	sameSite := map[string]string{"Cookie": withCookie["Cookie"], "Sec-Fetch-Site": "same-origin"}
	rec = do(t, b.api, call{method: http.MethodDelete, path: deletePath, header: sameSite})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	require.False(t, inRedis(t, b, job), "the dashboard deleted the job")

	// Signing out drops the cookie.
	rec = do(t, b.api, call{method: http.MethodDelete, path: httpapi.AdminSessionPath, header: withCookie})
	require.Equal(t, http.StatusNoContent, rec.Code)
	cookies = rec.Result().Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, session.Name, cookies[0].Name)
	require.Negative(t, cookies[0].MaxAge)
}

func TestDashboardSessionCookieOnLoopbackHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for host, secure := range map[string]bool{"127.0.0.1:8080": false, "localhost:8080": false, "[::1]:8080": false, "oes.example.org": true} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+host+httpapi.AdminSessionPath,
			strings.NewReader(`{"email":"`+b.admin.Email+`","password":"`+adminPassword+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		b.api.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, host)
		require.Equal(t, secure, rec.Result().Cookies()[0].Secure, host)
	}
}

func TestDashboardRedirectsAndLoginPage(t *testing.T) {
	t.Parallel()
	h := httpapi.NewRouter(httpapi.Deps{Log: discardLog()})
	rec := do(t, h, call{method: http.MethodGet, path: "/admin/queues"})
	require.Equal(t, http.StatusMovedPermanently, rec.Code)
	require.Equal(t, "/admin/queues/", rec.Header().Get("Location"))

	rec = do(t, h, call{method: http.MethodGet, path: httpapi.AdminLoginPath})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `fetch("/admin/session"`)
	require.NotContains(t, rec.Body.String(), "http://", "the page must load nothing from elsewhere")
}

// asynqmon's own failures reach callers in the API's error shape, never as its 500s.
func TestDashboardFailuresAreAPIErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireError(t, do(t, b.api, call{method: http.MethodGet, path: "/admin/queues/api/queues/no-such-lane/pending_tasks", admin: true}),
		http.StatusNotFound, "not_found", "")

	srv := redistest.StartServer(t)
	down := queuetest.Client(t, queuetest.ConfigAt(t, srv.URL()))
	api := b.newAPI(t, b.pool, b.cache, down)
	srv.Stop()
	rec := do(t, api, call{method: http.MethodGet, path: "/admin/queues/api/queues", admin: true})
	requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	require.NotContains(t, rec.Body.String(), "dial tcp")
}
