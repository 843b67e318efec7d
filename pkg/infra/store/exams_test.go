package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

func TestExamCreateGetUpdateDeleteRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.createUser(t, "admin@example.org", oes.RoleAdmin)

	created, err := b.store.CreateExam(b.ctx, &admin.ID, oes.ExamInput{
		Title:           ptr("Algebra"),
		Description:     ptr("Groups and rings"),
		DurationMinutes: ptr(int32(45)),
		Published:       ptr(false),
	})
	require.NoError(t, err)
	require.NotZero(t, created.ID)
	require.Equal(t, "Algebra", created.Title)
	require.Equal(t, "Groups and rings", created.Description)
	require.Equal(t, int32(45), created.DurationMinutes)
	require.False(t, created.Published)
	require.Equal(t, &admin.ID, created.CreatedBy)
	require.False(t, created.CreatedAt.IsZero())

	got, err := b.store.GetExam(b.ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, created, got)

	// A partial update changes the given fields only.
	updated, err := b.store.UpdateExam(b.ctx, created.ID, oes.ExamInput{Published: ptr(true), DurationMinutes: ptr(int32(60))})
	require.NoError(t, err)
	require.True(t, updated.Published)
	require.Equal(t, int32(60), updated.DurationMinutes)
	require.Equal(t, "Algebra", updated.Title)
	require.Equal(t, "Groups and rings", updated.Description)
	require.False(t, updated.UpdatedAt.Before(created.UpdatedAt))

	require.NoError(t, b.store.DeleteExam(b.ctx, created.ID))
	_, err = b.store.GetExam(b.ctx, created.ID)
	requireCode(t, err, oes.ENOTFOUND)
}

func TestCreateExamWithoutDescriptionStoresItEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, err := b.store.CreateExam(b.ctx, nil, oes.ExamInput{Title: ptr("T"), DurationMinutes: ptr(int32(5))})
	require.NoError(t, err)
	require.Equal(t, "", e.Description)
	require.Nil(t, e.CreatedBy)
	require.False(t, e.Published)
}

func TestListPublishedExamsOrdersByIDAndLeavesOutDrafts(t *testing.T) {
	t.Parallel()
	b := setup(t)

	exams, err := b.store.ListPublishedExams(b.ctx)
	require.NoError(t, err)
	require.NotNil(t, exams, "an empty list must encode as [] rather than null")
	require.Empty(t, exams)

	first := b.createExam(t, "first", true)
	b.createExam(t, "draft", false)
	third := b.createExam(t, "third", true)

	exams, err = b.store.ListPublishedExams(b.ctx)
	require.NoError(t, err)
	require.Equal(t, []oes.Exam{first, third}, exams)
}

func TestDeleteExamRemovesItsQuestionsAndOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := b.createExam(t, "E", true)
	kept := b.createExam(t, "K", true)
	b.createQuestion(t, exam.ID, "q1")
	b.createQuestion(t, exam.ID, "q2")
	b.createQuestion(t, kept.ID, "k1")

	require.NoError(t, b.store.DeleteExam(b.ctx, exam.ID))
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM questions"))
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM options"))
}

func TestDeletingAUserKeepsTheirExamsAndRemovesTheirAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.createUser(t, "admin@example.org", oes.RoleAdmin)
	student := b.createUser(t, "student@example.org", oes.RoleStudent)
	exam, err := b.store.CreateExam(b.ctx, &admin.ID, oes.ExamInput{Title: ptr("E"), DurationMinutes: ptr(int32(5))})
	require.NoError(t, err)
	q := b.createQuestion(t, exam.ID, "q")
	b.answer(t, student.ID, q, q.Options[0].ID)

	_, err = b.pool.Exec(b.ctx, "DELETE FROM users WHERE id = ANY($1)", []int64{admin.ID, student.ID})
	require.NoError(t, err)

	got, err := b.store.GetExam(b.ctx, exam.ID)
	require.NoError(t, err)
	require.Nil(t, got.CreatedBy)
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM attempts"))
	require.Equal(t, 0, b.count(t, "SELECT count(*) FROM attempt_answers"))
}
