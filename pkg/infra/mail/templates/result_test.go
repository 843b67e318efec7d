package templates_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
)

func TestResultEmail(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	m, err := templates.ResultEmail("ann@example.org", templates.Result{
		Name: hostileName, ExamTitle: "Algebra <b>I</b>", Score: 3, MaxScore: 5, SubmittedAt: at,
	})
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	require.Equal(t, templates.ResultSubject, m.Subject)
	for _, part := range []string{m.HTML, m.Text} {
		require.Contains(t, part, "3 of 5")
		require.Contains(t, part, "2026-03-04 10:30 UTC")
		require.NotContains(t, part, "time ran out")
	}
	require.NotContains(t, m.HTML, "<b>I</b>", "the title is escaped in HTML")
	require.Contains(t, m.Text, "Algebra <b>I</b>")

	m, err = templates.ResultEmail("ann@example.org", templates.Result{Name: "Ann", ExamTitle: "Algebra", MaxScore: 5, SubmittedAt: at, Expired: true})
	require.NoError(t, err)
	require.Contains(t, m.Text, "time ran out")
}
