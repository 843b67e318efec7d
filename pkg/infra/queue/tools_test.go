package queue_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/queue"
)

func TestDisplayPayloadShowsTheKindAndPriorityOfAnEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	info := b.task(t, b.enqueue(t, queue.Job{ID: 42, Kind: "reset_password", Priority: 9}))

	shown := queue.DisplayPayload(info.Type, info.Payload)

	var fields map[string]any
	require.NoError(t, json.Unmarshal([]byte(shown), &fields), shown)
	require.Equal(t, "reset_password", fields["kind"])
	require.EqualValues(t, 9, fields["priority"])
	require.Contains(t, fields["email"], "outbox", "where to read the email instead")
	require.Len(t, fields, 3)
}

// A dashboard may show any task of the lanes, including one enqueued by an older version,
// whose payload held the whole message, and a task of another program.
func TestDisplayPayloadWithholdsWhatItCannotVouchFor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ, body string
		foreign   bool
	}{
		{"report:build", `{"secret":"x"}`, true},
		{queue.TypeEmail, `{"to":`, true},
		{queue.TypeEmail, `["secret"]`, true},
		{queue.TypeEmail, `{"to":["learner@example.org"],"subject":"Reset your password",` +
			`"html":"<a href=\"https://oes.example.org/reset?token=secret\">Reset</a>",` +
			`"text":"https://oes.example.org/reset?token=secret","priority":9}`, false},
	} {
		shown := queue.DisplayPayload(c.typ, []byte(c.body))
		for _, personal := range []string{"secret", "learner@example.org", "Reset your password"} {
			require.NotContains(t, shown, personal, c.body)
		}
		if c.foreign {
			require.Contains(t, shown, "not an email job", c.body)
		}
	}
}
