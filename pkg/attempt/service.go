// Package attempt runs exam attempts: a student starts one, saves answers until the deadline,
// and submits it to be graded on the server. An attempt whose time has run out (its duration,
// or its exam's close) is graded as it stands the first time anyone touches it, or by the email
// worker (GradeExpired) within ATTEMPT_GRADE_INTERVAL if nobody does. The result email is
// written to the outbox with the grade.
//
// A student may only touch their own attempts; an admin may read any result. Other callers get
// EFORBIDDEN rather than ENOTFOUND: attempt ids are sequential, so hiding existence would
// protect nothing, and a clear 403 is easier to act on.
//
// The rules are this package's: when answers may change, how an attempt is graded, dated and
// finished, and which email that makes. The store gives them a transaction over the attempt's
// rows, with plain reads and writes in it.
//
// Stored scores never change once graded: the answers of an attempt pin the questions and
// options they name (the schema's RESTRICT references), and score and max_score are columns
// of the attempt, not recomputed on read.
package attempt

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// ResultEmailPriority is the priority of result emails: they matter to the student but nobody
// is blocked waiting for them, unlike account emails.
const ResultEmailPriority = 5

// Caller is who asks: a signed-in user, who may be an admin.
type Caller struct {
	UserID int64
	Admin  bool
}

// Service runs attempts. It is safe for concurrent use.
type Service struct {
	store *store.Store
	exams *exam.Service // the exams' policies, read through the cache
	cache *cache.Cache  // nil when caching is disabled by configuration
	// attempts is store as saving answers and grading use it: a transaction with plain reads
	// and writes, the rules being this package's.
	attempts attemptStore
	// sealer encrypts the cached results and exam lists, which hold a student's scores and
	// answers; without one they are not cached.
	sealer *cache.Sealer
	// emailAttempts bounds the failed tries of a result email (EMAIL_ATTEMPTS).
	emailAttempts int
	log           *slog.Logger
	now           func() time.Time
}

// NewService returns a Service that reads the exams' policies from exams; a service that only
// grades (GradeExpired, as the email worker's) may have none. A nil cache serves every read
// from the store. Result emails may fail emailAttempts tries for reasons other than
// an outage.
func NewService(st *store.Store, exams *exam.Service, c *cache.Cache, emailAttempts int, log *slog.Logger) *Service {
	return &Service{store: st, attempts: st, exams: exams, cache: c, emailAttempts: emailAttempts, log: log, now: time.Now}
}

// WithSealer makes s cache results and students' exam lists sealed by sealer, as profiles
// are, and returns s. Without it they are read from the store every time: they are never
// cached in clear.
func (s *Service) WithSealer(sealer *cache.Sealer) *Service {
	s.sealer = sealer
	return s
}

// personal reports whether values holding a student's data may be cached.
func (s *Service) personal() bool { return s.cache != nil && s.sealer != nil }

// View is an attempt as its student sees it. Answers is set by SaveAnswers only.
type View struct {
	ID          int64         `json:"id"`
	ExamID      int64         `json:"exam_id"`
	ExamTitle   string        `json:"exam_title"`
	State       string        `json:"state"`
	StartedAt   time.Time     `json:"started_at"`
	Deadline    time.Time     `json:"deadline"`
	SubmittedAt *time.Time    `json:"submitted_at"`
	Score       *int32        `json:"score"`
	MaxScore    *int32        `json:"max_score"`
	Answers     store.Answers `json:"answers,omitempty"`
}

func (s *Service) view(a oes.Attempt) View {
	return View{
		ID: a.ID, ExamID: a.ExamID, ExamTitle: a.ExamTitle, State: a.State(s.now()),
		StartedAt: a.StartedAt, Deadline: a.Deadline, SubmittedAt: a.SubmittedAt, Score: a.Score, MaxScore: a.MaxScore,
	}
}

// Start opens an attempt of userID at a published exam, or returns the one open already;
// created tells which. An open attempt whose time has run out is graded and a new one opened.
// ENOTFOUND when the exam does not exist or is not published; EEXAMNOTOPEN, EEXAMCLOSED
// outside the exam's window; EATTEMPTSEXHAUSTED when the student has used every attempt the
// exam allows.
func (s *Service) Start(ctx context.Context, examID, userID int64) (v View, created bool, err error) {
	a, created, err := s.store.StartAttempt(ctx, examID, userID)
	if err == nil && !created && a.Expired(s.now()) {
		if _, err = s.finish(ctx, a.ID); err == nil {
			a, created, err = s.store.StartAttempt(ctx, examID, userID)
		}
	}
	if err != nil {
		return View{}, false, err
	}
	if created {
		s.invalidate(ctx, cache.UserExams(userID))
	}
	return s.view(a), created, nil
}

// QuestionsExam returns the exam of the caller's attempt id while it is in progress, whose
// questions the caller may then read whatever the exam's question visibility. EFORBIDDEN when
// the attempt is not the caller's; ECONFLICT once it has been submitted or its time has run
// out (it is graded then).
func (s *Service) QuestionsExam(ctx context.Context, id int64, caller Caller) (int64, error) {
	a, err := s.owned(ctx, id, caller)
	if err != nil {
		return 0, err
	}
	if a.Expired(s.now()) {
		if _, err := s.finish(ctx, id); err != nil {
			return 0, err
		}
		return 0, oes.Errorf(oes.ECONFLICT, "the time for attempt %d ran out at %s; its questions are no longer shown",
			id, a.Deadline.UTC().Format(time.RFC3339))
	}
	if a.Submitted() {
		return 0, oes.Errorf(oes.ECONFLICT, "attempt %d has been submitted; its questions are no longer shown", id)
	}
	return a.ExamID, nil
}

