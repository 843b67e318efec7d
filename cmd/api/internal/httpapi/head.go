package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// serveHEAD answers HEAD as GET without the body, on every GET route, so that link checkers
// and uptime probes get the status GET would. The router has no HEAD routes: a HEAD request
// reaches this first middleware through the not-found or method-not-allowed chain and is
// served again as GET, through the whole GET chain (limits, authentication, metrics). Every
// other request passes, with HEAD added to the Allow header of a 405 wherever GET is allowed.
func serveHEAD(r *gin.Engine) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodHead {
			// Gin names the allowed methods before a 405's chain runs.
			if allow := c.Writer.Header().Get("Allow"); slices.Contains(strings.Split(allow, ", "), http.MethodGet) {
				c.Writer.Header().Set("Allow", allow+", "+http.MethodHead)
			}
			c.Next()
			return
		}
		c.Abort()
		c.Writer.Header().Del("Allow")
		get := c.Request.Clone(context.WithValue(c.Request.Context(), headKey{}, true))
		get.Method = http.MethodGet
		r.ServeHTTP(headWriter{c.Writer}, get)
	}
}

// headKey marks in its context a request that arrived as HEAD and is served as GET.
type headKey struct{}

// requestMethod is the method the client sent, which the log and the metrics show: HEAD for a
// HEAD served as GET.
func requestMethod(r *http.Request) string {
	if head, _ := r.Context().Value(headKey{}).(bool); head {
		return http.MethodHead
	}
	return r.Method
}

// headWriter keeps a GET's status and headers and drops its body. It writes through the
// HEAD's own gin writer, so that gin sees the answer written and adds none of its own.
type headWriter struct {
	w gin.ResponseWriter
}

func (h headWriter) Header() http.Header { return h.w.Header() }

func (h headWriter) WriteHeader(status int) {
	h.w.WriteHeader(status)
	h.w.WriteHeaderNow()
}

func (h headWriter) Write(p []byte) (int, error) {
	h.w.WriteHeaderNow()
	return len(p), nil
}

// Flush sends the status and headers; there is no body to send.
func (h headWriter) Flush() { h.w.WriteHeaderNow() }

func (h headWriter) Unwrap() http.ResponseWriter { return h.w }
