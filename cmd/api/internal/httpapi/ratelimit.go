package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/infra/ratelimit"
	"github.com/oeshq/oes/pkg/oes"
)

// RateLimits are the abuse limits, in requests per minute. A nil Limiter turns them all off;
// a limit below 1 is none.
type RateLimits struct {
	Limiter *ratelimit.Limiter
	// AuthIP limits each client IP on each of the account endpoints that send email or take a
	// reset token; AuthEmail limits each email address named in the body of those that send
	// email, from any IP, and AuthEmailIP from one IP, so that one client cannot use up an
	// address's budget.
	AuthIP, AuthEmail, AuthEmailIP int
	// LoginIP, LoginEmailIP and LoginEmail limit failed sign-ins (see limits.login): per client
	// IP, per email address and client IP, and per email address from IPs not known to it.
	LoginIP, LoginEmailIP, LoginEmail int
	// IP limits each client IP, and User each signed-in account, on every other endpoint.
	IP, User int
	// Local, when set, decides IP and User in process (see ratelimit.Local) instead of
	// asking Limiter's Redis on every request.
	Local *ratelimit.Local
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
		decide := l.Limiter.Allow
		if l.Local != nil {
			decide = l.Local.Allow
		}
		ctx := c.Request.Context()
		if !admit(c, decide(ctx, ratelimit.IP("api", c.ClientIP()), l.IP)) {
			return
		}
		if id := callerID(c); id != nil && !admit(c, decide(ctx, ratelimit.User("api", *id), l.User)) {
			return
		}
		c.Next()
	}
}

// loginScope is the scope of the sign-in endpoints, which count failures (see login).
const loginScope = "login"

// auth applies the small limits of one account endpoint (scope): per client IP and, when
// byEmail, per email address named in the JSON body, from that IP and from any. The body is
// read here and given back to the handler as it was. The sign-in scope gets login's limits.
func (l limits) auth(scope string, byEmail bool) gin.HandlerFunc {
	if scope == loginScope {
		return l.login()
	}
	return func(c *gin.Context) {
		if l.Limiter == nil {
			c.Next()
			return
		}
		ip := c.ClientIP()
		if !l.allow(c, ratelimit.IP(scope, ip), l.AuthIP) {
			return
		}
		if byEmail {
			// The stricter per-client count first: a client over it uses up none of the
			// address's budget.
			email := peekEmail(c)
			if email != "" && (!l.allow(c, ratelimit.EmailIP(scope, email, ip), l.AuthEmailIP) ||
				!l.allow(c, ratelimit.Email(scope, email), l.AuthEmail)) {
				return
			}
		}
		c.Next()
	}
}

// knownFor is how long a successful sign-in from a client IP exempts that IP from the
// account's per-email failure limit.
const knownFor = 30 * 24 * time.Hour

// login limits failed sign-ins, never successful ones, so that nobody can keep the owner of
// an account out by failing in their name. Before the password is checked, a request is
// refused when its client IP is over LoginIP, or the pair of its email and client IP is over
// LoginEmailIP, or the email is over LoginEmail and the client IP has not signed in to the
// account within knownFor. A failure (signIn's outcome: wrong password or unknown address)
// then counts in all three; a sign-in whose password is right empties the pair's count and
// makes the pair known.
func (l limits) login() gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.Limiter == nil {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		ip := c.ClientIP()
		byIP := ratelimit.IP(loginScope, ip)
		if !l.check(c, byIP, l.LoginIP) {
			return
		}
		email := strings.TrimSpace(peekEmail(c))
		var pair, byEmail ratelimit.Bucket
		if email != "" {
			pair, byEmail = ratelimit.EmailIP(loginScope, email, ip), ratelimit.Email(loginScope, email)
			if !l.check(c, pair, l.LoginEmailIP) {
				return
			}
			if d := l.Limiter.Check(ctx, byEmail, l.LoginEmail); !d.Allowed &&
				!l.Limiter.Remembered(ctx, ratelimit.EmailIP(loginKnownScope, email, ip)) {
				refuse(c, d)
				return
			}
		}
		c.Next()
		switch c.GetString(ctxSignIn) {
		case signInFailed:
			l.Limiter.Fail(ctx, byIP, l.LoginIP)
			if email != "" {
				l.Limiter.Fail(ctx, pair, l.LoginEmailIP)
				l.Limiter.Fail(ctx, byEmail, l.LoginEmail)
			}
		case signInPassed:
			l.Limiter.Reset(ctx, pair)
			l.Limiter.Remember(ctx, ratelimit.EmailIP(loginKnownScope, email, ip), knownFor)
		}
	}
}

// loginKnownScope holds the marks of the (email, client IP) pairs that signed in.
const loginKnownScope = "login_known"

// check refuses with 429 when one more failure in b would be over perMinute, counting nothing.
func (l limits) check(c *gin.Context, b ratelimit.Bucket, perMinute int) bool {
	return admit(c, l.Limiter.Check(c.Request.Context(), b, perMinute))
}

// allow counts the request in b and answers 429 with Retry-After when it is over perMinute.
func (l limits) allow(c *gin.Context, b ratelimit.Bucket, perMinute int) bool {
	return admit(c, l.Limiter.Allow(c.Request.Context(), b, perMinute))
}

// admit reports whether d admits the request, after answering 429 when it does not.
func admit(c *gin.Context, d ratelimit.Decision) bool {
	if !d.Allowed {
		refuse(c, d)
	}
	return d.Allowed
}

// refuse answers 429 with Retry-After.
func refuse(c *gin.Context, d ratelimit.Decision) {
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	secs = max(secs, 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	writeError(c, oes.Errorf(oes.ERATELIMITED, "too many requests; try again in %s", time.Duration(secs)*time.Second))
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
