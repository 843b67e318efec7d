package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

func candidatesPath(id int64) string { return fmt.Sprintf("/api/v1/admin/exams/%d/candidates", id) }

// addStudents creates n verified students, student-000@bulk.test and on, in one statement.
func addStudents(t *testing.T, b bundle, n int) {
	t.Helper()
	_, err := b.pool.Exec(context.Background(), `INSERT INTO users (email, name, password_hash, role, email_verified_at)
		SELECT format('student-%s@bulk.test', lpad(i::text, 3, '0')), 'Student ' || i, 'x', 'student', now()
		FROM generate_series(0, $1 - 1) AS i`, n)
	require.NoError(t, err)
}

func TestCandidatesAloneTakeTheirExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := createPolicyExam(t, b, "Assigned", oes.ExamInput{})
	open, _ := createPolicyExam(t, b, "Everyone", oes.ExamInput{})
	other := otherStudent(t, b)
	addStudents(t, b, 3)

	rec := do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true, body: store.CandidatesInput{
		UserIDs: []int64{b.student.ID, 999999, b.admin.ID}, Emails: []string{"Student-001@bulk.test", "nobody@example.org"},
	}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	added := decode[store.CandidatesAdded](t, rec)
	require.Equal(t, 2, added.Added)
	require.Equal(t, []int64{999999, b.admin.ID}, added.UnknownUserIDs, "an admin is not a student")
	require.Equal(t, []string{"nobody@example.org"}, added.UnknownEmails)
	again := decode[store.CandidatesAdded](t, do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true,
		body: store.CandidatesInput{UserIDs: []int64{b.student.ID}}}))
	require.Zero(t, again.Added, "assigned already")

	rec = do(t, b.api, call{method: "GET", path: candidatesPath(e.ID) + "?page=1&size=1", admin: true})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := decode[exam.CandidatePage](t, rec)
	require.Equal(t, 2, page.Total)
	require.Len(t, page.Candidates, 1)
	require.Equal(t, b.student.ID, page.Candidates[0].UserID)

	// The candidates take it; another student does not, nor sees it among their open exams.
	startAttempt(t, b, e.ID, b.studentJWT)
	rec = do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/attempts", e.ID), as: other})
	requireError(t, rec, http.StatusForbidden, oes.ENOTACANDIDATE, "")
	list := decode[attempt.OpenExamList](t, do(t, b.api, call{method: "GET", path: "/api/v1/users/me/open-exams", as: other})).Exams
	require.Len(t, list, 1)
	require.Equal(t, open.ID, list[0].ExamID)
	startAttempt(t, b, open.ID, other)

	// All students, then one removed.
	all := decode[store.CandidatesAdded](t, do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true,
		body: store.CandidatesInput{AllStudents: true}}))
	require.Equal(t, 3, all.Added, "the other student and two bulk ones")
	rec = do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("%s/%d", candidatesPath(e.ID), b.student.ID), admin: true})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	requireError(t, do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("%s/%d", candidatesPath(e.ID), b.student.ID), admin: true}),
		http.StatusNotFound, oes.ENOTFOUND, "")

	for _, body := range []any{store.CandidatesInput{}, store.CandidatesInput{AllStudents: true, UserIDs: []int64{1}},
		store.CandidatesInput{Emails: []string{"not-an-address"}}} {
		requireError(t, do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true, body: body}), http.StatusBadRequest, oes.EINVALID, "")
	}
	requireError(t, do(t, b.api, call{method: "POST", path: candidatesPath(999999), admin: true,
		body: store.CandidatesInput{UserIDs: []int64{b.student.ID}}}), http.StatusNotFound, oes.ENOTFOUND, "")
	requireError(t, do(t, b.api, call{method: "GET", path: candidatesPath(e.ID), as: b.studentJWT}), http.StatusForbidden, oes.EFORBIDDEN, "")
}

func TestAnnouncementReachesEveryCandidateButTheSuppressed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 200
	e, _ := createPolicyExam(t, b, "Announced", oes.ExamInput{})
	addStudents(t, b, n)
	require.Equal(t, n, decode[store.CandidatesAdded](t, do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true,
		body: store.CandidatesInput{AllStudents: true}})).Added-1, "and the bundle's student")
	_, err := b.pool.Exec(context.Background(),
		`INSERT INTO email_suppressions (address, reason) VALUES ('student-007@bulk.test', '550 5.1.1 no such user')`)
	require.NoError(t, err)

	path := fmt.Sprintf("/api/v1/admin/exams/%d/announcements", e.ID)
	requireError(t, do(t, b.api, call{method: "POST", path: path, admin: true, body: map[string]string{"text": "hi"}}),
		http.StatusBadRequest, oes.EINVALID, "subject")
	requireError(t, do(t, b.api, call{method: "POST", path: path, admin: true, body: map[string]string{"subject": "a\nb", "text": "hi"}}),
		http.StatusBadRequest, oes.EINVALID, "subject")

	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)
	rec := do(t, b.api, call{method: "POST", path: path, admin: true, body: exam.AnnouncementInput{
		Subject: "Room change", Text: "The exam moves to room <B12>.\nBring a pen.",
	}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	a := decode[store.Announcement](t, rec)
	require.Equal(t, store.Announcement{Emails: n, Suppressed: 1}, a)

	msgs := smtp.WaitForMessages(t, n, 60*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		require.Equal(t, "Room change", m.Subject)
		require.Contains(t, m.Text, "room <B12>.\nBring a pen.")
		require.Contains(t, m.HTML, "room &lt;B12&gt;.", "escaped in the HTML part")
		require.Len(t, m.To, 1)
		seen[m.To[0]] = true
	}
	require.Len(t, seen, n, "one each")
	require.False(t, seen["student-007@bulk.test"], "the suppressed address is skipped")
	require.True(t, seen[b.student.Email])
}
