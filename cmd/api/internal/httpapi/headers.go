package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// The headers a browser front end on another origin may send and read, and how long it may
// keep a preflight's answer.
const (
	corsAllowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type, X-Request-ID"
	corsExposeHeaders = "X-Request-ID, Retry-After, WWW-Authenticate"
	corsMaxAge        = 10 * time.Minute
)

// securityHeaders sets the headers every answer carries: no content sniffing, no Referer
// sent on from the api's pages, and, when hstsMaxAge is positive, HSTS (without subdomains,
// which may be served by others).
func securityHeaders(hstsMaxAge time.Duration) gin.HandlerFunc {
	hsts := ""
	if hstsMaxAge > 0 {
		hsts = "max-age=" + strconv.FormatInt(int64(hstsMaxAge/time.Second), 10)
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if hsts != "" {
			h.Set("Strict-Transport-Security", hsts)
		}
		c.Next()
	}
}

// allowOrigins answers cross-origin requests from origins (exact origins as browsers send
// them, or "*" alone for any) with the CORS headers that let the page read the answer, and
// answers their preflights with 204. Credentials are never allowed: a front end authenticates
// with the access token in Authorization, so a page on another origin cannot act with the
// dashboard's cookie. Requests from other origins get no CORS headers, which browsers refuse.
// No origins turns CORS off.
func allowOrigins(origins []string) gin.HandlerFunc {
	if len(origins) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	anyOrigin := slices.Equal(origins, []string{"*"})
	return func(c *gin.Context) {
		h := c.Writer.Header()
		if !anyOrigin {
			// The answer depends on the Origin: caches must keep one per origin.
			h.Add("Vary", "Origin")
		}
		origin := c.GetHeader("Origin")
		if origin == "" || (!anyOrigin && !slices.Contains(origins, origin)) {
			c.Next()
			return
		}
		if anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge/time.Second)))
			if !anyOrigin {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
			}
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		c.Next()
	}
}
