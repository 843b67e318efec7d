package attempt

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// fakeStore is an attemptStore in memory. A transaction works on a copy of the data, kept
// when its function returns nil and dropped otherwise; transactions run one at a time, as the
// attempt's row lock makes them.
type fakeStore struct {
	mu        sync.Mutex
	attempts  map[int64]oes.Attempt
	questions map[int64][]oes.Question // by exam
	answers   map[int64]store.Answers  // by attempt
	emails    []store.NewEmail
	// emailErr, when set, is what InsertEmail fails with.
	emailErr error
}

func (f *fakeStore) AttemptTx(_ context.Context, fn func(store.AttemptTx) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	tx := &fakeTx{
		store:    f,
		attempts: maps.Clone(f.attempts),
		answers:  maps.Clone(f.answers),
		emails:   slices.Clone(f.emails),
	}
	if err := fn(tx); err != nil {
		return err
	}
	f.attempts, f.answers, f.emails = tx.attempts, tx.answers, tx.emails
	return nil
}

// fakeTx is a transaction of a fakeStore.
type fakeTx struct {
	store    *fakeStore
	attempts map[int64]oes.Attempt
	answers  map[int64]store.Answers
	emails   []store.NewEmail
}

func (t *fakeTx) LockAttempt(ctx context.Context, id int64) (oes.Attempt, error) {
	a, err := t.GetAttempt(ctx, id)
	a.ExamTitle, a.UserEmail, a.UserName = "", "", ""
	return a, err
}

func (t *fakeTx) GetAttempt(_ context.Context, id int64) (oes.Attempt, error) {
	a, ok := t.attempts[id]
	if !ok {
		return oes.Attempt{}, oes.Errorf(oes.ENOTFOUND, "attempt %d not found", id)
	}
	return a, nil
}

func (t *fakeTx) ExamQuestions(_ context.Context, examID int64) ([]oes.Question, error) {
	return t.store.questions[examID], nil
}

func (t *fakeTx) Answers(_ context.Context, attemptID int64) (store.Answers, error) {
	return maps.Clone(t.answers[attemptID]), nil
}

func (t *fakeTx) ReplaceAnswers(_ context.Context, attemptID int64, answers store.Answers) error {
	saved := maps.Clone(t.answers[attemptID])
	if saved == nil {
		saved = store.Answers{}
	}
	for q, options := range answers {
		delete(saved, q)
		if len(options) > 0 {
			saved[q] = slices.Compact(slices.Sorted(slices.Values(options)))
		}
	}
	t.answers[attemptID] = saved
	return nil
}

func (t *fakeTx) FinishAttempt(_ context.Context, id int64, submittedAt time.Time, score, maxScore int32) (bool, error) {
	a, ok := t.attempts[id]
	if !ok || a.Submitted() {
		return false, nil
	}
	a.SubmittedAt, a.Score, a.MaxScore = &submittedAt, &score, &maxScore
	t.attempts[id] = a
	return true, nil
}

func (t *fakeTx) InsertEmail(_ context.Context, e store.NewEmail) (int64, error) {
	if t.store.emailErr != nil {
		return 0, t.store.emailErr
	}
	t.emails = append(t.emails, e)
	return int64(len(t.emails)), nil
}

// The attempt and exam of the tests: exam 7 has questions 1 (2 points) and 2 (3 points), of
// which attempt 42 answers the first one right.
const (
	testAttempt = 42
	testExam    = 7
	testUser    = 3
)

var testDeadline = time.Date(2030, 1, 2, 10, 30, 0, 0, time.UTC)

