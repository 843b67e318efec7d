package templates_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
)

const hostileName = `Ann <script>alert("x")</script> & O'Brien`

func TestVerificationEmail(t *testing.T) {
	t.Parallel()
	url := "http://localhost:8080/api/v1/auth/verify?token=abc-DEF_123"
	m, err := templates.VerificationEmail("ann@example.org", templates.Verification{
		Name: hostileName, VerifyURL: url, ExpiresIn: 24 * time.Hour,
	})
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	require.Equal(t, []string{"ann@example.org"}, m.To)
	require.Equal(t, templates.VerificationSubject, m.Subject)

	require.Contains(t, m.HTML, `href="`+url+`"`)
	require.Contains(t, m.HTML, "expires in 24 hours")
	require.NotContains(t, m.HTML, "<script>", "the name is escaped in HTML")
	require.Contains(t, m.HTML, "Ann &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; O&#39;Brien")

	require.Contains(t, m.Text, "Hello "+hostileName+",", "plain text carries the name as it is")
	require.Contains(t, m.Text, "\n"+url+"\n")
}

func TestVerificationEmailEscapesAHostileURL(t *testing.T) {
	t.Parallel()
	m, err := templates.VerificationEmail("ann@example.org", templates.Verification{
		Name: "Ann", VerifyURL: `javascript:alert(1)`, ExpiresIn: time.Hour,
	})
	require.NoError(t, err)
	require.NotContains(t, m.HTML, `href="javascript:`)
}

func TestPasswordResetEmail(t *testing.T) {
	t.Parallel()
	link := "https://oes.example.org/reset-password?token=tok_EN-123"
	m, err := templates.PasswordResetEmail("ann@example.org", templates.PasswordReset{
		Name: hostileName, ResetURL: link, ExpiresIn: time.Hour,
	})
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	require.Equal(t, templates.PasswordResetSubject, m.Subject)

	require.Contains(t, m.HTML, `href="`+link+`"`)
	require.Contains(t, m.Text, "\n"+link+"\n")
	for _, part := range []string{m.HTML, m.Text} {
		require.Contains(t, part, "expires in 1 hour")
	}
	require.NotContains(t, m.HTML, "<script>")
}

func TestDurationsReadNaturally(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24 hours", time.Hour: "1 hour", 90 * time.Minute: "90 minutes", time.Minute: "1 minute", 30 * time.Second: "30 seconds",
	} {
		m, err := templates.VerificationEmail("a@example.org", templates.Verification{Name: "A", VerifyURL: "http://x/v", ExpiresIn: d})
		require.NoError(t, err)
		require.Contains(t, m.Text, "expires in "+want+".", d)
	}
}
