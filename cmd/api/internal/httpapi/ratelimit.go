package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/ratelimit"
)

// RateLimits are the abuse limits, in requests per minute. A nil Limiter turns them all off.
type RateLimits struct {
	Limiter *ratelimit.Limiter
	// AuthIP limits each client IP on each of the account endpoints that check a password or
	// send email; AuthEmail limits each email address named in their body, from any IP.
	AuthIP, AuthEmail int
	// IP limits each client IP, and User each signed-in account, on every other endpoint.
	IP, User int
}

// limits builds the limiting middleware of the router.
type limits struct{ RateLimits }

// general applies the generous limits: per client IP, and per account for signed-in callers.
func (l limits) general() gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.Limiter == nil {
			c.Next()
			return
		}
		if !l.allow(c, ratelimit.IP("api", c.ClientIP()), l.IP) {
			return
		}
		if id := callerID(c); id != nil && !l.allow(c, ratelimit.User("api", *id), l.User) {
			return
		}
		c.Next()
	}
}

// auth applies the small limits of one account endpoint (scope): per client IP and, when
// byEmail, per email address named in the JSON body. The body is read here and given back to
// the handler as it was.
func (l limits) auth(scope string, byEmail bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.Limiter == nil {
			c.Next()
			return
		}
		if !l.allow(c, ratelimit.IP(scope, c.ClientIP()), l.AuthIP) {
			return
		}
		if byEmail {
			if email := peekEmail(c); email != "" && !l.allow(c, ratelimit.Email(scope, email), l.AuthEmail) {
				return
			}
		}
		c.Next()
	}
}

// allow counts the request in b and answers 429 with Retry-After when it is over perMinute.
func (l limits) allow(c *gin.Context, b ratelimit.Bucket, perMinute int) bool {
	d := l.Limiter.Allow(c.Request.Context(), b, perMinute)
	if d.Allowed {
		return true
	}
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	secs = max(secs, 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	writeError(c, oes.Errorf(oes.ERATELIMITED, "too many requests; try again in %s", time.Duration(secs)*time.Second))
	return false
}

// peekEmail returns the "email" member of a JSON body, or the "email" field of a form (the
// account pages), or "" when there is none, and leaves the body for the handler to read,
// failures included (an oversized body stays a 413).
func peekEmail(c *gin.Context) string {
	if c.Request.Body == nil {
		return ""
	}
	b, err := io.ReadAll(c.Request.Body)
	var rest io.Reader = bytes.NewReader(b)
	if err != nil {
		rest = io.MultiReader(rest, errReader{err})
	}
	c.Request.Body = io.NopCloser(rest)
	if err != nil {
		return ""
	}
	if c.ContentType() == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return ""
		}
		return form.Get("email")
	}
	var in struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(b, &in) != nil {
		return ""
	}
	return in.Email
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
