package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

func getQuestions(t *testing.T, h http.Handler, examID int64) questionList {
	t.Helper()
	rec := do(t, h, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", examID)})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	return decode[questionList](t, rec)
}

func TestReadsAreServedFromTheCache(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	createQuestion(t, b.api, e.ID, "Cached?")

	// The first read loads from Postgres, the second copies Redis's answer into memory.
	getQuestions(t, b.api, e.ID)
	getQuestions(t, b.api, e.ID)
	before := b.cache.Stats()[cache.KindExamQuestions]
	for range 5 {
		getQuestions(t, b.api, e.ID)
	}
	after := b.cache.Stats()[cache.KindExamQuestions]
	require.EqualValues(t, 5, after.LocalHits-before.LocalHits, "repeated reads come from process memory")
	require.Equal(t, before.Misses, after.Misses)

	// A row changed behind the API's back stays invisible until something invalidates it:
	// proof that the answer came from the cache, not from Postgres.
	_, err := b.pool.Exec(context.Background(), `UPDATE questions SET text = 'changed in SQL' WHERE exam_id = $1`, e.ID)
	require.NoError(t, err)
	require.Equal(t, "Cached?", getQuestions(t, b.api, e.ID).Questions[0].Text)
}

func TestWritesInvalidateEveryReplica(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.replica(t)
	e := createExam(t, b.api, "Algebra", true)
	q := createQuestion(t, b.api, e.ID, "Before?")

	// Both replicas cache every public view.
	for _, h := range []http.Handler{b.api, other} {
		getQuestions(t, h, e.ID)
		require.Equal(t, 200, do(t, h, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", q.ID)}).Code)
		require.Equal(t, 200, do(t, h, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)}).Code)
		require.Len(t, decode[examList](t, do(t, h, call{method: "GET", path: "/api/v1/exams"})).Exams, 1)
	}

	// A question edit through one replica shows through the other.
	rec := do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/questions/%d", q.ID), admin: true, body: map[string]any{"text": "After?"}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool {
		return getQuestions(t, other, e.ID).Questions[0].Text == "After?"
	}, 2*time.Second, 10*time.Millisecond)
	got := decode[oes.Question](t, do(t, other, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", q.ID)}))
	require.Equal(t, "After?", got.Text)

	// A new question shows in the list.
	createQuestion(t, b.api, e.ID, "Added?")
	require.Eventually(t, func() bool { return len(getQuestions(t, other, e.ID).Questions) == 2 }, 2*time.Second, 10*time.Millisecond)

	// Renaming the exam shows in the exam and in the list.
	rec = do(t, other, call{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", e.ID), admin: true, body: map[string]any{"title": "Renamed"}})
	require.Equal(t, 200, rec.Code)
	require.Eventually(t, func() bool {
		list := decode[examList](t, do(t, b.api, call{method: "GET", path: "/api/v1/exams"}))
		one := decode[oes.Exam](t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)}))
		return list.Exams[0].Title == "Renamed" && one.Title == "Renamed"
	}, 2*time.Second, 10*time.Millisecond)

	// Unpublishing hides the exam, its questions and each question, on every replica.
	rec = do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", e.ID), admin: true, body: map[string]any{"published": false}})
	require.Equal(t, 200, rec.Code)
	require.Eventually(t, func() bool {
		return do(t, other, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)}).Code == 404 &&
			do(t, other, call{method: "GET", path: fmt.Sprintf("/api/v1/questions/%d", q.ID)}).Code == 404 &&
			do(t, other, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)}).Code == 404 &&
			len(decode[examList](t, do(t, other, call{method: "GET", path: "/api/v1/exams"})).Exams) == 0
	}, 2*time.Second, 10*time.Millisecond)
}

func TestNotFoundIsRememberedUntilCreated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	missing := e.ID + 1

	// Asking for an id before it exists must not hide the exam once it is created.
	requireError(t, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", missing)}), 404, oes.ENOTFOUND, "")
	created := createExam(t, b.api, "Next", true)
	require.Equal(t, missing, created.ID)
	require.Equal(t, 200, do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d", missing)}).Code)
}

func TestClearCacheReachesEveryReplicaAndKeepsOtherKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.replica(t)
	e := createExam(t, b.api, "Algebra", true)
	createQuestion(t, b.api, e.ID, "Original?")
	for _, h := range []http.Handler{b.api, other} {
		require.Equal(t, "Original?", getQuestions(t, h, e.ID).Questions[0].Text)
	}

	// Data outside the cache in the same Redis, such as the email queue's keys.
	opt, err := rueidis.ParseURL(b.redisURL)
	require.NoError(t, err)
	opt.DisableCache = true
	rdb, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	t.Cleanup(rdb.Close)
	ctx := context.Background()
	queueKey := "asynq:{" + b.ns + "}:pending"
	require.NoError(t, rdb.Do(ctx, rdb.B().Lpush().Key(queueKey).Element("job-1").Build()).Error())
	t.Cleanup(func() { rdb.Do(context.Background(), rdb.B().Del().Key(queueKey).Build()) })

	_, err = b.pool.Exec(ctx, `UPDATE questions SET text = 'Changed in SQL?' WHERE exam_id = $1`, e.ID)
	require.NoError(t, err)
	require.Equal(t, "Original?", getQuestions(t, other, e.ID).Questions[0].Text, "still cached")

	requireError(t, do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/cache"}), 401, oes.EUNAUTHORIZED, "")
	rec := do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/cache", admin: true})
	require.Equal(t, 200, rec.Code, rec.Body.String())

	require.Eventually(t, func() bool {
		return getQuestions(t, other, e.ID).Questions[0].Text == "Changed in SQL?"
	}, 2*time.Second, 10*time.Millisecond, "the other replica reads Postgres after the clear")
	require.Equal(t, "Changed in SQL?", getQuestions(t, b.api, e.ID).Questions[0].Text)

	n, err := rdb.Do(ctx, rdb.B().Llen().Key(queueKey).Build()).AsInt64()
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the queue's keys are untouched")
}
