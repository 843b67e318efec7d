// Package httpapi is the api's HTTP layer: routing, the error shape, authentication and the
// handlers. Handlers translate HTTP to calls on the domain services and back; they never
// build SQL or cache keys.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/auth"
	"github.com/oeshq/oes/pkg/cache"
	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/oes"
)

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the router needs. Cache may be nil (caching disabled by configuration); every
// other field is required.
type Deps struct {
	Log      *slog.Logger
	Exams    *exam.Service
	Accounts *account.Service
	Tokens   *auth.Tokens // checks the access tokens callers present
	Queue    EmailQueue   // the email queue, for the monitoring endpoints
	Cache    *cache.Cache
	DB       Pinger
}

// NewRouter returns the api's handler with every route registered.
func NewRouter(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestContext(d.Log), recoverPanics(), limitBody(), identify(d.Tokens))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, oes.Errorf(oes.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"}})
	})

	h := health{db: d.DB, cache: d.Cache}
	r.GET("/healthz", h.live)
	r.GET("/readyz", h.ready)

	ex := exams{svc: d.Exams}
	v1 := r.Group("/api/v1")
	v1.GET("/exams", ex.list)
	v1.GET("/exams/:id", ex.get)
	v1.GET("/exams/:id/questions", ex.questions)
	v1.GET("/questions/:id", ex.question)

	acc := accounts{svc: d.Accounts}
	r.POST(RegisterPath, acc.register)
	r.GET(VerifyPath, acc.verify)
	r.POST(ResendPath, acc.resend)
	r.POST(LoginPath, acc.login)
	r.POST(ResetPath, acc.requestReset)
	r.POST(ResetConfirmPath, acc.confirmReset)

	admin := v1.Group("", requireAdmin())
	admin.POST("/exams", ex.create)
	admin.PATCH("/exams/:id", ex.update)
	admin.DELETE("/exams/:id", ex.delete)
	admin.POST("/exams/:id/questions", ex.createQuestion)
	admin.PATCH("/questions/:id", ex.updateQuestion)
	admin.DELETE("/questions/:id", ex.deleteQuestion)

	ad := adminAPI{cache: d.Cache}
	admin.DELETE("/admin/cache", ad.clearCache)
	admin.GET("/admin/cache/stats", ad.cacheStats)

	qs := queues{q: d.Queue}
	admin.GET("/admin/queues/email", qs.counts)
	admin.GET("/admin/queues/email/failed", qs.failed)
	admin.GET("/admin/queues/email/active", qs.active)
	admin.GET("/admin/jobs/:id", qs.job)
	admin.POST("/admin/jobs/:id/retry", qs.retry)
	return r
}

const contentTypeJSON = "application/json; charset=utf-8"
