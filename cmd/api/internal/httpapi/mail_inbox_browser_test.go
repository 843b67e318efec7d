package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/delivery"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/outbox"
	"github.com/oeshq/oes/pkg/testkit/nettest"
	"github.com/oeshq/oes/pkg/testkit/program"
)

// TestVerificationEmailInMailInbox is `make run`'s mail inbox as a new user meets it: the api
// registers an account, the email worker delivers its verification email over SMTP to
// MailDev, the local mail catcher `make run` starts (as installed into .local/ by `make
// maildev`), and in Chromium the inbox's web UI lists the email, opens it, and shows the link,
// which points at the api's verification page; opened, that page verifies the account.
func TestVerificationEmailInMailInbox(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	inbox := startMailDev(t)
	b := setup(t)
	startWorkerTo(t, b, inbox.smtpHost, inbox.smtpPort)
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)

	const email, password = "inbox@example.org", "long-enough-1"
	rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath,
		body: map[string]string{"email": email, "name": "Inbox", "password": password}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	// The inbox lists the email (the page fetches the list and keeps it current by itself).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(inbox.url)))
	item, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(
		`(i => i && i.innerText)(Array.from(document.querySelectorAll('[data-testid="email-list-item"]')).find(e => e.innerText.includes(%q)))`,
		templates.VerificationSubject), chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the inbox lists the verification email (a blank page: MailDev's web UI did not load)\n%s", inbox.log())
	require.Contains(t, item, templates.VerificationSubject)

	// Opened, it shows the email's HTML part, whose link is the api's verification page with
	// the account's token.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="email-list-item"]`))))
	shown, err := chromedp.Run(ctx, chromedp.Poll[string](`(v => v && v.innerText)(document.querySelector('[data-testid="email-viewer"]'))`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the inbox opens the email")
	require.Contains(t, shown, templates.VerificationSubject)
	require.Contains(t, shown, email, "the viewer names the recipient")
	href, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(f => f && f.contentDocument && (a => a && a.href)(f.contentDocument.querySelector('a[href*="token="]')))`+
			`(document.querySelector('[data-testid="email-viewer"] iframe'))`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the opened email shows its HTML part with the link")
	link, err := url.Parse(href)
	require.NoError(t, err)
	require.Equal(t, testBaseURL+httpapi.VerifyPagePath, link.Scheme+"://"+link.Host+link.Path, "the link opens the api's verification page")
	require.Len(t, link.Query().Get("token"), 43, "32 random bytes, base64url")

	// Followed (from the api this test serves, in place of the public address the link
	// names), it opens the verification page, whose button verifies the account.
	require.Equal(t, http.StatusForbidden, login(t, b, email, password).Code, "not verified yet")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+link.RequestURI())))
	heading := func(want string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
			`(h => !!h && h.innerText.includes(%q))(document.getElementById("heading"))`, want),
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "a page headed %q", want)
	}
	heading("Verify your email address")
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("confirm-submit")))
	require.NoError(t, err)
	require.EqualValues(t, http.StatusOK, res.Status)
	heading("Your email address is verified")
	require.Equal(t, http.StatusOK, login(t, b, email, password).Code)
}

// startWorkerTo runs an email worker (relay and delivery) over b's outbox and queue,
// delivering to the SMTP server at host:port, until the test ends.
func startWorkerTo(t *testing.T, b bundle, host string, port int) {
	t.Helper()
	sender, err := smtpsend.New(smtpsend.Config{Host: host, Port: port, TLS: smtpsend.TLSNone, From: "OES <no-reply@oes.test>"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	w, err := delivery.StartWorker(delivery.WorkerConfig{
		Queue: b.queueCfg, Store: b.store, Sender: sender, Log: discardLog(),
		Relay: outbox.RelayConfig{Tick: 100 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(w.Shutdown)
}

// mailDev is a MailDev started for one test.
type mailDev struct {
	url      string // its web UI
	smtpHost string
	smtpPort int
	logPath  string
}

// log returns what MailDev wrote, for a failure's message.
func (m *mailDev) log() string {
	b, _ := os.ReadFile(m.logPath)
	return "MailDev's output:\n" + string(b)
}

// startMailDev starts the MailDev that `make maildev` installs (.local/bin/maildev at the root
// of the repository, or $MAILDEV) on free 127.0.0.1 ports, with its mail in a directory of the
// test's, and stops it when the test ends. The test fails when it is not installed: `make test`
// installs it first.
func startMailDev(t *testing.T) *mailDev {
	t.Helper()
	bin := os.Getenv("MAILDEV")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), ".local", "bin", "maildev")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("MailDev, the mail catcher of `make run`, is not installed: run `make maildev` (make test does), or set MAILDEV: %v", err)
	}
	// Another process may take a free port before MailDev binds it: new ports are tried.
	var err error
	for range 3 {
		var m *mailDev
		if m, err = tryMailDev(t, bin); err == nil {
			return m
		}
	}
	t.Fatalf("start MailDev: %v", err)
	return nil
}

func tryMailDev(t *testing.T, bin string) (*mailDev, error) {
	dir := t.TempDir()
	smtpAddr, webAddr := nettest.FreeAddr(t), nettest.FreeAddr(t)
	smtpHost, smtpPort, _ := net.SplitHostPort(smtpAddr)
	webHost, webPort, _ := net.SplitHostPort(webAddr)
	m := &mailDev{url: "http://" + webAddr + "/", smtpHost: smtpHost, logPath: filepath.Join(dir, "maildev.log")}
	m.smtpPort, _ = strconv.Atoi(smtpPort)
	logFile, err := os.Create(m.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := program.Command(t, 5*time.Second, bin, "--ip", smtpHost, "--smtp", smtpPort, "--web-ip", webHost, "--web", webPort,
		"--mail-directory", filepath.Join(dir, "mail"))
	cmd.Dir = dir // MailDev reads configuration files from its directory and those above it
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	ready := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"api/healthz", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return false
		}
		c, err := net.DialTimeout("tcp", smtpAddr, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !ready() {
		select {
		case <-exited:
			return nil, fmt.Errorf("MailDev exited on start\n%s", m.log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.New("MailDev did not answer within 20 s\n" + m.log())
		}
	}
	return m, nil
}

// repoRoot returns the root of the repository: the directory of go.work, above the test's.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.work above the test's directory")
		dir = parent
	}
}
