package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/nettest"
)

// queueAt returns a queue client of the Redis at url, which may be down.
func queueAt(t *testing.T, url string) *queue.Client {
	t.Helper()
	cfg := config.Defaults[workerenv.Env]().QueueConfig()
	cfg.RedisURL = url
	return queuetest.Client(t, cfg)
}

// writeEmail records an email to to in b's outbox, about user (0 for none), and returns its id.
func writeEmail(t *testing.T, b bundle, to string, user int64) string {
	t.Helper()
	id, err := b.store.InsertEmail(context.Background(), store.NewEmail{
		Kind: oes.EmailGeneric, UserID: user, Priority: 5, MaxAttempts: 2,
		Message: mail.Message{To: []string{to}, Subject: "Hi", Text: "Hello"},
	})
	require.NoError(t, err)
	return strconv.FormatInt(id, 10)
}

// settle moves email id as a worker would: claimed, then finished with o.
func settle(t *testing.T, b bundle, id string, o store.Outcome) {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	require.NoError(t, err)
	_, err = b.store.ClaimEmail(context.Background(), n)
	require.NoError(t, err)
	if o.State != "" {
		require.NoError(t, b.store.FinishEmail(context.Background(), n, o))
	}
}

type countsBody struct {
	Waiting    *int `json:"waiting"`
	Delayed    *int `json:"delayed"`
	Retrying   *int `json:"retrying"`
	Active     *int `json:"active"`
	Completed  *int `json:"completed"`
	Failed     *int `json:"failed"`
	Suppressed *int `json:"suppressed"`
	Cancelled  *int `json:"cancelled"`
}

type emailPage struct {
	Page int         `json:"page"`
	Size int         `json:"size"`
	Jobs []oes.Email `json:"jobs"`
}

