package httpapi_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/mail"
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

// emailedLink returns the path and query of the link in an account email, checking that both
// parts carry the same link and that it opens the page at path.
func emailedLink(t *testing.T, m mail.Message, path string) string {
	t.Helper()
	match := hrefPattern.FindStringSubmatch(m.HTML)
	require.NotNil(t, match, "no link in %s", m.HTML)
	link := html.UnescapeString(match[1])
	require.Contains(t, m.Text, "\n"+link+"\n", "the text part carries the same link")
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "oes.example.org", u.Host, "links point at LINK_BASE_URL, by default APP_BASE_URL")
	require.Equal(t, path, u.Path)
	require.Len(t, u.Query().Get("token"), 43, "32 random bytes, base64url")
	return u.RequestURI()
}

// verificationLink returns the JSON endpoint that verifies with the token of the link in a
// verification email, for API clients; the link itself opens VerifyPagePath.
func verificationLink(t *testing.T, m mail.Message) string {
	t.Helper()
	u, err := url.Parse(emailedLink(t, m, httpapi.VerifyPagePath))
	require.NoError(t, err)
	return httpapi.VerifyPath + "?" + u.RawQuery
}

// resetToken returns the token of the link in a password-reset email.
func resetToken(t *testing.T, m mail.Message) string {
	t.Helper()
	u, err := url.Parse(emailedLink(t, m, httpapi.ResetPagePath))
	require.NoError(t, err)
	return u.Query().Get("token")
}
