package queue_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/mail"
	"github.com/oeshq/oes/pkg/queue"
)

func TestDisplayPayloadWithholdsBodies(t *testing.T) {
	t.Parallel()
	msg := mail.Message{
		To: []string{"learner@example.org"}, Subject: "Reset your password",
		HTML: `<a href="https://oes.example.org/reset?token=reset-secret">Reset</a>`,
		Text: "https://oes.example.org/reset?token=reset-secret",
	}
	task, _, err := queue.DefaultConfig().NewTask(msg, queue.Options{Priority: 9})
	require.NoError(t, err)

	shown := queue.DisplayPayload(task.Type(), task.Payload())
	require.NotContains(t, shown, "reset-secret")
	var fields struct {
		To        []string `json:"to"`
		Subject   string   `json:"subject"`
		Priority  int      `json:"priority"`
		HTMLBytes int      `json:"html_bytes"`
		TextBytes int      `json:"text_bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(shown), &fields), shown)
	require.Equal(t, []string{"learner@example.org"}, fields.To)
	require.Equal(t, "Reset your password", fields.Subject)
	require.Equal(t, 9, fields.Priority)
	require.Equal(t, len(msg.HTML), fields.HTMLBytes)
	require.Equal(t, len(msg.Text), fields.TextBytes)
}

func TestDisplayPayloadOfForeignJobs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ typ, body string }{
		{"report:build", `{"secret":"x"}`},
		{queue.TypeEmail, `{"to":`},
		{queue.TypeEmail, `{"to":["not an address"],"subject":"s","text":"secret"}`},
	} {
		shown := queue.DisplayPayload(c.typ, []byte(c.body))
		require.NotContains(t, shown, "secret", c)
		require.Contains(t, shown, "not an email job", c)
	}
}
