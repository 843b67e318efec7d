package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/delivery"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/redistest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// startWorker runs an email worker (relay and delivery) over b's outbox and queue, delivering
// to smtp, until the test ends.
func startWorker(t *testing.T, b bundle, smtp *smtptest.Server) *delivery.Worker {
	t.Helper()
	sender, err := smtpsend.New(smtpsend.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: smtpsend.TLSNone, From: "OES <no-reply@oes.test>"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	w, err := delivery.StartWorker(delivery.WorkerConfig{
		Queue: b.queueCfg, Store: b.store, Sender: sender, Log: discardLog(),
		Relay: outbox.RelayConfig{Tick: 100 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(w.Shutdown)
	return w
}

// The whole account flow over the real pipeline: the api writes the verification email to the
// outbox with the account, the worker relays it onto the queue and delivers it to an SMTP
// server, and the token of the link in the delivered message verifies the account through the
// JSON endpoint (TestEmailedLinksInBrowser opens the link itself).
func TestRegistrationEmailArrivesAndItsLinkVerifies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)

	rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register", body: map[string]any{
		"email": "e2e@example.com", "name": "End To End", "password": "long-enough-1",
	}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	r := decode[registeredBody](t, rec)

	got := smtp.WaitForMessages(t, 1, 20*time.Second)[0]
	require.Equal(t, []string{"e2e@example.com"}, got.To)
	require.Equal(t, http.StatusForbidden, login(t, b, "e2e@example.com", "long-enough-1").Code, "not verified yet")

	link := verificationLink(t, mail.Message{Text: got.Text, HTML: got.HTML})
	rec = do(t, b.api, call{method: "GET", path: link})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, http.StatusOK, login(t, b, "e2e@example.com", "long-enough-1").Code)

	require.Eventually(t, func() bool { return jobStatus(t, b, r.JobID).State == oes.EmailDelivered }, 10*time.Second, 20*time.Millisecond)
	e := jobStatus(t, b, r.JobID)
	require.True(t, strings.HasPrefix(e.SMTPReply, "250 "), e.SMTPReply)
}

// A password-reset token is a key to the account. The queue's Redis (its dumps, replicas,
// monitoring tools, the autoscaler's credentials) must never hold one: while the reset email
// is being sent and after it is delivered, no key of the queue's Redis, and no field, member or
// element of any key, contains the token, nor the recipient's address.
func TestNoRedisKeyHoldsAResetToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := redistest.StartServer(t) // a Redis of its own: "every key" means every key
	b.queueCfg = queuetest.ConfigAt(t, srv.URL())
	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	held, release := smtp.Hold()
	rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset", body: map[string]string{"email": b.student.Email}})
	require.Equal(t, http.StatusAccepted, rec.Code)
	<-held
	during := dumpRedis(t, rdb) // the job is running: its task is in Redis
	release()
	got := smtp.WaitForMessages(t, 1, 20*time.Second)[0]
	token := resetToken(t, mail.Message{Text: got.Text, HTML: got.HTML})
	e := onlyEmailOf(t, b, b.student.ID)
	require.Eventually(t, func() bool { return jobStatus(t, b, e).State == oes.EmailDelivered }, 10*time.Second, 20*time.Millisecond)
	after := dumpRedis(t, rdb)

	require.Contains(t, strings.Join(during["asynq:{"+b.queueCfg.QueueName("critical")+"}:active"], " "), e,
		"the dump caught the job while it ran")
	for name, dump := range map[string]map[string][]string{"during": during, "after": after} {
		require.NotEmpty(t, dump, "the queue keeps its bookkeeping in Redis")
		for key, values := range dump {
			for _, v := range append([]string{key}, values...) {
				require.NotContains(t, v, token, "%s: key %s", name, key)
				require.NotContains(t, strings.ToLower(v), strings.ToLower(b.student.Email), "%s: key %s", name, key)
			}
		}
	}
}

// onlyEmailOf returns the job id of the one email about user.
func onlyEmailOf(t *testing.T, b bundle, user int64) string {
	t.Helper()
	es, err := b.outbox.UserEmails(context.Background(), user, 1, 10)
	require.NoError(t, err)
	require.Len(t, es, 1)
	return strconv.FormatInt(es[0].ID, 10)
}

// dumpRedis reads every key of rdb with everything it holds, whatever its type.
func dumpRedis(t *testing.T, rdb *redis.Client) map[string][]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	out := map[string][]string{}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		require.NoError(t, err)
		var vals []string
		switch typ {
		case "none":
			continue // expired or deleted since KEYS listed it: the queue works on meanwhile
		case "string":
			v, err := rdb.Get(ctx, k).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			require.NoError(t, err)
			vals = []string{v}
		case "hash":
			m, err := rdb.HGetAll(ctx, k).Result()
			require.NoError(t, err)
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "list":
			vals, err = rdb.LRange(ctx, k, 0, -1).Result()
			require.NoError(t, err)
		case "set":
			vals, err = rdb.SMembers(ctx, k).Result()
			require.NoError(t, err)
		case "zset":
			vals, err = rdb.ZRange(ctx, k, 0, -1).Result()
			require.NoError(t, err)
		case "stream":
			msgs, err := rdb.XRange(ctx, k, "-", "+").Result()
			require.NoError(t, err)
			for _, m := range msgs {
				for f, v := range m.Values {
					vals = append(vals, f, v.(string))
				}
			}
		default:
			t.Fatalf("key %s has type %s, which this test cannot read", k, typ)
		}
		out[k] = vals
	}
	return out
}

// With the queue's Redis down, registrations and submissions succeed as usual (the api writes
// their emails to the outbox, never to Redis), and every email is delivered once Redis is
// back, with nobody acting.
func TestEmailsOfRegistrationsAndSubmissionsMadeWhileTheQueuesRedisIsDownAreDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := redistest.StartServer(t)
	b.queueCfg = queuetest.ConfigAt(t, srv.URL())
	srv.Stop()
	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)
	api := b.newAPI(t, b.pool, b.cache, queueAt(t, srv.URL()))
	exam := createGradedExam(t, b, "Outage", 30)

	const n = 5
	var want []string
	for i := range n {
		addr := fmt.Sprintf("outage%d@example.org", i)
		rec := do(t, api, call{method: "POST", path: "/api/v1/auth/register",
			body: map[string]string{"email": addr, "name": "Outage", "password": "correct horse"}})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.True(t, decode[registeredBody](t, rec).Queued, "the email is on its way")

		student := createAccount(t, b.store, fmt.Sprintf("sitter%d@example.org", i), studentPassword, oes.RoleStudent, true)
		a := startAttempt(t, b, exam.ID, jwtFor(t, student))
		rec = do(t, api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: jwtFor(t, student)})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		want = append(want, addr, student.Email)
	}
	time.Sleep(500 * time.Millisecond)
	require.Empty(t, smtp.Messages(), "nothing can leave while the queue is down")

	srv.Start()
	msgs := smtp.WaitForMessages(t, 2*n, 30*time.Second)
	var got []string
	for _, m := range msgs {
		got = append(got, m.To...)
	}
	require.ElementsMatch(t, want, got, "each email once")
}
