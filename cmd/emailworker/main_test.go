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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
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

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// workerEnv is the environment of a worker on the test's queue and SMTP server.
func workerEnv(cfg queue.Config, smtp *smtptest.Server, healthAddr string) []string {
	return []string{
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

// safeBuffer collects a process's output while the test reads it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type process struct {
	cmd  *exec.Cmd
	out  *safeBuffer
	done chan error
}

// startWorker runs a worker process; it is killed when the test ends if still running.
func startWorker(t *testing.T, env []string) *process {
	t.Helper()
	p := &process{out: &safeBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
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

func email(i int) mail.Message {
	return mail.Message{
		To:      []string{fmt.Sprintf("student%d@example.com", i)},
		Subject: fmt.Sprintf("message %d", i),
		Text:    "hello",
	}
}

func waitForState(t *testing.T, q *queue.Client, id string, want queue.State, timeout time.Duration) queue.Status {
	t.Helper()
	return queuetest.WaitFor(t, q, id, timeout, queuetest.InState(want))
}

func TestWorkerDeliversAndLogsInTheSeedsWords(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	smtp := smtptest.Start(t)
	q := queuetest.Client(t, cfg)
	w := startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))

	id, err := q.Enqueue(context.Background(), email(1), queue.Options{})
	require.NoError(t, err)
	msgs := smtp.WaitForMessages(t, 1, 20*time.Second)
	require.Equal(t, "message 1", msgs[0].Subject)
	require.Equal(t, []string{"student1@example.com"}, msgs[0].To)
	st := waitForState(t, q, id, queue.StateCompleted, 10*time.Second)
	require.Equal(t, 100, st.Progress)

	smtp.FailRecipient("student2@example.com", 550, "5.1.1 no such user")
	bad, err := q.Enqueue(context.Background(), email(2), queue.Options{})
	require.NoError(t, err)
	st = waitForState(t, q, bad, queue.StateFailed, 20*time.Second)
	require.Contains(t, st.FailedReason, "550")
	require.Equal(t, 1, st.AttemptsMade, "a permanent refusal is not retried")

	require.Eventually(t, func() bool {
		out := w.out.String()
		return bytes.Contains([]byte(out), []byte("worker initialized")) &&
			bytes.Contains([]byte(out), []byte("email job "+id+" completed")) &&
			bytes.Contains([]byte(out), []byte("email job "+bad+" failed (attempt 1/3)"))
	}, 5*time.Second, 50*time.Millisecond, "log:\n%s", w.out.String())
}

// The worker's /metrics, on its probes' port, counts deliveries by outcome and reads the
// queue's lanes.
func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	smtp := smtptest.Start(t)
	q := queuetest.Client(t, cfg)
	addr := nettest.FreeAddr(t)
	startWorker(t, workerEnv(cfg, smtp, addr))

	// Refused once for now, then accepted: one retry, one delivery.
	smtp.FailNext(1, 451, "4.3.0", "try again later")
	id, err := q.Enqueue(context.Background(), email(1), queue.Options{})
	require.NoError(t, err)
	waitForState(t, q, id, queue.StateCompleted, 20*time.Second)

	smtp.FailRecipient("student2@example.com", 550, "5.1.1 no such user")
	bad, err := q.Enqueue(context.Background(), email(2), queue.Options{})
	require.NoError(t, err)
	waitForState(t, q, bad, queue.StateFailed, 20*time.Second)

	lane := queue.Lane(queue.DefaultPriority)
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
	require.NotContains(t, out, cfg.QueuePrefix, "lanes are labelled by name, not by queue")
}

func scrapeMetrics(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// SIGTERM stops fetching, lets the delivery in flight finish, and exits 0.
func TestSIGTERMDrainsInFlightDeliveries(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	smtp := smtptest.Start(t)
	q := queuetest.Client(t, cfg)
	held, release := smtp.Hold()
	w := startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))

	id, err := q.Enqueue(context.Background(), email(1), queue.Options{})
	require.NoError(t, err)
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the SMTP server")
	}
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	time.AfterFunc(500*time.Millisecond, release)

	require.NoError(t, w.wait(t, 20*time.Second), "exit status 0")
	require.Len(t, smtp.Messages(), 1)
	waitForState(t, q, id, queue.StateCompleted, 5*time.Second)
	require.Contains(t, w.out.String(), "worker stopped")
}

