package httpapi_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// outboxEmail is an email as the outbox holds it, bodies included, as the worker would send it.
type outboxEmail struct {
	ID      string
	Kind    oes.EmailKind
	State   oes.EmailState
	Message mail.Message
}

// emailsTo returns the emails to addr (compared ignoring case) that are still to be sent,
// oldest first, read from the outbox table.
func emailsTo(t *testing.T, b bundle, addr string) []outboxEmail {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `
		SELECT id, kind, state, recipient, subject, coalesce(html_body, ''), coalesce(text_body, '')
		FROM email_outbox
		WHERE lower(recipient) = lower($1) AND state IN ('pending', 'queued')
		ORDER BY id`, addr)
	require.NoError(t, err)
	defer rows.Close()
	var out []outboxEmail
	for rows.Next() {
		var e outboxEmail
		var id int64
		var to string
		require.NoError(t, rows.Scan(&id, &e.Kind, &e.State, &to, &e.Message.Subject, &e.Message.HTML, &e.Message.Text))
		e.ID, e.Message.To = strconv.FormatInt(id, 10), []string{to}
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

// onlyEmailTo returns the one email to addr still to be sent.
func onlyEmailTo(t *testing.T, b bundle, addr string) outboxEmail {
	t.Helper()
	es := emailsTo(t, b, addr)
	require.Len(t, es, 1, "emails to %s", addr)
	return es[0]
}

func jobStatus(t *testing.T, b bundle, id string) oes.Email {
	t.Helper()
	e, err := b.outbox.Email(context.Background(), id)
	require.NoError(t, err)
	return e
}

func counts(t *testing.T, b bundle) oes.EmailCounts {
	t.Helper()
	n, err := b.outbox.Counts(context.Background())
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
