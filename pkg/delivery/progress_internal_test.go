package delivery

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A delivery that ends within the first interval writes no progress: the reporter never
// touches the task, which here has no result writer to write to.
func TestFastDeliveryWritesNoProgress(t *testing.T) {
	p := newProgressReporter(nil, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.report(10)
	p.report(50)
	p.report(100)
	p.stop()
	p.flush() // a timer firing after stop writes nothing either
	require.Zero(t, p.written)
}
