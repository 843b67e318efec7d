package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/hibiken/asynq"
)

// asynqLogger sends asynq's log lines to the worker's slog logger, so that they come out in the
// same format as the rest.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...)) }

// Fatal honours asynq's contract for it: log, then exit with status 1.
func (l asynqLogger) Fatal(args ...any) {
	l.log.Error(fmt.Sprint(args...))
	os.Exit(1)
}

// asynqLevel is the lowest level log lets through, so that asynq does not format lines that
// would be dropped.
func asynqLevel(log *slog.Logger) asynq.LogLevel {
	ctx := context.Background()
	switch {
	case log.Enabled(ctx, slog.LevelDebug):
		return asynq.DebugLevel
	case log.Enabled(ctx, slog.LevelInfo):
		return asynq.InfoLevel
	case log.Enabled(ctx, slog.LevelWarn):
		return asynq.WarnLevel
	default:
		return asynq.ErrorLevel
	}
}
