// Package demo loads a deterministic demonstration data set: enough exams to exercise paging,
// caching and load tests, and two accounts to sign in with.
//
// The accounts, with passwords meant for demonstrations only:
//
//	admin@oes.local    admin-password-1    (role admin)
//	student@oes.local  student-password-1  (role student)
//
// Both are created with their email already verified.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// PracticeAttempts is how many attempts each demo exam allows.
const PracticeAttempts = 100

// The demonstration accounts.
const (
	AdminEmail      = "admin@oes.local"
	AdminPassword   = "admin-password-1"
	StudentEmail    = "student@oes.local"
	StudentPassword = "student-password-1"
)

// The size of the data set.
const (
	Exams              = 100
	QuestionsPerExam   = 50
	OptionsPerQuestion = 4
)

// Summary reports what Seed found and did.
type Summary struct {
	Admin   oes.User
	Student oes.User
	// ExamsCreated counts the exams this run wrote, ExamsSkipped those already present (by
	// title); together they make Exams.
	ExamsCreated int
	ExamsSkipped int
}

// Seed loads the data set into the database behind pool. It can be repeated: the accounts are
// reset to the documented passwords and roles, and exams whose title exists are left as they
// are, so a second run adds nothing. The exams are written in one transaction, with one
// statement each for exams and questions and a COPY for the options.
func Seed(ctx context.Context, pool *pgxpool.Pool) (Summary, error) {
	st := store.New(pool)
	var sum Summary
	var err error
	verified := time.Now()
	sum.Admin, err = upsertAccount(ctx, st, AdminEmail, "Demo Admin", AdminPassword, oes.RoleAdmin, verified)
	if err != nil {
		return Summary{}, err
	}
	sum.Student, err = upsertAccount(ctx, st, StudentEmail, "Demo Student", StudentPassword, oes.RoleStudent, verified)
	if err != nil {
		return Summary{}, err
	}

	exams := examSet()
	res, err := st.ImportExams(ctx, &sum.Admin.ID, exams)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: import exams: %w", err)
	}
	sum.ExamsCreated, sum.ExamsSkipped = res.Created, res.Skipped
	// The demo exams are practice exams, whoever created them and when: their questions are
	// public (the benchmark reads them signed out) and a result shows the key at once.
	titles := make([]string, len(exams))
	for i, e := range exams {
		titles[i] = e.Title
	}
	if _, err := st.MakePracticeExams(ctx, titles, PracticeAttempts); err != nil {
		return Summary{}, fmt.Errorf("demo: exam policy: %w", err)
	}
	return sum, nil
}

func upsertAccount(ctx context.Context, st *store.Store, email, name, password, role string, verified time.Time) (oes.User, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return oes.User{}, fmt.Errorf("demo: hash password of %s: %w", email, err)
	}
	u, err := st.UpsertUser(ctx, store.NewUser{
		Email:           email,
		Name:            name,
		PasswordHash:    string(hash),
		Role:            role,
		EmailVerifiedAt: &verified,
	})
	if err != nil {
		return oes.User{}, fmt.Errorf("demo: account %s: %w", email, err)
	}
	return u, nil
}

var topics = []string{
	"binary search trees", "TCP congestion control", "relational algebra", "photosynthesis",
	"the French Revolution", "linear regression", "plate tectonics", "cellular respiration",
	"supply and demand", "Newton's laws of motion",
}

// examSet returns the data set's exams. Everything in it follows from the exam and question
// numbers, so every run produces the same texts and the same answer key.
func examSet() []store.ExamImport {
	exams := make([]store.ExamImport, Exams)
	for e := range Exams {
		n := e + 1
		topic := topics[e%len(topics)]
		duration := int32(30 + (e%4)*15)
		exam := store.ExamImport{
			Title: fmt.Sprintf("Exam %03d", n),
			Description: fmt.Sprintf("Practice exam %03d on %s: %d questions in %d minutes.",
				n, topic, QuestionsPerExam, duration),
			DurationMinutes: duration,
			Published:       true,
			Questions:       make([]store.QuestionImport, QuestionsPerExam),
		}
		for q := range QuestionsPerExam {
			correct := (n*7 + q*3) % OptionsPerQuestion
			question := store.QuestionImport{
				Text: fmt.Sprintf("Exam %03d, question %02d: which statement about %s holds in case %d?",
					n, q+1, topic, (n+q)%9+1),
				Points:  int32(1 + q%3),
				Options: make([]oes.OptionInput, OptionsPerQuestion),
			}
			for o := range OptionsPerQuestion {
				question.Options[o] = oes.OptionInput{
					Text:      fmt.Sprintf("Statement %c for case %03d-%02d", 'A'+o, n, q+1),
					IsCorrect: o == correct,
				}
			}
			exam.Questions[q] = question
		}
		exams[e] = exam
	}
	return exams
}
