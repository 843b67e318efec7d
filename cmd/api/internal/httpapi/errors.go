package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
)

// errorBody is the one shape every error response has.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Details []oes.FieldError `json:"details,omitempty"`
}

// statusOf maps an error code to its HTTP status; this is the only place that does.
func statusOf(code string) int {
	switch code {
	case oes.EINVALID:
		return http.StatusBadRequest
	case oes.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case oes.EFORBIDDEN, oes.EEMAILNOTVERIFIED, oes.EQUESTIONSNOTPUBLIC, oes.ENOTACANDIDATE:
		return http.StatusForbidden
	case oes.ENOTFOUND:
		return http.StatusNotFound
	case oes.ECONFLICT, oes.EEXAMNOTOPEN, oes.EEXAMCLOSED, oes.EATTEMPTSEXHAUSTED:
		return http.StatusConflict
	case oes.ELASTADMIN:
		return http.StatusConflict
	case oes.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case oes.ERATELIMITED:
		return http.StatusTooManyRequests
	case oes.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers with err's status and caller-safe message. Errors the application does
// not understand are logged with the request id and answered with a generic 500: their text
// may hold SQL or driver detail.
func writeError(c *gin.Context, err error) {
	code := oes.ErrorCode(err)
	status := statusOf(code)
	body := errorBody{Error: errorDetail{Code: code, Message: oes.ErrorMessage(err)}}
	var e *oes.Error
	if errors.As(err, &e) {
		body.Error.Details = e.Fields
	}
	body.Error = body.Error.bounded()
	if status >= 500 {
		logger(c).LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("code", code), slog.Any("err", err))
		if code == oes.EINTERNAL {
			body.Error.Message = "internal error"
		}
	}
	c.AbortWithStatusJSON(status, body)
}

// Bounds of an error body. Messages and field names may echo the caller's input (an unknown
// field's name, a path), and a body may list a problem per input item; bounded so, and even
// with every byte escaped by JSON (six bytes for one), a body stays under MaxErrorBodyBytes.
const (
	// MaxErrorBodyBytes is the most an error body's JSON takes.
	MaxErrorBodyBytes = 16 << 10
	maxErrorDetails   = 10  // the problems listed; the message says how many there were
	maxEchoBytes      = 64  // a field name, or a method, as echoed
	maxDetailBytes    = 128 // a problem's message
	maxMessageBytes   = 320 // the error's message
)

// bounded returns d with at most maxErrorDetails details and its strings truncated.
func (d errorDetail) bounded() errorDetail {
	d.Message = truncate(d.Message, maxMessageBytes)
	if n := len(d.Details); n > maxErrorDetails {
		d.Message += fmt.Sprintf(" (the first %d of %d problems are listed)", maxErrorDetails, n)
		d.Details = d.Details[:maxErrorDetails]
	}
	if len(d.Details) > 0 {
		fs := make([]oes.FieldError, len(d.Details))
		for i, f := range d.Details {
			fs[i] = oes.FieldError{Field: truncate(f.Field, maxEchoBytes), Message: truncate(f.Message, maxDetailBytes)}
		}
		d.Details = fs
	}
	return d
}

// truncate shortens s to at most n bytes, cut at a character boundary and ending in "…" when
// it was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := max(n-len(ellipsis), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
