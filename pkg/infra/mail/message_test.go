package mail_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/oes"
)

func valid() mail.Message {
	return mail.Message{To: []string{"Ann <ann@example.com>"}, Subject: "Hello", Text: "Hi", HTML: "<p>Hi</p>"}
}

func TestValidateAcceptsAWellFormedMessage(t *testing.T) {
	require.NoError(t, valid().Validate())
	m := valid()
	m.HTML = ""
	require.NoError(t, m.Validate(), "a text part alone is enough")
}

func TestValidateRefusesWithTheField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*mail.Message)
		field string
	}{
		{"noRecipient", func(m *mail.Message) { m.To = nil }, "to"},
		{"badAddress", func(m *mail.Message) { m.To = []string{"not an address"} }, "to[0]"},
		{"injectedRecipient", func(m *mail.Message) { m.To = []string{"a@example.com\r\nBcc: x@example.com"} }, "to[0]"},
		{"badFrom", func(m *mail.Message) { m.From = "@@" }, "from"},
		{"injectedSubject", func(m *mail.Message) { m.Subject = "Hi\nBcc: victim@example.com" }, "subject"},
		{"blankSubject", func(m *mail.Message) { m.Subject = " " }, "subject"},
		{"longSubject", func(m *mail.Message) { m.Subject = strings.Repeat("s", 999) }, "subject"},
		{"noBody", func(m *mail.Message) { m.HTML, m.Text = "", "" }, "body"},
		{"bigHTML", func(m *mail.Message) { m.HTML = strings.Repeat("x", 256<<10+1) }, "html"},
		{"bigText", func(m *mail.Message) { m.Text = strings.Repeat("x", 256<<10+1) }, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.edit(&m)
			err := m.Validate()
			require.Equal(t, oes.EINVALID, oes.ErrorCode(err))
			var e *oes.Error
			require.ErrorAs(t, err, &e)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tt.field)
		})
	}
}
