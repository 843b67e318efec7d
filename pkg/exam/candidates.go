package exam

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Limits of the candidates of one assignment and of an announcement.
const (
	MaxCandidatesPerCall = 10000
	MaxAnnouncementText  = 20000
	MaxAnnouncementTitle = 200
	AnnouncementPriority = 2 // the low lane: bulk mail never holds back account or result emails
	AnnouncementAttempts = 3
	placeholderRecipient = "candidate@example.org"
)

// AddCandidates assigns students to exam examID: by id, by address, or every student. Once
// an exam has candidates, only they may start it. EINVALID for an empty or oversized list,
// ENOTFOUND for a missing exam; the students named that do not exist are reported, not an
// error.
func (s *Service) AddCandidates(ctx context.Context, examID int64, in store.CandidatesInput) (store.CandidatesAdded, error) {
	var fs []oes.FieldError
	n := len(in.UserIDs) + len(in.Emails)
	switch {
	case in.AllStudents && n > 0:
		fs = append(fs, oes.FieldError{Field: "all_students", Message: "cannot be combined with user_ids or emails"})
	case !in.AllStudents && n == 0:
		fs = append(fs, oes.FieldError{Field: "body", Message: "names no candidate: give user_ids, emails or all_students"})
	case n > MaxCandidatesPerCall:
		fs = append(fs, oes.FieldError{Field: "body", Message: "names more than 10000 candidates; split it"})
	}
	for i, e := range in.Emails {
		if !strings.Contains(e, "@") {
			fs = append(fs, oes.FieldError{Field: "emails[" + strconv.Itoa(i) + "]", Message: "is not an email address"})
		}
	}
	if fs != nil {
		return store.CandidatesAdded{}, oes.Invalid(fs...)
	}
	added, err := s.store.AddCandidates(ctx, examID, in)
	if err != nil || added.Added == 0 {
		return added, err
	}
	e, err := s.store.GetExam(ctx, examID)
	if err == nil {
		err = s.reschedule(ctx, e)
	}
	return added, err
}

// CandidatePage is one page of an exam's candidates.
type CandidatePage struct {
	ExamID     int64             `json:"exam_id"`
	Page       int               `json:"page"`
	Size       int               `json:"size"`
	Total      int               `json:"total"`
	Candidates []store.Candidate `json:"candidates"`
}

// Candidates returns one page (from 1) of an exam's candidates. ENOTFOUND.
func (s *Service) Candidates(ctx context.Context, examID int64, page, size int) (CandidatePage, error) {
	cs, total, err := s.store.ListCandidates(ctx, examID, page, size)
	if err != nil {
		return CandidatePage{}, err
	}
	return CandidatePage{ExamID: examID, Page: page, Size: size, Total: total, Candidates: cs}, nil
}

// RemoveCandidate unassigns a student. ENOTFOUND when they were not a candidate.
func (s *Service) RemoveCandidate(ctx context.Context, examID, userID int64) error {
	if err := s.store.RemoveCandidate(ctx, examID, userID); err != nil {
		return err
	}
	_, err := s.store.CancelReminders(ctx, examID, userID)
	return err
}

// AnnouncementInput is what an admin writes to an exam's candidates.
type AnnouncementInput struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Announce writes an email of in to every candidate of exam examID whose address is not
// suppressed, all in one statement, on the queue's low lane. EINVALID (subject, text),
// ENOTFOUND.
func (s *Service) Announce(ctx context.Context, examID int64, in AnnouncementInput) (store.Announcement, error) {
	var fs []oes.FieldError
	switch subject := strings.TrimSpace(in.Subject); {
	case subject == "":
		fs = append(fs, oes.FieldError{Field: "subject", Message: "is required"})
	case utf8.RuneCountInString(subject) > MaxAnnouncementTitle || strings.ContainsAny(subject, "\r\n"):
		fs = append(fs, oes.FieldError{Field: "subject", Message: "must be one line of at most 200 characters"})
	}
	switch {
	case strings.TrimSpace(in.Text) == "":
		fs = append(fs, oes.FieldError{Field: "text", Message: "is required"})
	case utf8.RuneCountInString(in.Text) > MaxAnnouncementText:
		fs = append(fs, oes.FieldError{Field: "text", Message: "must be at most 20000 characters"})
	}
	if fs != nil {
		return store.Announcement{}, oes.Invalid(fs...)
	}
	e, err := s.store.GetExam(ctx, examID)
	if err != nil {
		return store.Announcement{}, err
	}
	m, err := templates.AnnouncementEmail(placeholderRecipient, templates.Announcement{
		ExamTitle: e.Title, Subject: strings.TrimSpace(in.Subject), Text: in.Text,
	})
	if err != nil {
		return store.Announcement{}, err
	}
	return s.store.InsertAnnouncement(ctx, examID, store.NewEmail{
		Kind: oes.EmailAnnouncement, Message: m, Priority: AnnouncementPriority, MaxAttempts: AnnouncementAttempts,
	})
}
