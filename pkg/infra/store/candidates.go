package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db/dbsqlc"
)

// CandidatesInput names the students to assign to an exam: by id, by address, or all of them.
type CandidatesInput struct {
	UserIDs     []int64  `json:"user_ids"`
	Emails      []string `json:"emails"`
	AllStudents bool     `json:"all_students"`
}

// CandidatesAdded says what an assignment did.
type CandidatesAdded struct {
	Added int `json:"added"` // students newly assigned
	// UnknownUserIDs and UnknownEmails are the ones named that are not students' (no such
	// account, or an admin's).
	UnknownUserIDs []int64  `json:"unknown_user_ids"`
	UnknownEmails  []string `json:"unknown_emails"`
}

// AddCandidates assigns students to exam examID, in one transaction; those assigned already
// stay. ENOTFOUND when the exam does not exist.
func (s *Store) AddCandidates(ctx context.Context, examID int64, in CandidatesInput) (CandidatesAdded, error) {
	out := CandidatesAdded{UnknownUserIDs: []int64{}, UnknownEmails: []string{}}
	emails := make([]string, len(in.Emails))
	for i, e := range in.Emails {
		emails[i] = strings.ToLower(strings.TrimSpace(e))
	}
	ids := in.UserIDs
	if ids == nil {
		ids = []int64{}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.q.LockExam(ctx, tx, examID); err != nil {
			return translate(err, examSubject(examID))
		}
		if in.AllStudents {
			n, err := s.q.AddAllStudentsAsCandidates(ctx, tx, examID)
			out.Added = int(n)
			return err
		}
		found, err := s.q.FindStudents(ctx, tx, dbsqlc.FindStudentsParams{UserIds: ids, Emails: emails})
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, f := range found {
			known[fmt.Sprint(f.ID)], known[f.Email] = true, true
		}
		for _, id := range ids {
			if !known[fmt.Sprint(id)] {
				out.UnknownUserIDs = append(out.UnknownUserIDs, id)
			}
		}
		for _, e := range emails {
			if !known[e] {
				out.UnknownEmails = append(out.UnknownEmails, e)
			}
		}
		byID, err := s.q.AddCandidatesByID(ctx, tx, dbsqlc.AddCandidatesByIDParams{ExamID: examID, UserIds: ids})
		if err != nil {
			return err
		}
		byEmail, err := s.q.AddCandidatesByEmail(ctx, tx, dbsqlc.AddCandidatesByEmailParams{ExamID: examID, Emails: emails})
		out.Added = len(byID) + len(byEmail)
		return err
	})
	if err != nil {
		return CandidatesAdded{}, translate(err, examSubject(examID))
	}
	return out, nil
}

// Candidate is a student assigned to an exam.
type Candidate struct {
	UserID  int64     `json:"user_id"`
	Email   string    `json:"email"`
	Name    string    `json:"name"`
	AddedAt time.Time `json:"added_at"`
}

// ListCandidates returns one page (from 1) of an exam's candidates, in the order they were
// assigned, and how many it has. ENOTFOUND when the exam does not exist.
func (s *Store) ListCandidates(ctx context.Context, examID int64, page, size int) ([]Candidate, int, error) {
	if _, err := s.q.GetExam(ctx, s.pool, examID); err != nil {
		return nil, 0, translate(err, examSubject(examID))
	}
	total, err := s.q.CountCandidates(ctx, s.pool, examID)
	if err != nil {
		return nil, 0, translate(err, "candidates")
	}
	skip, ok := offset(page, size)
	if !ok {
		return []Candidate{}, int(total), nil
	}
	rows, err := s.q.ListCandidates(ctx, s.pool, dbsqlc.ListCandidatesParams{ExamID: examID, Skip: skip, Size: int32(size)})
	if err != nil {
		return nil, 0, translate(err, "candidates")
	}
	out := make([]Candidate, len(rows))
	for i, r := range rows {
		out[i] = Candidate(r)
	}
	return out, int(total), nil
}

// RemoveCandidate unassigns a student from an exam. ENOTFOUND when they were not assigned.
func (s *Store) RemoveCandidate(ctx context.Context, examID, userID int64) error {
	n, err := s.q.RemoveCandidate(ctx, s.pool, dbsqlc.RemoveCandidateParams{ExamID: examID, UserID: userID})
	if err != nil {
		return translate(err, "candidate")
	}
	if n == 0 {
		return notFound(fmt.Sprintf("candidate %d of exam %d", userID, examID))
	}
	return nil
}

// Announcement counts what InsertAnnouncement wrote.
type Announcement struct {
	Emails     int `json:"emails"`     // one per candidate whose address is not suppressed
	Suppressed int `json:"suppressed"` // candidates left out: their address is suppressed
}

// InsertAnnouncement writes e, whose message has no recipient yet, to every candidate of exam
// examID whose address is not suppressed, in one statement. ENOTFOUND when the exam does not
// exist; EINVALID when e is not fit to send.
func (s *Store) InsertAnnouncement(ctx context.Context, examID int64, e NewEmail) (Announcement, error) {
	probe := e
	probe.Message.To = []string{"candidate@example.org"}
	if err := probe.validate(); err != nil {
		return Announcement{}, err
	}
	if _, err := s.q.GetExam(ctx, s.pool, examID); err != nil {
		return Announcement{}, translate(err, examSubject(examID))
	}
	r, err := s.q.InsertAnnouncement(ctx, s.pool, dbsqlc.InsertAnnouncementParams{
		ExamID: examID, Kind: string(e.Kind), FromAddress: e.Message.From, ReplyTo: e.Message.ReplyTo,
		Subject: e.Message.Subject, HtmlBody: nonEmpty(e.Message.HTML), TextBody: nonEmpty(e.Message.Text),
		Priority: int16(e.Priority), MaxAttempts: int16(e.MaxAttempts),
	})
	if err != nil {
		return Announcement{}, translate(err, "announcement")
	}
	return Announcement{Emails: int(r.Written), Suppressed: int(r.Suppressed)}, nil
}
