package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
)

// queueAt returns a queue client of the Redis at url, which may be down.
func queueAt(t *testing.T, url string) *queue.Client {
	t.Helper()
	cfg := queue.DefaultConfig()
	cfg.RedisURL = url
	return queuetest.Client(t, cfg)
}

func enqueue(t *testing.T, b bundle, to string) string {
	t.Helper()
	id, err := b.queue.Enqueue(context.Background(), mail.Message{To: []string{to}, Subject: "Hi", Text: "Hello"}, queue.Options{Attempts: 2})
	require.NoError(t, err)
	return id
}

type countsBody struct {
	Active    *int `json:"active"`
	Completed *int `json:"completed"`
	Failed    *int `json:"failed"`
	Delayed   *int `json:"delayed"`
	Waiting   *int `json:"waiting"`
	Paused    *int `json:"paused"`
}

type jobPage struct {
	Page int            `json:"page"`
	Size int            `json:"size"`
	Jobs []queue.Status `json:"jobs"`
}

func TestQueueCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	enqueue(t, b, "a@example.org")
	enqueue(t, b, "b@example.org")

	t.Run("counts200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c := decode[countsBody](t, rec)
		for name, n := range map[string]*int{"active": c.Active, "completed": c.Completed, "failed": c.Failed,
			"delayed": c.Delayed, "waiting": c.Waiting, "paused": c.Paused} {
			require.NotNil(t, n, "%s is reported", name)
		}
		require.Equal(t, 2, *c.Waiting)
		require.Equal(t, 0, *c.Failed)
	})
	t.Run("counts401", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email"})
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		require.Equal(t, `Bearer realm="oes"`, rec.Header().Get("WWW-Authenticate"))
	})
	t.Run("counts403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email", as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("counts503QueueDown", func(t *testing.T) {
		api := b.newAPI(t, b.pool, b.cache, queueAt(t, "redis://"+nettest.FreeAddr(t)+"/0"))
		for _, path := range []string{"/api/v1/admin/queues/email", "/api/v1/admin/queues/email/failed",
			"/api/v1/admin/queues/email/active", "/api/v1/admin/jobs/some-job"} {
			requireError(t, do(t, api, call{method: "GET", path: path, admin: true}), http.StatusServiceUnavailable, oes.EUNAVAILABLE, "")
		}
		requireError(t, do(t, api, call{method: "POST", path: "/api/v1/admin/jobs/some-job/retry", admin: true}),
			http.StatusServiceUnavailable, oes.EUNAVAILABLE, "")
	})
}

func TestJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// A worker that fails every job for good, then stops, leaves failed jobs behind.
	failing := enqueue(t, b, "bounce@example.org")
	worker := queuetest.StartWorker(t, b.queueCfg, asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		return queue.Permanent("550 no such user", errors.New("550 no such user"))
	}))
	require.Eventually(t, func() bool { return counts(t, b).Failed == 1 }, 15*time.Second, 50*time.Millisecond)
	worker.Shutdown()
	waiting := enqueue(t, b, "later@example.org")

	t.Run("job200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + waiting, admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		s := decode[queue.Status](t, rec)
		require.Equal(t, waiting, s.ID)
		require.Equal(t, queue.StateWaiting, s.State)
		require.Equal(t, []string{"later@example.org"}, s.Recipients)
		require.Equal(t, 2, s.AttemptsAllowed)
	})
	t.Run("job404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/no-such-job", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("job403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + waiting, as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("failed200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		p := decode[jobPage](t, rec)
		require.Equal(t, 1, p.Page)
		require.Equal(t, 20, p.Size)
		require.Len(t, p.Jobs, 1)
		j := p.Jobs[0]
		require.Equal(t, failing, j.ID)
		require.Equal(t, queue.StateFailed, j.State)
		require.Equal(t, []string{"bounce@example.org"}, j.Recipients)
		require.Contains(t, j.FailedReason, "550 no such user")
		require.Equal(t, 1, j.AttemptsMade)
		require.Equal(t, 2, j.AttemptsAllowed)
		require.Contains(t, rec.Body.String(), `"failed_reason":`)
	})
	t.Run("failed200PastTheEnd", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed?page=2&size=1", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, jobPage{Page: 2, Size: 1, Jobs: []queue.Status{}}, decode[jobPage](t, rec))
	})
	for _, tt := range []struct{ query, field string }{
		{"page=0", "page"}, {"page=abc", "page"}, {"page=-1", "page"},
		{"size=0", "size"}, {"size=101", "size"}, {"size=1.5", "size"},
	} {
		for _, list := range []string{"failed", "active"} {
			t.Run(fmt.Sprintf("%s400%s", list, tt.query), func(t *testing.T) {
				rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/" + list + "?" + tt.query, admin: true})
				requireError(t, rec, http.StatusBadRequest, oes.EINVALID, tt.field)
			})
		}
	}
	t.Run("failed401", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed"}),
			http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("retry409NotFailed", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + waiting + "/retry", admin: true}),
			http.StatusConflict, oes.ECONFLICT, "")
	})
	t.Run("retry404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/no-such-job/retry", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("retry403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + failing + "/retry", as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("retry204", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + failing + "/retry", admin: true})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.Equal(t, queue.StateWaiting, jobStatus(t, b, failing).State)
		require.Equal(t, 0, counts(t, b).Failed)
	})
}

func TestActiveJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	id := enqueue(t, b, "slow@example.org")
	queuetest.StartWorker(t, b.queueCfg, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	t.Cleanup(func() { close(release) })
	require.Eventually(t, func() bool { return counts(t, b).Active == 1 }, 15*time.Second, 50*time.Millisecond)

	t.Run("active200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/active?page=1&size=5", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		p := decode[jobPage](t, rec)
		require.Len(t, p.Jobs, 1)
		require.Equal(t, id, p.Jobs[0].ID)
		require.Equal(t, queue.StateActive, p.Jobs[0].State)
		require.Equal(t, []string{"slow@example.org"}, p.Jobs[0].Recipients)
		require.Equal(t, 1, p.Jobs[0].AttemptsMade)
	})
	t.Run("retry409Active", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + id + "/retry", admin: true}),
			http.StatusConflict, oes.ECONFLICT, "")
	})
}
