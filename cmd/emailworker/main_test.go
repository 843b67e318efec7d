package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/program"
	"github.com/oeshq/oes/pkg/testkit/redistest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// The test binary doubles as the worker binary when OES_TEST_RUN_MAIN is set, so that tests
// can run, signal and kill real worker processes.
func TestMain(m *testing.M) {
	if os.Getenv("OES_TEST_RUN_MAIN") == "1" {
		os.Args = []string{"emailworker"}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// get sends a GET to url with http.DefaultClient.
func get(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

func status(url string) int {
	resp, err := get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// workerEnv is the environment of a worker on the test's outbox (the Postgres schema at
// dbURL), queue and SMTP server.
func workerEnv(dbURL string, cfg queue.Config, smtp *smtptest.Server, healthAddr string) []string {
	return []string{
		"DATABASE_URL=" + dbURL,
		"REDIS_URL=" + cfg.RedisURL,
		"QUEUE_PREFIX=" + cfg.QueuePrefix,
		"SMTP_HOST=" + smtp.Host(),
		"SMTP_PORT=" + strconv.Itoa(smtp.Port()),
		"SMTP_TLS=none",
		"SMTP_FROM=OES <no-reply@oes.test>",
		"HEALTH_ADDR=" + healthAddr,
		"EMAIL_BACKOFF_BASE=1s",
		"SHUTDOWN_TIMEOUT=10s",
		"LOG_FORMAT=text",
	}
}

type process struct {
	cmd  *exec.Cmd
	out  *logtest.Buffer
	done chan error
}

// startWorker runs a worker process; it is killed when the test ends if still running.
func startWorker(t *testing.T, env []string) *process {
	t.Helper()
	p := &process{out: &logtest.Buffer{}, done: make(chan error, 1)}
	p.cmd = program.Command(t, 5*time.Second, os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), append([]string{"OES_TEST_RUN_MAIN=1"}, env...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("worker output:\n%s", p.out.String())
		}
	})
	return p
}

func (p *process) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("worker did not exit within %v", timeout)
		return nil
	}
}

// bundle is one test's outbox, queue and SMTP server.
type bundle struct {
	dbURL string
	store *store.Store
	queue queue.Config
	smtp  *smtptest.Server
}

func setup(t *testing.T) bundle {
	t.Helper()
	dbURL := pgtest.URL(t)
	return bundle{dbURL: dbURL, store: store.New(pgtest.New(t)), queue: queuetest.Config(t), smtp: smtptest.Start(t)}
}

func (b bundle) env(healthAddr string) []string {
	return workerEnv(b.dbURL, b.queue, b.smtp, healthAddr)
}

// write records email i in the outbox, with the attempts given, and returns its id.
func (b bundle) write(t *testing.T, i, attempts int) int64 {
	t.Helper()
	id, err := b.store.InsertEmail(context.Background(), store.NewEmail{
		Kind: oes.EmailGeneric, Priority: 5, MaxAttempts: attempts,
		Message: mail.Message{
			To:      []string{fmt.Sprintf("student%d@example.com", i)},
			Subject: fmt.Sprintf("message %d", i),
			Text:    "hello",
		},
	})
	require.NoError(t, err)
	return id
}

func (b bundle) waitFor(t *testing.T, id int64, want oes.EmailState, timeout time.Duration) oes.Email {
	t.Helper()
	var e oes.Email
	require.Eventually(t, func() bool {
		var err error
		e, err = b.store.GetEmail(context.Background(), id)
		return err == nil && e.State == want
	}, timeout, 20*time.Millisecond, "email %d never became %s; last %+v", id, want, e)
	return e
}

func TestWorkerDeliversAndLogsInTheSeedsWords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := startWorker(t, b.env(nettest.FreeAddr(t)))

	id := b.write(t, 1, 3)
	msgs := b.smtp.WaitForMessages(t, 1, 20*time.Second)
	require.Equal(t, "message 1", msgs[0].Subject)
	require.Equal(t, []string{"student1@example.com"}, msgs[0].To)
	e := b.waitFor(t, id, oes.EmailDelivered, 10*time.Second)
	require.True(t, strings.HasPrefix(e.SMTPReply, "250"), e.SMTPReply)

	b.smtp.FailRecipient("student2@example.com", 550, "5.1.1 no such user")
	bad := b.write(t, 2, 3)
	e = b.waitFor(t, bad, oes.EmailFailed, 20*time.Second)
	require.Equal(t, "550 5.1.1 no such user", e.LastError)
	require.Equal(t, 1, e.AttemptsMade, "a permanent refusal is not retried")

	require.Eventually(t, func() bool {
		out := w.out.String()
		return strings.Contains(out, "worker initialized") &&
			strings.Contains(out, "email job "+queue.TaskID(id)+" completed") &&
			strings.Contains(out, "email job "+queue.TaskID(bad)+" failed (attempt 1/3)")
	}, 5*time.Second, 50*time.Millisecond, "log:\n%s", w.out.String())
}

