package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// reminderStates counts the reminders of exam examID by state.
func reminderStates(t *testing.T, b bundle, examID int64) map[string]int {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT state, count(*) FROM email_outbox WHERE exam_id = $1 AND kind = 'exam_reminder' GROUP BY state`, examID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// With reminders 2 s and 1 s before the opening, a candidate gets each at its time; moving the
// opening writes them again for the new time; deleting the exam cancels them.
func TestRemindersArriveOnTimeFollowTheOpeningAndDieWithTheExam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reminders = []time.Duration{2 * time.Second, time.Second}
	b.api = b.newAPI(t, b.pool, b.cache, b.queue)
	smtp := smtptest.Start(t)
	startWorker(t, b, smtp)

	// Far away first: nothing is due yet.
	far := time.Now().Add(time.Hour).UTC()
	e, _ := createPolicyExam(t, b, "Reminded", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Time: &far}})
	rec := do(t, b.api, call{method: "POST", path: candidatesPath(e.ID), admin: true, body: store.CandidatesInput{UserIDs: []int64{b.student.ID}}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 2, reminderStates(t, b, e.ID)["pending"]+reminderStates(t, b, e.ID)["queued"], "one per offset")

	// Moving the opening to 4 s from now cancels those and schedules two at 2 s and 3 s.
	opens := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	patchExam(t, b, e.ID, map[string]any{"opens_at": opens})
	require.Equal(t, 2, reminderStates(t, b, e.ID)["cancelled"])

	msgs := smtp.WaitForMessages(t, 2, 20*time.Second)
	for i, m := range msgs {
		require.Equal(t, []string{b.student.Email}, m.To)
		require.Equal(t, "Reminded opens soon", m.Subject)
		require.Contains(t, m.Text, opens.Format("2006-01-02 15:04 MST"))
		want := opens.Add(-b.reminders[i])
		// Delivered at its time, not before: asynq runs a delayed job within about a second of it.
		require.False(t, m.Received.Before(want.Add(-10*time.Millisecond)), "reminder %d arrived at %s, due %s", i, m.Received, want)
		require.WithinDuration(t, want, m.Received, 3*time.Second, "reminder %d", i)
	}

	// Another exam whose reminders die with it.
	gone, _ := createPolicyExam(t, b, "Deleted", oes.ExamInput{OpensAt: oes.OptionalTime{Set: true, Time: &far}})
	do(t, b.api, call{method: "POST", path: candidatesPath(gone.ID), admin: true, body: store.CandidatesInput{UserIDs: []int64{b.student.ID}}})
	require.Len(t, reminderStates(t, b, gone.ID), 1)
	var ids []int64
	rows, err := b.pool.Query(context.Background(), `SELECT id FROM email_outbox WHERE exam_id = $1`, gone.ID)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	rows.Close()
	rec = do(t, b.api, call{method: "DELETE", path: fmt.Sprintf("/api/v1/exams/%d", gone.ID), admin: true})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	for _, id := range ids {
		e, err := b.store.GetEmail(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, oes.EmailCancelled, e.State, "a reminder of a deleted exam is not sent")
	}
}
