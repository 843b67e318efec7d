package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/logging"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
)

// A line a service logs while it handles a request names that request's id, so that an
// operator can follow one request from the access log to the service that struggled with it.
func TestServiceLogLinesCarryTheRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	logs := &logtest.Buffer{}
	b.log = logging.New(logs, "json", slog.LevelDebug)
	// The cache's Redis is down: invalidating after a write fails, and the service says so.
	api := b.newAPI(t, b.pool, newCache(t, "redis://"+nettest.FreeAddr(t)+"/0", b.ns), b.queue)
	exam := createGradedExam(t, b, "Logged", 30)

	rec := do(t, api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", exam.ID), admin: true,
		body: map[string]any{"title": "Logged again"}, header: map[string]string{"X-Request-ID": "trace-me-42"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		if strings.Contains(l["msg"].(string), "cache invalidation failed") {
			require.Equal(t, "trace-me-42", l["request_id"], line)
			found = true
		}
	}
	require.True(t, found, "the exam service logged the failed invalidation:\n%s", logs.String())
}
