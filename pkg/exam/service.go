// Package exam is the exam catalogue: exams and their questions, read through the cache and
// written through the store, with every write invalidating the cache entries it makes stale.
package exam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Service serves the exam catalogue. The public views (published exams, answer key removed)
// are cached as ready-to-send JSON, so a hit costs no decode and no encode. Admin views read
// Postgres directly: they are rare, and must show unpublished exams and the answer key.
type Service struct {
	store *store.Store
	cache *cache.Cache // nil when caching is disabled by configuration
	log   *slog.Logger
	// reminders are the offsets before an exam's opening at which its candidates are
	// reminded of it; none when empty.
	reminders []time.Duration
	// decoded holds the last decode of cached exam bodies, by id modulo its size, so that a
	// hot read checks an exam's policy without decoding the same bytes again.
	decoded [decodedSlots]atomic.Pointer[decodedExam]
}

// decodedSlots bounds the decoded exams a Service keeps (about 300 bytes each).
const decodedSlots = 1024

// decodedExam is an exam and the cached body it was decoded from.
type decodedExam struct {
	body string
	exam oes.Exam
}

// NewService returns a Service. A nil cache serves every read from the store.
func NewService(st *store.Store, c *cache.Cache, log *slog.Logger) *Service {
	return &Service{store: st, cache: c, log: log}
}

// examList is the body of the published-exam list.
type examList struct {
	Exams []oes.Exam `json:"exams"`
}

// examQuestions is the body of an exam's question list.
type examQuestions struct {
	ExamID    int64          `json:"exam_id"`
	Questions []oes.Question `json:"questions"`
}

// PublishedExamsJSON returns the JSON body listing every published exam.
func (s *Service) PublishedExamsJSON(ctx context.Context) ([]byte, error) {
	return s.cached(ctx, cache.AllExams, func(ctx context.Context) ([]byte, error) {
		exams, err := s.store.ListPublishedExams(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(examList{Exams: nonNil(exams)})
	})
}

// ExamJSON returns the JSON body of a published exam. An unpublished exam is ENOTFOUND, so
// that its existence is not disclosed.
func (s *Service) ExamJSON(ctx context.Context, id int64) ([]byte, error) {
	return s.cached(ctx, cache.Exam(id), func(ctx context.Context) ([]byte, error) {
		e, err := s.publishedExam(ctx, id)
		if err != nil {
			return nil, err
		}
		return json.Marshal(e)
	})
}

// PublishedExam returns a published exam as ExamJSON caches it: its policy costs a hot read
// no query. ENOTFOUND for an exam that does not exist or is not published.
// The exam's pointer fields are shared with later calls: the caller must not write through
// them.
func (s *Service) PublishedExam(ctx context.Context, id int64) (oes.Exam, error) {
	b, err := s.ExamJSON(ctx, id)
	if err != nil {
		return oes.Exam{}, err
	}
	slot := &s.decoded[uint64(id)%decodedSlots]
	if d := slot.Load(); d != nil && d.exam.ID == id && d.body == string(b) {
		return d.exam, nil // the same bytes decode to the same exam
	}
	var e oes.Exam
	if err := json.Unmarshal(b, &e); err != nil {
		return oes.Exam{}, fmt.Errorf("exam %d: cached body: %w", id, err)
	}
	slot.Store(&decodedExam{body: string(b), exam: e})
	return e, nil
}

// ExamQuestionsJSON returns the JSON body of a published exam's questions with their
// options, without the answer key, when the exam shows its questions to anyone
// (QuestionsPublic). EQUESTIONSNOTPUBLIC otherwise: a student reads them through an attempt
// (AttemptQuestionsJSON).
func (s *Service) ExamQuestionsJSON(ctx context.Context, examID int64) ([]byte, error) {
	e, err := s.PublishedExam(ctx, examID)
	if err != nil {
		return nil, err
	}
	if !e.QuestionsPublic() {
		return nil, questionsNotPublic(examID)
	}
	return s.AttemptQuestionsJSON(ctx, examID)
}

func questionsNotPublic(examID int64) error {
	return oes.Errorf(oes.EQUESTIONSNOTPUBLIC,
		"the questions of exam %d are shown only during an attempt: start one with POST /api/v1/exams/%d/attempts, "+
			"then read GET /api/v1/attempts/{id}/questions", examID, examID)
}

// AttemptQuestionsJSON returns the JSON body of a published exam's questions with their
// options, without the answer key, whatever the exam's question visibility: for a student's
// attempt in progress, which the caller has checked.
func (s *Service) AttemptQuestionsJSON(ctx context.Context, examID int64) ([]byte, error) {
	return s.cached(ctx, cache.ExamQuestions(examID), func(ctx context.Context) ([]byte, error) {
		if _, err := s.publishedExam(ctx, examID); err != nil {
			return nil, err
		}
		qs, err := s.store.ListExamQuestions(ctx, examID)
		if err != nil {
			return nil, err
		}
		for i := range qs {
			qs[i] = qs[i].Redacted()
		}
		return json.Marshal(examQuestions{ExamID: examID, Questions: nonNil(qs)})
	})
}

// QuestionJSON returns the JSON body of one question of a published exam, without the answer
// key, when the exam shows its questions to anyone; EQUESTIONSNOTPUBLIC otherwise.
func (s *Service) QuestionJSON(ctx context.Context, id int64) ([]byte, error) {
	b, err := s.questionJSON(ctx, id)
	if err != nil {
		return nil, err
	}
	var q struct {
		ExamID int64 `json:"exam_id"`
	}
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("question %d: cached body: %w", id, err)
	}
	e, err := s.PublishedExam(ctx, q.ExamID)
	if err != nil {
		return nil, err
	}
	if !e.QuestionsPublic() {
		return nil, questionsNotPublic(q.ExamID)
	}
	return b, nil
}