// The worker's /metrics, on its probes' port, counts deliveries by outcome and reads the
// queue's lanes.
func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	addr := nettest.FreeAddr(t)
	startWorker(t, b.env(addr))

	// Asked to try later once, then accepted: one retry, one delivery.
	b.smtp.FailNext(1, 451, "4.3.0", "try again later")
	b.waitFor(t, b.write(t, 1, 3), oes.EmailDelivered, 20*time.Second)
	b.smtp.FailRecipient("student2@example.com", 550, "5.1.1 no such user")
	b.waitFor(t, b.write(t, 2, 3), oes.EmailFailed, 20*time.Second)

	lane := queue.Lane(5)
	want := []string{
		`oes_emails_delivered_total 1`,
		`oes_emails_retried_total{class="temporary"} 1`,
		`oes_emails_retried_total{class="permanent"} 0`,
		`oes_emails_failed_total{class="permanent"} 1`,
		`oes_emails_failed_total{class="temporary"} 0`,
		`oes_emails_failed_total{class="network"} 0`,
		`oes_smtp_send_duration_seconds_count{outcome="delivered"} 1`,
		`oes_smtp_send_duration_seconds_count{outcome="temporary"} 1`,
		`oes_smtp_send_duration_seconds_count{outcome="permanent"} 1`,
		`oes_email_deliveries_paused{dependency="smtp"} 0`,
		`oes_email_deliveries_paused{dependency="postgres"} 0`,
		`oes_email_queue_jobs{lane="` + lane + `",state="failed"} 1`,
		`oes_email_queue_jobs{lane="` + lane + `",state="waiting"} 0`,
	}
	var out string
	require.Eventually(t, func() bool {
		out = scrapeMetrics(addr)
		for _, line := range want {
			if !strings.Contains(out, "\n"+line+"\n") {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "want %q in\n%s", want, out)
	require.Contains(t, out, "\ngo_goroutines ")
	require.NotContains(t, out, b.queue.QueuePrefix, "lanes are labelled by name, not by queue")
}

func scrapeMetrics(addr string) string {
	resp, err := get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// SIGTERM stops fetching, lets the delivery in flight finish, and exits 0.
func TestSIGTERMDrainsInFlightDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	held, release := b.smtp.Hold()
	w := startWorker(t, b.env(nettest.FreeAddr(t)))

	id := b.write(t, 1, 3)
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the SMTP server")
	}
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	time.AfterFunc(500*time.Millisecond, release)

	require.NoError(t, w.wait(t, 20*time.Second), "exit status 0")
	require.Len(t, b.smtp.Messages(), 1)
	b.waitFor(t, id, oes.EmailDelivered, 5*time.Second)
	require.Contains(t, w.out.String(), "worker stopped")
}

// A worker killed mid-send (SIGKILL, OOM, a lost node) loses nothing, even on the email's last
// attempt: a crash is not the email's fault. Once asynq's lease on the job expires, another
// worker sends it, and the attempt the dead worker began is not counted.
func TestSIGKILLOnTheLastAttemptIsDeliveredByAnotherWorker(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for asynq's lease to expire (about a minute)")
	}
	b := setup(t)
	held, release := b.smtp.Hold()
	first := startWorker(t, b.env(nettest.FreeAddr(t)))

	id := b.write(t, 1, 1) // one attempt: this is its last
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the SMTP server")
	}
	require.NoError(t, first.cmd.Process.Kill())
	_ = first.wait(t, 10*time.Second)
	before := len(b.smtp.Messages())
	release()
	e, err := b.store.GetEmail(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, oes.EmailSending, e.State, "the outbox says where the email was")

	second := startWorker(t, b.env(nettest.FreeAddr(t)))
	e = b.waitFor(t, id, oes.EmailDelivered, 150*time.Second)
	require.Equal(t, 1, e.AttemptsMade, "the crashed try is not counted")
	second.out.RequireLine(t, "email job "+queue.TaskID(id)+" completed", 10*time.Second)
	// The dead worker's data had fully arrived when it was killed, so the server may have kept
	// that copy too: delivery is at least once when a worker dies between the server's accept
	// and the outbox's record of it. Nothing is lost.
	require.Zero(t, before)
	n := len(b.smtp.Messages())
	require.True(t, n == 1 || n == 2, "got %d messages", n)
}

