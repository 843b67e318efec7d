package attempt

import (
	"context"
	"encoding/json"
	"time"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

// Result is a graded attempt with the answer key: the body of a result read.
type Result struct {
	AttemptID   int64            `json:"attempt_id"`
	UserID      int64            `json:"user_id"`
	ExamID      int64            `json:"exam_id"`
	ExamTitle   string           `json:"exam_title"`
	State       string           `json:"state"`
	StartedAt   time.Time        `json:"started_at"`
	Deadline    time.Time        `json:"deadline"`
	SubmittedAt time.Time        `json:"submitted_at"`
	Score       int32            `json:"score"`
	MaxScore    int32            `json:"max_score"`
	Questions   []QuestionResult `json:"questions"`
}

// QuestionResult is how one question was answered. Options carry is_correct, and Chosen the
// options chosen, only for a reader who may see the answer key: an admin, or the student once
// the exam's key_release allows; a student sees Correct alone before.
type QuestionResult struct {
	QuestionID int64        `json:"question_id"`
	Position   int32        `json:"position"`
	Text       string       `json:"text"`
	Points     int32        `json:"points"`
	Correct    bool         `json:"correct"`
	Chosen     []int64      `json:"chosen_option_ids"`
	Options    []oes.Option `json:"options"`
}

// ResultJSON returns the JSON body of a graded attempt's result, to its student or an admin.
// An attempt whose time has run out is graded first. The body is cached per attempt: it cannot
// change once graded. The student sees the answer key (the options' is_correct and the
// options chosen; null before) only once the exam's key_release allows, decided on its cached
// policy. EFORBIDDEN for other callers; ECONFLICT while the attempt is in progress; ENOTFOUND
// when it does not exist.
func (s *Service) ResultJSON(ctx context.Context, id int64, caller Caller) ([]byte, error) {
	b, err := s.cached(ctx, cache.ExamResult(id), func(ctx context.Context) ([]byte, error) {
		return s.buildResult(ctx, id)
	})
	if oes.ErrorCode(err) == oes.ECONFLICT {
		// Not to be told to someone who may not know the attempt's state.
		if _, ownErr := s.owned(ctx, id, caller); ownErr != nil && !caller.Admin {
			return nil, ownErr
		}
	}
	if err != nil {
		return nil, err
	}
	if caller.Admin {
		return b, nil
	}
	var owner struct {
		UserID int64 `json:"user_id"`
		ExamID int64 `json:"exam_id"`
	}
	if err := json.Unmarshal(b, &owner); err != nil {
		return nil, err
	}
	if owner.UserID != caller.UserID {
		return nil, forbidden(id)
	}
	e, err := s.exams.PublishedExam(ctx, owner.ExamID)
	switch {
	case err == nil && e.KeyReleased(s.now()):
		return b, nil
	case err != nil && oes.ErrorCode(err) != oes.ENOTFOUND:
		return nil, err
	}
	// An exam unpublished since keeps its key too.
	return withoutKey(b)
}

// withoutKey returns the result body b without the answer key: no option says whether it is
// correct, and the options chosen are left out.
func withoutKey(b []byte) ([]byte, error) {
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	for i, q := range r.Questions {
		r.Questions[i].Chosen = nil
		r.Questions[i].Options = oes.Question{Options: q.Options}.Redacted().Options
	}
	return json.Marshal(r)
}

// buildResult is the same for every caller, since its output is shared through the cache:
// access is checked on the way out.
func (s *Service) buildResult(ctx context.Context, id int64) ([]byte, error) {
	a, err := s.store.GetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Expired(s.now()) {
		if a, err = s.finish(ctx, id); err != nil {
			return nil, err
		}
	}
	if !a.Submitted() {
		return nil, oes.Errorf(oes.ECONFLICT, "attempt %d is in progress until %s; its result is ready once it is submitted",
			id, a.Deadline.UTC().Format(time.RFC3339))
	}
	questions, err := s.store.ListExamQuestions(ctx, a.ExamID)
	if err != nil {
		return nil, err
	}
	chosen, err := s.store.AttemptAnswers(ctx, id)
	if err != nil {
		return nil, err
	}
	r := Result{
		AttemptID: a.ID, UserID: a.UserID, ExamID: a.ExamID, ExamTitle: a.ExamTitle, State: a.State(s.now()),
		StartedAt: a.StartedAt, Deadline: a.Deadline, SubmittedAt: *a.SubmittedAt,
		Score: deref(a.Score), MaxScore: deref(a.MaxScore), Questions: make([]QuestionResult, len(questions)),
	}
	for i, q := range questions {
		c := chosen[q.ID]
		if c == nil {
			c = []int64{}
		}
		r.Questions[i] = QuestionResult{
			QuestionID: q.ID, Position: q.Position, Text: q.Text, Points: q.Points,
			Correct: answeredCorrectly(q, c), Chosen: c, Options: q.Options,
		}
	}
	return json.Marshal(r)
}

// userExams is the body of a student's attempt list.
type userExams struct {
	Attempts []View `json:"attempts"`
}

// UserExamsJSON returns the JSON body listing a student's attempts, newest first, each with
// its exam's title, state and score. Attempts whose time has run out are graded first. The
// body is cached until the next start or grade, or until the earliest deadline among the
// attempts in progress, when a state in it would turn stale.
func (s *Service) UserExamsJSON(ctx context.Context, userID int64) ([]byte, error) {
	key := cache.UserExams(userID)
	if s.personal() {
		if sealed, found, err := s.cache.Get(ctx, key); err == nil && found {
			if b, err := s.sealer.Open(key, sealed); err == nil {
				return b, nil
			}
			// Sealed under a previous key, or damaged: read afresh, and overwrite it.
		}
	}
	attempts, err := s.store.ListUserAttempts(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	body := userExams{Attempts: make([]View, 0, len(attempts))}
	var ttl time.Duration // 0: the kind's default
	for _, a := range attempts {
		if a.Expired(now) {
			graded, err := s.finish(ctx, a.ID)
			if err != nil {
				return nil, err
			}
			graded.ExamTitle = a.ExamTitle
			a = graded
		}
		if !a.Submitted() {
			if left := a.Deadline.Sub(now); ttl == 0 || left < ttl {
				ttl = max(left, time.Second)
			}
		}
		body.Attempts = append(body.Attempts, s.view(a))
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	if s.personal() {
		// A failure is counted and logged by the cache; the body is still good.
		_ = s.cache.Set(ctx, key, s.sealer.Seal(key, b), ttl)
	}
	return b, nil
}

// ResultPage is one page of an exam's results.
type ResultPage struct {
	ExamID  int64            `json:"exam_id"`
	Page    int              `json:"page"`
	Size    int              `json:"size"`
	Results []oes.ExamResult `json:"results"`
}

// ExamResults returns one page (from 1) of an exam's graded attempts, for an admin, after
// grading the attempts whose time has run out. ENOTFOUND when the exam does not exist.
func (s *Service) ExamResults(ctx context.Context, examID int64, page, size int) (ResultPage, error) {
	expired, err := s.store.ListExpiredExamAttempts(ctx, examID, s.now())
	if err != nil {
		return ResultPage{}, err
	}
	for _, id := range expired {
		if _, err := s.finish(ctx, id); err != nil {
			return ResultPage{}, err
		}
	}
	results, err := s.store.ListExamResults(ctx, examID, page, size)
	if err != nil {
		return ResultPage{}, err
	}
	return ResultPage{ExamID: examID, Page: page, Size: size, Results: results}, nil
}

// cached reads key through the cache, sealed, or calls load directly when personal data may
// not be cached (no cache, or no sealer).
func (s *Service) cached(ctx context.Context, key cache.Key, load func(context.Context) ([]byte, error)) ([]byte, error) {
	if !s.personal() {
		return load(ctx)
	}
	var fresh []byte
	sealed, err := s.cache.GetOrSet(ctx, key, 0, func(ctx context.Context) ([]byte, error) {
		b, err := load(ctx)
		if err != nil {
			return nil, err
		}
		fresh = b
		return s.sealer.Seal(key, b), nil
	})
	if err != nil {
		return nil, err
	}
	if fresh != nil {
		return fresh, nil
	}
	b, err := s.sealer.Open(key, sealed)
	if err != nil {
		// Sealed under a previous key, or damaged: read afresh, and overwrite it.
		if b, err = load(ctx); err == nil {
			_ = s.cache.Set(ctx, key, s.sealer.Seal(key, b), 0)
		}
	}
	return b, err
}

// OpenExam is an exam a student may take now or later: its window, and how many of its
// attempts the student has left.
type OpenExam struct {
	ExamID          int64      `json:"exam_id"`
	Title           string     `json:"title"`
	DurationMinutes int32      `json:"duration_minutes"`
	OpensAt         *time.Time `json:"opens_at"`
	ClosesAt        *time.Time `json:"closes_at"`
	State           string     `json:"state"` // "open", "upcoming", or "in_progress" with AttemptID
	MaxAttempts     int32      `json:"max_attempts"`
	AttemptsLeft    int32      `json:"attempts_left"`
	AttemptID       *int64     `json:"attempt_id"`
}

// The states of an OpenExam.
const (
	ExamOpen       = "open"
	ExamUpcoming   = "upcoming"
	ExamInProgress = "in_progress"
)

// OpenExamList is the body of a student's list of open exams.
type OpenExamList struct {
	Exams []OpenExam `json:"exams"`
}

// OpenExams lists the exams userID may still take: published, not closed, with attempts left
// or an attempt in progress; upcoming ones too, with their opening time. An attempt in progress
// whose time has run out does not count as one: it is graded when read.
func (s *Service) OpenExams(ctx context.Context, userID int64) (OpenExamList, error) {
	now := s.now()
	rows, err := s.store.ListOpenExams(ctx, userID, now)
	if err != nil {
		return OpenExamList{}, err
	}
	out := OpenExamList{Exams: []OpenExam{}}
	for _, r := range rows {
		e := OpenExam{
			ExamID: r.ID, Title: r.Title, DurationMinutes: r.DurationMinutes, OpensAt: r.OpensAt, ClosesAt: r.ClosesAt,
			MaxAttempts: r.MaxAttempts, AttemptsLeft: max(r.MaxAttempts-r.AttemptsUsed, 0), State: ExamOpen,
		}
		switch {
		case r.OpenAttemptID != 0:
			id := r.OpenAttemptID
			e.State, e.AttemptID = ExamInProgress, &id
		case e.AttemptsLeft == 0:
			continue
		case r.OpensAt != nil && now.Before(*r.OpensAt):
			e.State = ExamUpcoming
		}
		out.Exams = append(out.Exams, e)
	}
	return out, nil
}
