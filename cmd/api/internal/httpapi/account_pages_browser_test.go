package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// TestEmailedLinksInBrowser follows the account emails as their recipient does, with scripts
// turned off in the browser: the verification link from the delivered email opens a page
// whose button verifies the address, and the reset link opens a form that sets the new
// password, with which the account signs in through the API.
func TestEmailedLinksInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	b := setup(t)
	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)
	var loc string
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err, "the pages work without scripts")

	// open loads the emailed link, whose host is the api's public address, from srv.
	open := func(m smtptest.Message, path string) {
		t.Helper()
		link := emailedLink(t, mail.Message{Text: m.Text, HTML: m.HTML}, path)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+link)))
	}
	// submit runs steps that submit a form and waits for the page that answers, whose status
	// it returns.
	submit := func(steps ...chromedp.Action[chromedp.Void]) int64 {
		t.Helper()
		res, err := chromedp.RunResponse(ctx, steps...)
		require.NoError(t, err)
		return res.Status
	}
	// heading waits until the page's heading says want and returns the page's text.
	heading := func(want string) string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(
			`(h => h && h.innerText.includes(%q) && document.body.innerText)(document.getElementById("heading"))`, want),
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "a page headed %q", want)
		return text
	}

	const email, password = "browser@example.org", "long-enough-1"
	rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath,
		body: map[string]string{"email": email, "name": "Browser", "password": password}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	open(smtp.WaitForMessages(t, 1, 20*time.Second)[0], httpapi.VerifyPagePath)
	heading("Verify your email address")
	require.Equal(t, http.StatusForbidden, login(t, b, email, password).Code, "opening the link verifies nothing")
	require.EqualValues(t, http.StatusOK, submit(chromedp.Click(chromedp.ID("confirm-submit"))))
	text := heading("Your email address is verified")
	require.Contains(t, text, "You can sign in now.")
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, srv.URL+httpapi.VerifyPagePath, loc, "the token is not left in the address bar")
	require.Equal(t, http.StatusOK, login(t, b, email, password).Code)

	rec = do(t, b.api, call{method: http.MethodPost, path: httpapi.ResetPath, body: map[string]string{"email": email}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	msgs := smtp.WaitForMessages(t, 2, 20*time.Second)
	require.Equal(t, templates.PasswordResetSubject, msgs[1].Subject)
	open(msgs[1], httpapi.ResetPagePath)
	heading("Choose a new password")
	require.EqualValues(t, http.StatusBadRequest, submit(
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.Click(chromedp.ID("password-submit")),
	))
	text = heading("Choose a new password")
	require.Contains(t, text, "The password must be at least 8 characters.")
	require.EqualValues(t, http.StatusOK, submit(
		chromedp.SendKeys(chromedp.ID("password"), "a-new-password"),
		chromedp.Click(chromedp.ID("password-submit")),
	))
	heading("Your password is changed")
	require.Equal(t, http.StatusOK, login(t, b, email, "a-new-password").Code)
	require.Equal(t, http.StatusUnauthorized, login(t, b, email, password).Code)

	// The link works once: opened again, it says so.
	open(msgs[1], httpapi.ResetPagePath)
	text = heading("This password-reset link does not work")
	require.Contains(t, text, "This link has already been used.")
}
