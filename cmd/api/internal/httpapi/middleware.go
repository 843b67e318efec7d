package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
)

// MaxBodyBytes bounds every request body; a larger one is answered with 413.
const MaxBodyBytes = 1 << 20

const (
	requestIDHeader = "X-Request-ID"
	ctxLogger       = "oes.logger"
)

// requestContext gives every request an id (an incoming X-Request-ID is kept, within reason)
// and a logger carrying it, echoes the id in the response, and logs the request when done.
func requestContext(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Header(requestIDHeader, id)
		reqLog := log.With("request_id", id)
		c.Set(ctxLogger, reqLog)

		start := time.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelWarn
		}
		reqLog.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)))
	}
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
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

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recoverPanics turns a panic into a logged 500 with the usual error body; the stack goes to
// the log, never to the caller.
func recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				logger(c).Error("panic serving request", "panic", r, "route", c.FullPath())
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
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		}
		c.Next()
	}
}
