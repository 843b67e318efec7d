package httpapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/testkit/program"
)

// chromium returns the headless browser's path: $CHROMIUM, else Debian's chromium. Without
// one the test is skipped on a developer's machine and fails under CI=true, where .ci/run
// installs it.
func chromium(t *testing.T) string {
	t.Helper()
	name := os.Getenv("CHROMIUM")
	if name == "" {
		name = "chromium"
	}
	return program.Find(t, name, "Chromium (Debian's chromium package), or set CHROMIUM")
}

// browser starts a headless Chromium of its own for the test, with a fresh profile and no
// background traffic: the page under test is the only thing it loads.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in a container has no user namespace to sandbox with
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestDashboardInBrowser drives the queue dashboard as an operator would: opening it sends
// the browser to the sign-in page, a student is turned away there, and an admin lands on
// asynqmon, which lists the email lane with its jobs, none with its recipient or body.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	b := setup(t)
	var jobs []queue.Job
	for range 3 {
		jobs = append(jobs, queueSecret(t, b, "browser-secret"))
	}
	lane := b.queueCfg.QueueName(queue.LaneDefault)
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin/queues/"),
		chromedp.WaitVisible(chromedp.ID("email")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, srv.URL+httpapi.AdminLoginPath, loc, "not signed in: the sign-in page")

	signIn := func(email, password string) error {
		return chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+httpapi.AdminLoginPath),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.ID("submit")),
		)
	}
	require.NoError(t, signIn(b.student.Email, studentPassword))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("error").innerText.includes("admins only")`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "a student is told the dashboard is for admins")

	require.NoError(t, signIn(b.admin.Email, adminPassword))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("table"))), "signed in: the dashboard")
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, srv.URL+"/admin/queues/", loc)
	// asynqmon's queue table: name, state, size, memory, latency, processed, failed, error rate.
	row, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("tr")).map(r => r.innerText).find(t => t.startsWith(%q))`, lane+"\t"),
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the dashboard lists the lane")
	cells := strings.Split(row, "\t")
	require.GreaterOrEqual(t, len(cells), 3, "row %q", row)
	require.Equal(t, "run", cells[1], "row %q: the lane is not paused", row)
	require.Equal(t, "3", cells[2], "row %q: three jobs queued", row)

	// The lane's page lists the pending jobs by their outbox ids, with their kind: the
	// recipients and the bodies are not in Redis at all.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin/queues/queues/"+url.PathEscape(lane)+"?status=pending")))
	text, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(
		`document.body.innerText.includes(%q) && document.body.innerText`, queue.TaskID(jobs[2].ID)),
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the lane's page lists its jobs")
	require.Contains(t, text, queue.TaskID(jobs[0].ID))
	require.Contains(t, text, "verify_email")
	require.NotContains(t, text, "learner@example.org")
	require.NotContains(t, text, "browser-secret")
}
