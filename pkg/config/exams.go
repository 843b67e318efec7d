package config

import (
	"fmt"
	"slices"
	"time"
)

// Exams configures what the api does around an exam's schedule.
type Exams struct {
	ReminderOffsets []time.Duration `envconfig:"REMINDER_OFFSETS" default:"24h,1h" desc:"when the candidates of an exam are reminded of its opening, before opens_at (comma-separated durations, at most 5, each from 1s to 720h)"`
}

// MaxReminders bounds how many reminders a candidate gets per exam.
const MaxReminders = 5

func (e Exams) Validate() error {
	if len(e.ReminderOffsets) > MaxReminders {
		return fmt.Errorf("REMINDER_OFFSETS: at most %d offsets, got %d", MaxReminders, len(e.ReminderOffsets))
	}
	for _, d := range e.ReminderOffsets {
		if d <= 0 || d > 30*24*time.Hour {
			return fmt.Errorf("REMINDER_OFFSETS: each must be from 1s to 720h, got %s", d)
		}
	}
	sorted := slices.Clone(e.ReminderOffsets)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(e.ReminderOffsets) {
		return fmt.Errorf("REMINDER_OFFSETS: must not repeat an offset")
	}
	return nil
}