// A worker killed mid-send loses nothing: once its lease expires, another worker runs the job.
func TestSIGKILLMidSendIsDeliveredByAnotherWorker(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for asynq's lease to expire (about a minute)")
	}
	cfg := queuetest.Config(t)
	smtp := smtptest.Start(t)
	q := queuetest.Client(t, cfg)
	held, release := smtp.Hold()
	first := startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))

	id, err := q.Enqueue(context.Background(), email(1), queue.Options{})
	require.NoError(t, err)
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the SMTP server")
	}
	require.NoError(t, first.cmd.Process.Kill())
	_ = first.wait(t, 10*time.Second)
	before := len(smtp.Messages())
	release()

	second := startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))
	st := waitForState(t, q, id, queue.StateCompleted, 150*time.Second)
	require.Equal(t, 100, st.Progress)
	require.Contains(t, second.out.String(), "email job "+id+" completed")
	// The dead worker's data had fully arrived when it was killed, so the server may have kept
	// that copy too: delivery is at least once when a worker dies between the server's accept
	// and the job's acknowledgement. Nothing is lost.
	require.Zero(t, before)
	n := len(smtp.Messages())
	require.True(t, n == 1 || n == 2, "got %d messages", n)
}

// Two workers on one queue deliver every job exactly once.
func TestTwoWorkersNeverDeliverAJobTwice(t *testing.T) {
	t.Parallel()
	cfg := queuetest.Config(t)
	smtp := smtptest.Start(t)
	q := queuetest.Client(t, cfg)
	startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))
	startWorker(t, workerEnv(cfg, smtp, nettest.FreeAddr(t)))

	const n = 100
	for i := range n {
		_, err := q.Enqueue(context.Background(), email(i), queue.Options{})
		require.NoError(t, err)
	}
	msgs := smtp.WaitForMessages(t, n, 60*time.Second)
	time.Sleep(time.Second) // a duplicate would arrive by now
	msgs = smtp.Messages()
	require.Len(t, msgs, n)
	seen := map[string]bool{}
	for _, m := range msgs {
		require.False(t, seen[m.Subject], "%s delivered twice", m.Subject)
		seen[m.Subject] = true
	}
}

// The worker serves its probes, reports Redis's state in readiness, and stops cleanly.
func TestWorkerProbesAndCleanStop(t *testing.T) {
	srv := redistest.StartServer(t)
	smtp := smtptest.Start(t)
	addr := nettest.FreeAddr(t)
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("QUEUE_PREFIX", redistest.Namespace(t))
	t.Setenv("HEALTH_ADDR", addr)
	t.Setenv("SMTP_HOST", smtp.Host())
	t.Setenv("SMTP_PORT", strconv.Itoa(smtp.Port()))
	t.Setenv("SMTP_TLS", "none")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &safeBuffer{}
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
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("HEALTH_ADDR", nettest.FreeAddr(t))
	t.Setenv("SMTP_HOST", smtp.Host())
	t.Setenv("SMTP_PORT", strconv.Itoa(smtp.Port()))
	t.Setenv("SMTP_TLS", "none")

	ctx, cancel := context.WithCancel(context.Background())
	logs := &safeBuffer{}
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
	for _, env := range [][2]string{{"SHUTDOWN_TIMEOUT", "never"}, {"SMTP_TLS", "maybe"}, {"EMAIL_CONCURRENCY", "0"}, {"EMAIL_BACKOFF_BASE", "soon"}} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			err := run(context.Background(), nil, &bytes.Buffer{}, &bytes.Buffer{})
			require.ErrorContains(t, err, env[0])
		})
	}
}
