package exam

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oeshq/oes/pkg/oes"
)

// Limits on what an exam and a question may hold.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 10000
	MaxDurationMin    = 24 * 60
	MaxQuestionLen    = 4000
	MaxOptionLen      = 1000
	MaxPoints         = 1000
	MinOptions        = 2
	MaxOptions        = 10
)

func validateExam(in oes.ExamInput, create bool) error {
	var fs []oes.FieldError
	add := func(field, msg string) { fs = append(fs, oes.FieldError{Field: field, Message: msg}) }

	switch {
	case in.Title == nil && create:
		add("title", "is required")
	case in.Title != nil && strings.TrimSpace(*in.Title) == "":
		add("title", "must not be blank")
	case in.Title != nil && utf8.RuneCountInString(*in.Title) > MaxTitleLen:
		add("title", "must be at most 200 characters")
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > MaxDescriptionLen {
		add("description", "must be at most 10000 characters")
	}
	switch {
	case in.DurationMinutes == nil && create:
		add("duration_minutes", "is required")
	case in.DurationMinutes != nil && (*in.DurationMinutes < 1 || *in.DurationMinutes > MaxDurationMin):
		add("duration_minutes", "must be between 1 and 1440")
	}
	for _, t := range []struct {
		field string
		v     oes.OptionalTime
	}{{"opens_at", in.OpensAt}, {"closes_at", in.ClosesAt}} {
		if t.v.Invalid {
			add(t.field, "must be a time in RFC 3339, such as 2027-01-31T09:00:00Z, or null")
		}
	}
	if o, c := in.OpensAt.Time, in.ClosesAt.Time; o != nil && c != nil && !o.Before(*c) {
		add("closes_at", "must be after opens_at")
	}
	if in.MaxAttempts != nil && (*in.MaxAttempts < 1 || *in.MaxAttempts > oes.MaxMaxAttempts) {
		add("max_attempts", "must be between 1 and 100")
	}
	if v := in.KeyRelease; v != nil && *v != oes.KeyAfterClose && *v != oes.KeyAfterSubmit && *v != oes.KeyNever {
		add("key_release", "must be after_close, after_submit or never")
	}
	if v := in.QuestionVisibility; v != nil && *v != oes.QuestionsDuringAttempt && *v != oes.QuestionsPublic {
		add("question_visibility", "must be during_attempt or public")
	}
	if !create && in == (oes.ExamInput{}) {
		add("body", "names no field to change")
	}
	if fs != nil {
		return oes.Invalid(fs...)
	}
	return nil
}

func validateQuestion(in oes.QuestionInput, create bool) error {
	var fs []oes.FieldError
	add := func(field, msg string) { fs = append(fs, oes.FieldError{Field: field, Message: msg}) }

	if in.Position != nil && *in.Position < 1 {
		add("position", "must be at least 1")
	}
	switch {
	case in.Text == nil && create:
		add("text", "is required")
	case in.Text != nil && strings.TrimSpace(*in.Text) == "":
		add("text", "must not be blank")
	case in.Text != nil && utf8.RuneCountInString(*in.Text) > MaxQuestionLen:
		add("text", "must be at most 4000 characters")
	}
	if in.Points != nil && (*in.Points < 0 || *in.Points > MaxPoints) {
		add("points", "must be between 0 and 1000")
	}
	switch {
	case in.Options == nil && create:
		add("options", "is required")
	case in.Options != nil && (len(in.Options) < MinOptions || len(in.Options) > MaxOptions):
		add("options", "must hold between 2 and 10 options")
	case in.Options != nil:
		correct := 0
		for i, o := range in.Options {
			if strings.TrimSpace(o.Text) == "" {
				add(optionField(i), "must not be blank")
			} else if utf8.RuneCountInString(o.Text) > MaxOptionLen {
				add(optionField(i), "must be at most 1000 characters")
			}
			if o.IsCorrect {
				correct++
			}
		}
		if correct == 0 {
			add("options", "must mark at least one option correct")
		}
	}
	if !create && in.Position == nil && in.Text == nil && in.Points == nil && in.Options == nil {
		add("body", "names no field to change")
	}
	if fs != nil {
		return oes.Invalid(fs...)
	}
	return nil
}

func optionField(i int) string {
	return "options[" + strconv.Itoa(i) + "].text"
}
