package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/infra/logging"
	"github.com/oeshq/oes/pkg/oes"
)

// MaxBodyBytes bounds every request body; a larger one is answered with 413.
const MaxBodyBytes = 1 << 20

const (
	requestIDHeader = "X-Request-ID"
	ctxLogger       = "oes.logger"
)

// requestContext gives every request an id (an incoming X-Request-ID is kept, within reason),
// echoes it in the response, puts it in the request's context.Context, which handlers pass on
// to the services and the store, so that every line logged with that context names it
// (logging.WithRequestID), and logs the request when done.
func requestContext(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			id = requestIDs.next()
		}
		c.Header(requestIDHeader, id)
		c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
		c.Set(ctxLogger, log)

		start := time.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelWarn
		}
		if log.Enabled(c.Request.Context(), level) {
			logger(c).LogAttrs(c.Request.Context(), level, "request",
				slog.String("method", requestMethod(c.Request)),
				slog.String("route", c.FullPath()),
				slog.Int("status", c.Writer.Status()),
				slog.Duration("duration", time.Since(start)))
		}
	}
}

// logger returns the api's logger; lines logged with the request's context name its id.
func logger(c *gin.Context) *slog.Logger {
	log, ok := c.Get(ctxLogger)
	if !ok {
		return slog.Default()
	}
	return log.(*slog.Logger)
}

// validRequestID accepts ids a log line can carry safely: short, printable ASCII.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestIDs mints ids unique across replicas without a syscall per request: a random
// prefix chosen at start-up followed by a counter.
var requestIDs = newIDSource()

type idSource struct {
	prefix [12]byte
	n      atomic.Uint64
}

func newIDSource() *idSource {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &idSource{}
	hex.Encode(s.prefix[:], b[:])
	return s
}

func (s *idSource) next() string {
	var buf [24]byte
	copy(buf[:12], s.prefix[:])
	n := s.n.Add(1)
	for i := 23; i >= 12; i-- {
		buf[i] = "0123456789abcdef"[n&0xf]
		n >>= 4
	}
	return string(buf[:])
}

// recoverPanics turns a panic into a logged 500 with the usual error body; the stack goes to
// the log, never to the caller.
func recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler { //nolint:errorlint // net/http matches ErrAbortHandler by identity, not with errors.Is.
					panic(r)
				}
				logger(c).ErrorContext(c.Request.Context(), "panic serving request", "panic", r, "route", c.FullPath())
				writeError(c, oes.Errorf(oes.EINTERNAL, "internal error"))
			}
		}()
		c.Next()
	}
}

// limitBody refuses bodies over MaxBodyBytes: at once when Content-Length says so, and while
// reading otherwise (decodeJSON reports it as ETOOLARGE).
func limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxBodyBytes {
			writeError(c, oes.Errorf(oes.ETOOLARGE, "request body exceeds %d bytes", MaxBodyBytes))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		}
		c.Next()
	}
}
