package httpapi_test

import (
	"context"
	"errors"
	"html"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
	"github.com/oeshq/oes/pkg/queue/queuetest"
)

// queuedEmail is an email job as the worker would take it from the queue.
type queuedEmail struct {
	ID      string
	Message mail.Message
}

// waitingEmails returns the email jobs waiting in b's queue, read from Redis through asynq's
// inspector as the worker would read them.
func waitingEmails(t *testing.T, b bundle) []queuedEmail {
	t.Helper()
	insp := asynq.NewInspectorFromRedisClient(queuetest.Redis(t, b.queueCfg))
	var out []queuedEmail
	for _, q := range b.queueCfg.QueueNames() {
		infos, err := insp.ListPendingTasks(q, asynq.PageSize(1000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			continue
		}
		require.NoError(t, err)
		for _, info := range infos {
			m, err := queue.DecodeTask(asynq.NewTask(info.Type, info.Payload))
			require.NoError(t, err)
			out = append(out, queuedEmail{ID: info.ID, Message: m})
		}
	}
	return out
}

// emailsTo returns the waiting email jobs addressed to addr.
func emailsTo(t *testing.T, b bundle, addr string) []queuedEmail {
	t.Helper()
	var out []queuedEmail
	for _, e := range waitingEmails(t, b) {
		if slices.Contains(e.Message.To, addr) {
			out = append(out, e)
		}
	}
	return out
}

// onlyEmailTo returns the one waiting email job addressed to addr.
func onlyEmailTo(t *testing.T, b bundle, addr string) queuedEmail {
	t.Helper()
	es := emailsTo(t, b, addr)
	require.Len(t, es, 1, "emails to %s", addr)
	return es[0]
}

func jobStatus(t *testing.T, b bundle, id string) queue.Status {
	t.Helper()
	s, err := b.queue.Status(context.Background(), id)
	require.NoError(t, err)
	return s
}

func counts(t *testing.T, b bundle) queue.Counts {
	t.Helper()
	n, err := b.queue.Counts(context.Background())
	require.NoError(t, err)
	return n
}

var hrefPattern = regexp.MustCompile(`<a href="([^"]+)"`)

// verificationLink returns the path and query of the link in a verification email, checking
// that both parts carry the same link.
func verificationLink(t *testing.T, m mail.Message) string {
	t.Helper()
	match := hrefPattern.FindStringSubmatch(m.HTML)
	require.NotNil(t, match, "no link in %s", m.HTML)
	link := html.UnescapeString(match[1])
	require.Contains(t, m.Text, "\n"+link+"\n", "the text part carries the same link")
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "oes.example.org", u.Host, "links point at APP_BASE_URL")
	return u.RequestURI()
}

var resetTokenPattern = regexp.MustCompile(`Reset token:\s+(\S+)`)

// resetToken returns the token in a password-reset email.
func resetToken(t *testing.T, m mail.Message) string {
	t.Helper()
	match := resetTokenPattern.FindStringSubmatch(m.Text)
	require.NotNil(t, match, "no token in %s", m.Text)
	require.Contains(t, m.HTML, match[1])
	return match[1]
}
