package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

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
	if status >= 500 {
		logger(c).LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("code", code), slog.Any("err", err))
		if code == oes.EINTERNAL {
			body.Error.Message = "internal error"
		}
	}
	c.AbortWithStatusJSON(status, body)
}