// AnswersInput is the body of an answer save: option ids by question id. The questions named
// have their answers replaced; an empty list clears one; questions not named keep theirs.
type AnswersInput struct {
	Answers map[string][]int64 `json:"answers"`
}

// SaveAnswers replaces the answers to the questions in in and returns the attempt with all its
// answers. EFORBIDDEN when the attempt is not the caller's; EINVALID naming the field
// ("answers.<question id>") of a question that is not the exam's or an option that is not the
// question's; ECONFLICT when the attempt has been submitted or its time has run out, in which
// case it is graded now.
func (s *Service) SaveAnswers(ctx context.Context, id int64, caller Caller, in AnswersInput) (View, error) {
	a, err := s.owned(ctx, id, caller)
	if err != nil {
		return View{}, err
	}
	if a.Expired(s.now()) {
		if _, err := s.finish(ctx, id); err != nil {
			return View{}, err
		}
		return View{}, oes.Errorf(oes.ECONFLICT, "the time for attempt %d ran out at %s; it has been graded with the answers saved by then",
			id, a.Deadline.UTC().Format(time.RFC3339))
	}
	if a.Submitted() {
		return View{}, oes.Errorf(oes.ECONFLICT, "attempt %d has been submitted; its answers can no longer change", id)
	}
	questions, err := s.store.ListExamQuestions(ctx, a.ExamID)
	if err != nil {
		return View{}, err
	}
	answers, err := validateAnswers(in, a.ExamID, questions)
	if err != nil {
		return View{}, err
	}
	saved, err := saveAnswers(ctx, s.attempts, id, answers, s.now())
	if err != nil {
		return View{}, err
	}
	v := s.view(a)
	v.Answers = saved
	return v, nil
}

// Submit grades the caller's attempt and returns its result as ResultJSON does. It is
// idempotent: submitting a graded attempt returns the stored result. The result email is
// written with the grade, so however often Submit runs, there is one. EFORBIDDEN when the
// attempt is not the caller's.
func (s *Service) Submit(ctx context.Context, id int64, caller Caller) ([]byte, error) {
	if _, err := s.owned(ctx, id, caller); err != nil {
		return nil, err
	}
	if _, err := s.finish(ctx, id); err != nil {
		return nil, err
	}
	return s.ResultJSON(ctx, id, caller)
}

// GradeExpired grades, as they stand, up to max attempts whose time has run out (their
// duration, or their exam's close) and that nobody submitted or read since, each with its
// result email, and returns how many it graded. The email worker's leading relay runs it every
// ATTEMPT_GRADE_INTERVAL, so that a student who never comes back is graded and told anyway.
// Grading is idempotent: an attempt graded meanwhile by a request is left as it is.
func (s *Service) GradeExpired(ctx context.Context, max int) (int, error) {
	ids, err := s.store.ListExpiredAttempts(ctx, s.now(), max)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if _, err := s.finish(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// finish grades attempt id unless it is graded already, with its result email in the same
// transaction, then drops the cache entries the grade makes stale.
func (s *Service) finish(ctx context.Context, id int64) (oes.Attempt, error) {
	a, graded, err := submit(ctx, s.attempts, id, s.now(), s.resultEmail)
	if err != nil {
		return oes.Attempt{}, err
	}
	if graded {
		s.invalidate(ctx, cache.UserExams(a.UserID), cache.ExamResult(a.ID))
	}
	return a, nil
}

// resultEmail is the email that tells the student of a graded attempt their score.
func (s *Service) resultEmail(a oes.Attempt) (store.NewEmail, error) {
	m, err := templates.ResultEmail(a.UserEmail, templates.Result{
		Name: a.UserName, ExamTitle: a.ExamTitle, Score: deref(a.Score), MaxScore: deref(a.MaxScore),
		SubmittedAt: deref(a.SubmittedAt), Expired: a.State(s.now()) == oes.AttemptExpired,
	})
	return store.NewEmail{Kind: oes.EmailResult, Message: m, Priority: ResultEmailPriority, MaxAttempts: s.emailAttempts}, err
}

// owned returns the attempt when it is the caller's. ENOTFOUND, EFORBIDDEN.
func (s *Service) owned(ctx context.Context, id int64, caller Caller) (oes.Attempt, error) {
	a, err := s.store.GetAttempt(ctx, id)
	if err != nil {
		return oes.Attempt{}, err
	}
	if a.UserID != caller.UserID {
		return oes.Attempt{}, forbidden(id)
	}
	return a, nil
}

func forbidden(id int64) error {
	return oes.Errorf(oes.EFORBIDDEN, "attempt %d belongs to another user", id)
}

// invalidate deletes keys after a committed write. The write has succeeded whatever happens
// here, so a failure is logged rather than returned: the entries then expire by their TTL.
func (s *Service) invalidate(ctx context.Context, keys ...cache.Key) {
	if s.cache == nil {
		return
	}
	if err := s.cache.DeleteMany(ctx, keys...); err != nil {
		s.log.WarnContext(ctx, "cache invalidation failed; entries expire by TTL",
			"keys", fmt.Sprint(keys), "err", err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