var failed550 = store.Outcome{State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 5.1.1 no such user", SMTPReply: "550 5.1.1 no such user"}

func TestEmailCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	writeEmail(t, b, "a@example.org", 0)
	writeEmail(t, b, "b@example.org", 0)
	settle(t, b, writeEmail(t, b, "c@example.org", 0), store.Outcome{})
	settle(t, b, writeEmail(t, b, "d@example.org", 0), store.Outcome{State: oes.EmailDelivered, AttemptsSpent: 1, SMTPReply: "250 ok"})
	settle(t, b, writeEmail(t, b, "e@example.org", 0), failed550)

	t.Run("counts200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c := decode[countsBody](t, rec)
		for name, n := range map[string]*int{"waiting": c.Waiting, "delayed": c.Delayed, "retrying": c.Retrying,
			"active": c.Active, "completed": c.Completed, "failed": c.Failed, "suppressed": c.Suppressed, "cancelled": c.Cancelled} {
			require.NotNil(t, n, "%s is reported", name)
		}
		require.Equal(t, 2, *c.Waiting)
		require.Equal(t, 1, *c.Active)
		require.Equal(t, 1, *c.Completed)
		require.Equal(t, 1, *c.Failed)
	})
	// The outbox is the record: the counts do not depend on the queue's Redis.
	t.Run("counts200QueueDown", func(t *testing.T) {
		api := b.newAPI(t, b.pool, b.cache, queueAt(t, "redis://"+nettest.FreeAddr(t)+"/0"))
		rec := do(t, api, call{method: "GET", path: "/api/v1/admin/queues/email", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, 2, *decode[countsBody](t, rec).Waiting)
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
}

func TestEmailJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bounced := writeEmail(t, b, "bounce@example.org", b.student.ID)
	settle(t, b, bounced, failed550)
	sending := writeEmail(t, b, "busy@example.org", 0)
	settle(t, b, sending, store.Outcome{})
	waiting := writeEmail(t, b, "later@example.org", 0)

	t.Run("job200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + waiting, admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		e := decode[oes.Email](t, rec)
		require.Equal(t, waiting, strconv.FormatInt(e.ID, 10))
		require.Equal(t, oes.EmailPending, e.State)
		require.Equal(t, "later@example.org", e.Recipient)
		require.Equal(t, 2, e.AttemptsAllowed)
		require.Equal(t, "default", e.Lane)
		require.NotContains(t, rec.Body.String(), "Hello", "bodies are never shown")
	})
	t.Run("job200Failed", func(t *testing.T) {
		e := decode[oes.Email](t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + bounced, admin: true}))
		require.Equal(t, oes.EmailFailed, e.State)
		require.Equal(t, "550 5.1.1 no such user", e.LastError)
		require.Equal(t, 1, e.AttemptsMade)
		require.NotNil(t, e.FinishedAt)
	})
	for name, id := range map[string]string{"job404": "999999", "job404NotAnID": "verify-abc", "job404Zero": "0"} {
		t.Run(name, func(t *testing.T) {
			requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + id, admin: true}),
				http.StatusNotFound, oes.ENOTFOUND, "")
		})
	}
	t.Run("job403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/jobs/" + waiting, as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("failed200", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed", admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		p := decode[emailPage](t, rec)
		require.Equal(t, 1, p.Page)
		require.Equal(t, 20, p.Size)
		require.Len(t, p.Jobs, 1)
		require.Equal(t, "bounce@example.org", p.Jobs[0].Recipient)
	})
	t.Run("active200", func(t *testing.T) {
		p := decode[emailPage](t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/active", admin: true}))
		require.Len(t, p.Jobs, 1)
		require.Equal(t, "busy@example.org", p.Jobs[0].Recipient)
	})
	for name, query := range map[string]string{
		"failed400PageZero": "?page=0", "failed400SizeTooBig": "?size=101", "failed400SizeNotANumber": "?size=ten",
	} {
		t.Run(name, func(t *testing.T) {
			requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed" + query, admin: true}),
				http.StatusBadRequest, oes.EINVALID, "")
		})
	}
	t.Run("failed200PageBeyondTheEnd", func(t *testing.T) {
		p := decode[emailPage](t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/queues/email/failed?page=9223372036854775807&size=100", admin: true}))
		require.Empty(t, p.Jobs)
	})

	t.Run("retry409Pending", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + waiting + "/retry", admin: true}),
			http.StatusConflict, oes.ECONFLICT, "")
	})
	t.Run("retry404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/999999/retry", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("retry204Failed", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + bounced + "/retry", admin: true})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		e := jobStatus(t, b, bounced)
		require.Equal(t, oes.EmailPending, e.State)
		require.Equal(t, 0, e.AttemptsMade, "its attempts count afresh")
	})
	t.Run("cancel409Sending", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + sending + "/cancel", admin: true}),
			http.StatusConflict, oes.ECONFLICT, "")
	})
	t.Run("cancel204Pending", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + waiting + "/cancel", admin: true})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		e := jobStatus(t, b, waiting)
		require.Equal(t, oes.EmailCancelled, e.State)
		require.Equal(t, "cancelled by an admin", e.LastError)
	})
	t.Run("cancel409Cancelled", func(t *testing.T) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + waiting + "/cancel", admin: true})
		requireError(t, rec, http.StatusConflict, oes.ECONFLICT, "")
		require.Contains(t, rec.Body.String(), "cancelled")
	})
	t.Run("cancel404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/nope/cancel", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("cancel403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "POST", path: "/api/v1/admin/jobs/" + waiting + "/cancel", as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
}

func TestUserEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, writeEmail(t, b, fmt.Sprintf("s%d@example.org", i), b.student.ID))
	}
	writeEmail(t, b, "someone-else@example.org", b.admin.ID)
	path := fmt.Sprintf("/api/v1/admin/users/%d/emails", b.student.ID)

	t.Run("emails200NewestFirst", func(t *testing.T) {
		p := decode[emailPage](t, do(t, b.api, call{method: "GET", path: path + "?size=2", admin: true}))
		require.Len(t, p.Jobs, 2)
		require.Equal(t, ids[2], strconv.FormatInt(p.Jobs[0].ID, 10))
		require.Equal(t, ids[1], strconv.FormatInt(p.Jobs[1].ID, 10))
		p = decode[emailPage](t, do(t, b.api, call{method: "GET", path: path + "?size=2&page=2", admin: true}))
		require.Len(t, p.Jobs, 1)
		require.Equal(t, ids[0], strconv.FormatInt(p.Jobs[0].ID, 10))
	})
	t.Run("emails200None", func(t *testing.T) {
		u := createAccount(t, b.store, "quiet@example.org", "quiet-password", oes.RoleStudent, true)
		p := decode[emailPage](t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/admin/users/%d/emails", u.ID), admin: true}))
		require.NotNil(t, p.Jobs)
		require.Empty(t, p.Jobs)
	})
	t.Run("emails404UnknownUser", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users/999999/emails", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("emails400BadID", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users/me/emails", admin: true}),
			http.StatusBadRequest, oes.EINVALID, "id")
	})
	t.Run("emails403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: path, as: b.studentJWT}), http.StatusForbidden, oes.EFORBIDDEN, "")
	})
}

type suppressionPage struct {
	Suppressions []oes.Suppression `json:"suppressions"`
}

func TestSuppressions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := writeEmail(t, b, "Gone@Example.org", 0)
	o := failed550
	o.Suppress = true
	settle(t, b, id, o)

	t.Run("list200", func(t *testing.T) {
		p := decode[suppressionPage](t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/suppressions", admin: true}))
		require.Len(t, p.Suppressions, 1)
		s := p.Suppressions[0]
		require.Equal(t, "gone@example.org", s.Address)
		require.Equal(t, "550 5.1.1 no such user", s.Reason)
		require.Equal(t, id, strconv.FormatInt(*s.EmailID, 10))
	})
	t.Run("list403Student", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/suppressions", as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("delete204IgnoringCase", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/suppressions/" + url.PathEscape("GONE@example.org"), admin: true})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		p := decode[suppressionPage](t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/suppressions", admin: true}))
		require.Empty(t, p.Suppressions)
	})
	t.Run("delete404", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/suppressions/gone@example.org", admin: true}),
			http.StatusNotFound, oes.ENOTFOUND, "")
	})
}