// newFakeStore returns a fakeStore holding the test attempt, open, or submitted when
// submittedAt is not nil.
func newFakeStore(submittedAt *time.Time) *fakeStore {
	a := oes.Attempt{
		ID: testAttempt, ExamID: testExam, UserID: testUser, StartedAt: testDeadline.Add(-30 * time.Minute),
		Deadline: testDeadline, ExamTitle: "Algebra", UserEmail: "ann@example.org", UserName: "Ann",
	}
	if submittedAt != nil {
		score, maxScore := int32(4), int32(5)
		a.SubmittedAt, a.Score, a.MaxScore = submittedAt, &score, &maxScore
	}
	return &fakeStore{
		attempts:  map[int64]oes.Attempt{testAttempt: a},
		questions: map[int64][]oes.Question{testExam: {question(1, 2, true, false), question(2, 3, false, true)}},
		answers:   map[int64]store.Answers{testAttempt: {1: {10}, 2: {20}}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		submittedAt *time.Time
		now         time.Time
		message     string // of the ECONFLICT; empty when open
	}{
		{"open", nil, testDeadline.Add(-time.Minute), ""},
		{"openJustBeforeDeadline", nil, testDeadline.Add(-time.Nanosecond), ""},
		{"expiredAtDeadline", nil, testDeadline,
			"the time for attempt 42 ran out at 2030-01-02T10:30:00Z; its answers can no longer change"},
		{"expiredAfterDeadline", nil, testDeadline.Add(time.Hour),
			"the time for attempt 42 ran out at 2030-01-02T10:30:00Z; its answers can no longer change"},
		{"submitted", ptr(testDeadline.Add(-time.Hour)), testDeadline.Add(-time.Minute),
			"attempt 42 has been submitted; its answers can no longer change"},
		{"submittedAfterDeadline", ptr(testDeadline.Add(-time.Hour)), testDeadline.Add(time.Hour),
			"attempt 42 has been submitted; its answers can no longer change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := oes.Attempt{ID: testAttempt, Deadline: testDeadline, SubmittedAt: tt.submittedAt}
			err := checkOpen(a, tt.now)
			if tt.message == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, oes.ECONFLICT, oes.ErrorCode(err))
			var e *oes.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.message, e.Message)
		})
	}
}

func TestSaveAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		submittedAt *time.Time
		now         time.Time
		id          int64
		code        string // of the error; empty when saved
	}{
		{"saved", nil, testDeadline.Add(-time.Nanosecond), testAttempt, ""},
		{"refusedAtDeadline", nil, testDeadline, testAttempt, oes.ECONFLICT},
		{"refusedSubmitted", ptr(testDeadline.Add(-time.Hour)), testDeadline.Add(-time.Minute), testAttempt, oes.ECONFLICT},
		{"missing", nil, testDeadline.Add(-time.Minute), 987654, oes.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStore(tt.submittedAt)
			before := maps.Clone(f.answers[testAttempt])
			saved, err := saveAnswers(ctx, f, tt.id, store.Answers{2: {21, 20, 21}}, tt.now)
			if tt.code != "" {
				require.Equal(t, tt.code, oes.ErrorCode(err), "error: %v", err)
				require.Nil(t, saved)
				require.Equal(t, before, f.answers[testAttempt], "nothing is written")
				return
			}
			require.NoError(t, err)
			want := store.Answers{1: {10}, 2: {20, 21}}
			require.Equal(t, want, saved, "every answer of the attempt, questions not named kept")
			require.Equal(t, want, f.answers[testAttempt])
		})
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	errBuild := errors.New("template broke")
	earlier := testDeadline.Add(-time.Hour)
	tests := []struct {
		name        string
		submittedAt *time.Time // of the attempt before the submit
		now         time.Time
		buildErr    error // what the result email builder fails with
		emailErr    error // what the outbox insert fails with
		graded      bool
		wantAt      time.Time // the submission time recorded
		wantScore   int32
	}{
		{name: "beforeDeadline", now: testDeadline.Add(-time.Minute), graded: true,
			wantAt: testDeadline.Add(-time.Minute), wantScore: 2},
		{name: "atDeadline", now: testDeadline, graded: true, wantAt: testDeadline, wantScore: 2},
		{name: "pastDeadlineIsDatedAtDeadline", now: testDeadline.Add(time.Hour), graded: true,
			wantAt: testDeadline, wantScore: 2},
		{name: "alreadySubmitted", submittedAt: &earlier, now: testDeadline.Add(-time.Minute),
			wantAt: earlier, wantScore: 4},
		{name: "resultEmailFails", now: testDeadline.Add(-time.Minute), buildErr: errBuild},
		{name: "resultEmailRefused", now: testDeadline.Add(-time.Minute),
			emailErr: oes.Invalid(oes.FieldError{Field: "attempts", Message: "must be from 1 to 25"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStore(tt.submittedAt)
			f.emailErr = tt.emailErr
			var built []oes.Attempt
			result := func(a oes.Attempt) (store.NewEmail, error) {
				built = append(built, a)
				return store.NewEmail{Kind: oes.EmailResult}, tt.buildErr
			}
			before := f.attempts[testAttempt]

			got, graded, err := submit(ctx, f, testAttempt, tt.now, result)
			wantErr := tt.buildErr
			if wantErr == nil {
				wantErr = tt.emailErr
			}
			if wantErr != nil {
				require.ErrorIs(t, err, wantErr, "the error is returned as it is")
				require.False(t, graded)
				require.Equal(t, oes.Attempt{}, got)
				require.Equal(t, before, f.attempts[testAttempt], "the attempt stays ungraded")
				require.Empty(t, f.emails)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.graded, graded)
			require.Equal(t, f.attempts[testAttempt], got, "the attempt as stored")
			require.Equal(t, "Algebra", got.ExamTitle)
			require.True(t, got.SubmittedAt.Equal(tt.wantAt), "submitted at %v", got.SubmittedAt)
			require.Equal(t, tt.wantScore, *got.Score)
			require.EqualValues(t, 5, *got.MaxScore)
			if !tt.graded {
				require.Empty(t, built, "no email for an attempt graded already")
				require.Empty(t, f.emails)
				return
			}
			require.Equal(t, []oes.Attempt{got}, built, "the email is made of the graded attempt")
			require.Equal(t, []store.NewEmail{{Kind: oes.EmailResult, UserID: testUser}}, f.emails)

			_, graded, err = submit(ctx, f, testAttempt, tt.now.Add(time.Minute), result)
			require.NoError(t, err)
			require.False(t, graded, "a second submit finds it graded")
			require.Len(t, f.emails, 1)
		})
	}
}

func TestSubmitMissing(t *testing.T) {
	t.Parallel()
	f := newFakeStore(nil)
	_, graded, err := submit(context.Background(), f, 987654, testDeadline, func(oes.Attempt) (store.NewEmail, error) {
		t.Fatal("no email for an attempt that does not exist")
		return store.NewEmail{}, nil
	})
	require.Equal(t, oes.ENOTFOUND, oes.ErrorCode(err))
	require.False(t, graded)
}

// TestFinishWritesTheResultEmail grades through the Service, whose result email is the one
// the student gets.
func TestFinishWritesTheResultEmail(t *testing.T) {
	t.Parallel()
	f := newFakeStore(nil)
	now := testDeadline.Add(time.Hour)
	s := &Service{attempts: f, emailAttempts: 3, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		now: func() time.Time { return now }}

	a, err := s.finish(context.Background(), testAttempt)
	require.NoError(t, err)
	require.True(t, a.SubmittedAt.Equal(testDeadline))
	require.Len(t, f.emails, 1)
	e := f.emails[0]
	require.Equal(t, oes.EmailResult, e.Kind)
	require.EqualValues(t, testUser, e.UserID)
	require.Equal(t, []string{"ann@example.org"}, e.Message.To)
	require.Equal(t, ResultEmailPriority, e.Priority)
	require.Equal(t, 3, e.MaxAttempts)
	require.Contains(t, e.Message.Text, "Algebra")
}