// Two workers on one outbox and queue deliver every email exactly once.
func TestTwoWorkersNeverDeliverAnEmailTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	startWorker(t, b.env(nettest.FreeAddr(t)))
	startWorker(t, b.env(nettest.FreeAddr(t)))

	const n = 100
	for i := range n {
		b.write(t, i, 3)
	}
	b.smtp.WaitForMessages(t, n, 60*time.Second)
	time.Sleep(time.Second) // a duplicate would arrive by now
	msgs := b.smtp.Messages()
	require.Len(t, msgs, n)
	seen := map[string]bool{}
	for _, m := range msgs {
		require.False(t, seen[m.Subject], "%s delivered twice", m.Subject)
		seen[m.Subject] = true
	}
}

// The worker serves its probes, reports Redis's and Postgres's state in readiness, and stops
// cleanly.
func TestWorkerProbesAndCleanStop(t *testing.T) {
	srv := redistest.StartServer(t)
	smtp := smtptest.Start(t)
	addr := nettest.FreeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("QUEUE_PREFIX", redistest.Namespace(t))
	t.Setenv("HEALTH_ADDR", addr)
	t.Setenv("SMTP_HOST", smtp.Host())
	t.Setenv("SMTP_PORT", strconv.Itoa(smtp.Port()))
	t.Setenv("SMTP_TLS", "none")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &logtest.Buffer{}
	go func() { done <- run(ctx, nil, &bytes.Buffer{}, logs) }()

	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 200 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 200, status("http://"+addr+"/healthz"))

	srv.Stop()
	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 503 }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 200, status("http://"+addr+"/healthz"), "liveness does not depend on Redis")
	require.Equal(t, 200, status("http://"+addr+"/metrics"), "the delivery metrics are served without the queue's")
	srv.Start()
	require.Eventually(t, func() bool { return status("http://"+addr+"/readyz") == 200 }, 10*time.Second, 50*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(25 * time.Second):
		t.Fatal("worker did not stop")
	}
	require.Contains(t, logs.String(), "worker initialized")
	require.Contains(t, logs.String(), "worker stopped")
}

func TestWorkerWarnsWhenTheQueueRedisMayEvict(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := redistest.Client(t, srv.URL()) // rueidis, as the cache uses
	require.NoError(t, rdb.Do(context.Background(), rdb.B().ConfigSet().ParameterValue().ParameterValue("maxmemory-policy", "allkeys-lru").Build()).Error())
	smtp := smtptest.Start(t)
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("HEALTH_ADDR", nettest.FreeAddr(t))
	t.Setenv("SMTP_HOST", smtp.Host())
	t.Setenv("SMTP_PORT", strconv.Itoa(smtp.Port()))
	t.Setenv("SMTP_TLS", "none")

	ctx, cancel := context.WithCancel(context.Background())
	logs := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, &bytes.Buffer{}, logs) }()
	require.Eventually(t, func() bool {
		return bytes.Contains([]byte(logs.String()), []byte("worker initialized"))
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Contains(t, logs.String(), "MAY EVICT KEYS")
	require.Contains(t, logs.String(), "allkeys-lru")
}

func TestWorkerBadConfigNamesTheVariable(t *testing.T) {
	for _, env := range [][2]string{
		{"SHUTDOWN_TIMEOUT", "never"}, {"SMTP_TLS", "maybe"}, {"EMAIL_CONCURRENCY", "0"}, {"EMAIL_BACKOFF_BASE", "soon"},
		{"EMAIL_RETRY_WINDOW", "1s"}, {"EMAIL_FETCH_INTERVAL", "0s"}, {"DATABASE_URL", "mysql://x"},
	} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			err := run(context.Background(), nil, &bytes.Buffer{}, &bytes.Buffer{})
			require.ErrorContains(t, err, env[0])
		})
	}
}
