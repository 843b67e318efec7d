package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/logging"
)

func TestLinesLoggedWithARequestsContextNameItsID(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := logging.New(&buf, format, slog.LevelInfo).With("component", "exam")
			ctx := logging.WithRequestID(context.Background(), "req-42")
			log.WarnContext(ctx, "cache invalidation failed")
			require.Contains(t, buf.String(), "req-42")
			require.Contains(t, buf.String(), "component")

			buf.Reset()
			log.Warn("no request")
			require.NotContains(t, buf.String(), "request_id")
		})
	}
	var buf bytes.Buffer
	logging.New(&buf, "json", slog.LevelInfo).InfoContext(logging.WithRequestID(context.Background(), "r1"), "hello")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "r1", line["request_id"])
	require.Equal(t, "r1", logging.RequestID(logging.WithRequestID(context.Background(), "r1")))
	require.Empty(t, logging.RequestID(context.Background()))
}
