// Package httpapi is the api's HTTP layer: routing, the error shape, authentication and the
// handlers. Handlers translate HTTP to calls on the domain services and back; they never
// build SQL or cache keys.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
)

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the router needs. Cache may be nil (caching disabled by configuration), and so
// may Metrics; every other field is required.
type Deps struct {
	Log      *slog.Logger
	Exams    *exam.Service
	Accounts *account.Service
	Attempts *attempt.Service
	Tokens   *auth.Tokens // checks the access tokens callers present
	Outbox   Outbox       // the email outbox, for the email monitoring endpoints
	Cache    *cache.Cache
	DB       Pinger
	Profiles *profile.Service
	// Limits are the abuse limits; the zero value turns them off.
	Limits RateLimits
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies whose
	// X-Forwarded-For names the client; none by default, so clients cannot choose their IP.
	TrustedProxies []string
	// HSTSMaxAge, when positive, has every answer tell browsers to use HTTPS only for the
	// api's host that long; zero sends no Strict-Transport-Security.
	HSTSMaxAge time.Duration
	// AllowedOrigins are the origins (scheme://host[:port], or "*" alone) of browser front
	// ends allowed to call the api from their pages (CORS); none sends no CORS headers.
	AllowedOrigins []string
	// Metrics receives the request metrics (observeRequests); nil keeps none.
	Metrics prometheus.Registerer
	// Dashboard is the queue dashboard (NewDashboard) served to admins under DashboardPath;
	// nil answers 404 there.
	Dashboard http.Handler
}

// NewRouter returns the api's handler with every route registered. It panics when the
// embedded OpenAPI document cannot be read, a build mistake the tests catch.
//
//nolint:contextcheck // The handler serves each request within the request's own context.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		d.Log.Error("trusted proxies refused; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	// Before everything: a HEAD is served again as a GET, through every other middleware.
	r.Use(serveHEAD(r))
	if d.Metrics != nil {
		// Next, so that the time of every other middleware and every refusal counts.
		r.Use(observeRequests(d.Metrics))
	}
	r.Use(requestContext(d.Log), recoverPanics(), securityHeaders(d.HSTSMaxAge), allowOrigins(d.AllowedOrigins),
		limitBody(), identify(d.Tokens, d.Profiles))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, oes.Errorf(oes.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: "method_not_allowed", Message: truncate(c.Request.Method, maxEchoBytes) + " is not allowed here"}})
	})

	docs, err := loadAPIDocs()
	if err != nil {
		panic(err)
	}
	docs.register(r)

	h := health{db: d.DB, cache: d.Cache}
	r.GET("/healthz", h.live)
	r.GET("/readyz", h.ready)

	ex := exams{svc: d.Exams}
	lim := limits{d.Limits}
	v1 := r.Group("/api/v1", lim.general())
	v1.GET("/exams", ex.list)
	v1.GET("/exams/:id", ex.get)
	v1.GET("/exams/:id/questions", ex.questions)
	v1.GET("/questions/:id", ex.question)

	acc := accounts{svc: d.Accounts}
	r.POST(RegisterPath, lim.general(), lim.auth("register", false), acc.register)
	r.GET(VerifyPath, lim.general(), acc.verify)
	r.POST(ResendPath, lim.general(), lim.auth("resend", true), acc.resend)
	r.POST(LoginPath, lim.general(), lim.auth("login", true), acc.login)
	r.POST(ResetPath, lim.general(), lim.auth("reset", true), acc.requestReset)
	r.POST(ResetConfirmPath, lim.general(), lim.auth("reset_confirm", false), acc.confirmReset)

	// The pages the account emails link to share the JSON endpoints' limits.
	pg := accountPages{svc: d.Accounts}
	r.GET(VerifyPagePath, lim.general(), pg.verifyForm)
	r.POST(VerifyPagePath, lim.general(), pg.verify)
	r.POST(VerifyResendPagePath, lim.general(), lim.auth("resend", true), pg.resend)
	r.GET(ResetPagePath, lim.general(), pg.resetForm)
	r.POST(ResetPagePath, lim.general(), lim.auth("reset_confirm", false), pg.reset)
	r.POST(ResetRequestPagePath, lim.general(), lim.auth("reset", true), pg.requestReset)

	pr := profiles{svc: d.Profiles}
	v1.GET("/users/me", pr.me)
	v1.PATCH("/users/me", pr.update)

	at := attempts{svc: d.Attempts, exams: d.Exams}
	v1.POST("/exams/:id/attempts", at.start)
	v1.GET("/attempts/:id/questions", at.questions)
	v1.PUT("/attempts/:id/answers", at.saveAnswers)
	v1.POST("/attempts/:id/submit", at.submit)
	v1.GET("/attempts/:id/result", at.result)
	v1.GET("/users/me/exams", at.mine)
	v1.GET("/users/me/open-exams", at.openExams)

	admin := v1.Group("", requireAdmin())
	admin.POST("/exams", ex.create)
	admin.PATCH("/exams/:id", ex.update)
	admin.DELETE("/exams/:id", ex.delete)
	admin.POST("/exams/:id/questions", ex.createQuestion)
	admin.PATCH("/questions/:id", ex.updateQuestion)
	admin.DELETE("/questions/:id", ex.deleteQuestion)
	admin.GET("/admin/exams/:id/results", at.examResults)
	admin.POST("/admin/exams/:id/candidates", ex.addCandidates)
	admin.GET("/admin/exams/:id/candidates", ex.candidates)
	admin.DELETE("/admin/exams/:id/candidates/:user_id", ex.removeCandidate)
	admin.POST("/admin/exams/:id/announcements", ex.announce)

	ad := adminAPI{cache: d.Cache}
	admin.DELETE("/admin/cache", ad.clearCache)
	admin.GET("/admin/cache/stats", ad.cacheStats)

	us := users{svc: d.Accounts}
	admin.GET("/admin/users", us.list)
	admin.PATCH("/admin/users/:id", us.setRole)

	em := emails{outbox: d.Outbox}
	admin.GET("/admin/queues/email", em.counts)
	admin.GET("/admin/queues/email/failed", em.failed)
	admin.GET("/admin/queues/email/active", em.active)
	admin.GET("/admin/jobs/:id", em.job)
	admin.POST("/admin/jobs/:id/retry", em.retry)
	admin.POST("/admin/jobs/:id/cancel", em.cancel)
	admin.GET("/admin/users/:id/emails", em.userEmails)
	admin.GET("/admin/suppressions", em.suppressions)
	admin.DELETE("/admin/suppressions/:address", em.unsuppress)

	r.GET(AdminLoginPath, loginPage)
	r.POST(AdminSessionPath, lim.general(), lim.auth("login", true), acc.openDashboardSession)
	r.DELETE(AdminSessionPath, closeDashboardSession)
	dashboard{d.Dashboard}.register(r)
	return r
}

const contentTypeJSON = "application/json; charset=utf-8"
