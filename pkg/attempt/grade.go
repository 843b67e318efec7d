package attempt

import (
	"slices"
	"strconv"
	"strings"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Grade scores an attempt: a question earns its points when the set of options chosen equals
// the set of its correct options, and nothing otherwise; there is no partial credit.
func Grade(questions []oes.Question, chosen store.Answers) (score, maxScore int32) {
	for _, q := range questions {
		maxScore += q.Points
		if answeredCorrectly(q, chosen[q.ID]) {
			score += q.Points
		}
	}
	return score, maxScore
}

// answeredCorrectly compares chosen, which may be unsorted, with q's answer key.
func answeredCorrectly(q oes.Question, chosen []int64) bool {
	var key []int64
	for _, o := range q.Options {
		if o.IsCorrect != nil && *o.IsCorrect {
			key = append(key, o.ID)
		}
	}
	got := slices.Clone(chosen)
	slices.Sort(got)
	got = slices.Compact(got)
	return slices.Equal(key, got)
}

// validateAnswers checks in against the exam's questions and returns it keyed by question id.
func validateAnswers(in AnswersInput, examID int64, questions []oes.Question) (store.Answers, error) {
	if in.Answers == nil {
		return nil, oes.Invalid(oes.FieldError{Field: "answers", Message: "is required: an object of option ids by question id"})
	}
	byID := make(map[int64]oes.Question, len(questions))
	for _, q := range questions {
		byID[q.ID] = q
	}
	var fs []oes.FieldError
	answers := make(store.Answers, len(in.Answers))
	for key, options := range in.Answers {
		field := "answers." + key
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil || id < 1 {
			fs = append(fs, oes.FieldError{Field: field, Message: "must be keyed by a question id"})
			continue
		}
		q, ok := byID[id]
		if !ok {
			fs = append(fs, oes.FieldError{Field: field, Message: "is not a question of exam " + strconv.FormatInt(examID, 10)})
			continue
		}
		for _, o := range options {
			if !slices.ContainsFunc(q.Options, func(opt oes.Option) bool { return opt.ID == o }) {
				fs = append(fs, oes.FieldError{Field: field, Message: "option " + strconv.FormatInt(o, 10) + " is not an option of this question"})
			}
		}
		answers[id] = append([]int64{}, options...)
	}
	if fs != nil {
		slices.SortFunc(fs, func(a, b oes.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, oes.Invalid(fs...)
	}
	return answers, nil
}
