// Package logging builds the process logger: JSON for log collectors, text for people.
package logging

import (
	"io"
	"log/slog"
)

// New returns a logger writing to w in format ("json" or "text") at level and above.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