func (s *Service) questionJSON(ctx context.Context, id int64) ([]byte, error) {
	return s.cached(ctx, cache.Question(id), func(ctx context.Context) ([]byte, error) {
		q, err := s.store.GetQuestion(ctx, id)
		if err != nil {
			return nil, err
		}
		if _, err := s.publishedExam(ctx, q.ExamID); err != nil {
			if oes.ErrorCode(err) == oes.ENOTFOUND {
				return nil, oes.Errorf(oes.ENOTFOUND, "question %d not found", id)
			}
			return nil, err
		}
		return json.Marshal(q.Redacted())
	})
}

// Exam returns any exam, published or not, for an admin.
func (s *Service) Exam(ctx context.Context, id int64) (oes.Exam, error) {
	return s.store.GetExam(ctx, id)
}

// ExamQuestions returns an exam's questions with the answer key, for an admin.
func (s *Service) ExamQuestions(ctx context.Context, examID int64) ([]oes.Question, error) {
	qs, err := s.store.ListExamQuestions(ctx, examID)
	if err != nil {
		return nil, err
	}
	return nonNil(qs), nil
}

// Question returns one question with the answer key, for an admin.
func (s *Service) Question(ctx context.Context, id int64) (oes.Question, error) {
	return s.store.GetQuestion(ctx, id)
}

func (s *Service) publishedExam(ctx context.Context, id int64) (oes.Exam, error) {
	e, err := s.store.GetExam(ctx, id)
	if err != nil {
		return oes.Exam{}, err
	}
	if !e.Published {
		return oes.Exam{}, oes.Errorf(oes.ENOTFOUND, "exam %d not found", id)
	}
	return e, nil
}

// cached reads key through the cache, or calls load directly when caching is disabled.
func (s *Service) cached(ctx context.Context, key cache.Key, load func(context.Context) ([]byte, error)) ([]byte, error) {
	if s.cache == nil {
		return load(ctx)
	}
	return s.cache.GetOrSet(ctx, key, 0, load)
}

// invalidate deletes keys after a committed write. The write has succeeded whatever happens
// here, so a failure is logged rather than returned: the entries then expire by their TTL.
func (s *Service) invalidate(ctx context.Context, keys ...cache.Key) {
	if s.cache == nil || len(keys) == 0 {
		return
	}
	if err := s.cache.DeleteMany(ctx, keys...); err != nil {
		s.log.WarnContext(ctx, "cache invalidation failed; entries expire by TTL",
			"keys", fmt.Sprint(keys), "err", err)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
