package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/delivery"
	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/mail/smtpsend"
	"github.com/oeshq/oes/pkg/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// The whole account flow over the real pipeline: the api queues the verification email, a
// worker (the delivery handler over the pooled SMTP sender) delivers it to an SMTP server, and
// the link in the delivered message verifies the account.
func TestRegistrationEmailArrivesAndItsLinkVerifies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	smtp := smtptest.Start(t)
	sender, err := smtpsend.New(smtpsend.Config{Host: smtp.Host(), Port: smtp.Port(), TLS: smtpsend.TLSNone, From: "OES <no-reply@oes.test>"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close() })
	queuetest.StartWorker(t, b.queueCfg, delivery.New(sender, queuetest.Redis(t, b.queueCfg), b.queueCfg, discardLog()))

	rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register", body: map[string]any{
		"email": "e2e@example.com", "name": "End To End", "password": "long-enough-1",
	}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	got := smtp.WaitForMessages(t, 1, 20*time.Second)[0]
	require.Equal(t, []string{"e2e@example.com"}, got.To)
	require.Equal(t, http.StatusForbidden, login(t, b, "e2e@example.com", "long-enough-1").Code, "not verified yet")

	link := verificationLink(t, mail.Message{Text: got.Text, HTML: got.HTML})
	rec = do(t, b.api, call{method: "GET", path: link})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, http.StatusOK, login(t, b, "e2e@example.com", "long-enough-1").Code)
}
