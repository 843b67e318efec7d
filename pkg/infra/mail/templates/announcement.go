package templates

import "github.com/oeshq/oes/pkg/infra/mail"

// Announcement is what an admin writes to the candidates of an exam.
type Announcement struct {
	ExamTitle string
	Subject   string
	Text      string // plain text; line breaks are kept
}

// AnnouncementEmail returns the announcement a, the same for every candidate, to the address to
// (which may be a placeholder: the outbox writes one copy per candidate).
func AnnouncementEmail(to string, a Announcement) (mail.Message, error) {
	return render(to, a.Subject, "announcement", a)
}
