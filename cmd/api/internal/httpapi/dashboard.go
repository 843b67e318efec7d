package httpapi

import (
	"bytes"
	_ "embed"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynqmon"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/oes"
)

// Paths of the queue dashboard and of the browser sign-in in front of it.
const (
	DashboardPath    = "/admin/queues"
	AdminLoginPath   = "/admin/login"
	AdminSessionPath = "/admin/session"
)

// The dashboard session is the caller's access token in a cookie, so that a browser, which
// cannot add an Authorization header to a page load, can open the dashboard. The cookie is
// sent to /admin/ only, is out of reach of scripts, and only same-site requests carry it.
const (
	sessionCookie     = "oes_admin_session"
	sessionCookiePath = "/admin"
)

// NewDashboard returns asynqmon, the asynq dashboard, over q's Redis, served under
// DashboardPath. Job payloads show recipients, subject and sizes, never bodies (see
// queue.DisplayPayload). Its actions (retry, delete, pause a lane) are the admin's to take.
// Closing q closes its connections.
func NewDashboard(q *queue.Client) http.Handler {
	return asynqmon.New(asynqmon.Options{
		RootPath:         DashboardPath,
		RedisConnOpt:     q.ConnOpt(),
		PayloadFormatter: asynqmon.PayloadFormatterFunc(queue.DisplayPayload),
	})
}

// dashboard serves the queue dashboard to admins; h is nil when the api runs without one.
type dashboard struct{ h http.Handler }

func (d dashboard) register(r gin.IRoutes) {
	r.GET(DashboardPath, func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, DashboardPath+"/") })
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		r.Handle(m, DashboardPath+"/*path", guardDashboard(), d.serve)
	}
}

func (d dashboard) serve(c *gin.Context) {
	if d.h == nil {
		writeError(c, oes.Errorf(oes.ENOTFOUND, "this api runs without the queue dashboard"))
		return
	}
	denyFraming(c)
	c.Header("Cache-Control", "no-store")
	w := &dashboardWriter{ResponseWriter: c.Writer}
	d.h.ServeHTTP(w, c.Request)
	if !w.failed {
		return
	}
	// asynqmon answers 500 with asynq's error text both for a lane or job that does not exist
	// (a lane exists once it has held a job) and when Redis fails; callers get the API's error
	// shape and status instead, and the text goes to the log.
	c.Writer.Header().Del("Content-Type")
	reason := strings.TrimSpace(w.reason.String())
	if strings.Contains(reason, "not found") {
		writeError(c, oes.Errorf(oes.ENOTFOUND, "no such lane or job"))
		return
	}
	logger(c).WarnContext(c.Request.Context(), "queue dashboard failed", "reason", reason)
	writeError(c, oes.Errorf(oes.EUNAVAILABLE, "the email queue's Redis did not answer; try again"))
}

// dashboardWriter passes asynqmon's answers through, except failures (5xx), which it holds
// back with their first bytes for serve to answer in the API's own way.
type dashboardWriter struct {
	gin.ResponseWriter
	failed bool
	reason bytes.Buffer
}

func (w *dashboardWriter) WriteHeader(code int) {
	if code >= http.StatusInternalServerError {
		w.failed = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *dashboardWriter) Write(b []byte) (int, error) {
	if w.failed {
		if w.reason.Len() < 512 {
			w.reason.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *dashboardWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// guardDashboard lets admins through. A browser that is not signed in is sent to the sign-in
// page; other callers get requireAdmin's 401 or 403. A request that changes something and was
// authenticated by the cookie must come from the dashboard's own pages.
func guardDashboard() gin.HandlerFunc {
	refuse := requireAdmin()
	return func(c *gin.Context) {
		switch {
		case c.GetString(ctxRole) == roleAdmin:
			if c.GetBool(ctxByCookie) && !sameOrigin(c.Request) {
				writeError(c, oes.Errorf(oes.EFORBIDDEN, "a request from another site cannot use the dashboard session"))
				return
			}
			c.Next()
		case c.GetString(ctxRole) == roleAnonymous && isPageLoad(c.Request):
			c.Redirect(http.StatusSeeOther, AdminLoginPath)
			c.Abort()
		default:
			refuse(c)
		}
	}
}

// isPageLoad reports whether r is a browser loading a dashboard page rather than the
// dashboard's scripts calling its JSON API.
func isPageLoad(r *http.Request) bool {
	return r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, DashboardPath+"/api/")
}

// sameOrigin reports whether r may act on the cookie it carries: reads always may; a write
// must say it comes from this origin. Browsers send Sec-Fetch-Site, or at least Origin, with
// every cross-site write, so their absence means a client that sent the cookie on purpose.
func sameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		return err == nil && u.Host == r.Host
	}
	return true
}

// openDashboardSession signs an admin in for the dashboard: the credentials are checked as
// POST /api/v1/auth/login checks them, and the access token goes into the session cookie,
// which lasts as long as the token. Students are refused and get no cookie.
func (h accounts) openDashboardSession(c *gin.Context) {
	s, ok := h.signIn(c)
	if !ok {
		return
	}
	if s.User.Role != oes.RoleAdmin {
		writeError(c, oes.Errorf(oes.EFORBIDDEN, "the queue dashboard is for admins only"))
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     sessionCookie,
		Value:    s.Token,
		Path:     sessionCookiePath,
		Expires:  s.ExpiresAt,
		MaxAge:   max(1, int(time.Until(s.ExpiresAt).Seconds())),
		Secure:   needsSecureCookie(c.Request),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"expires_at": s.ExpiresAt, "dashboard": DashboardPath + "/"})
}

// closeDashboardSession signs the browser out of the dashboard by dropping its cookie.
func closeDashboardSession(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Path: sessionCookiePath, MaxAge: -1,
		Secure: needsSecureCookie(c.Request), HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	c.Status(http.StatusNoContent)
}

// needsSecureCookie reports whether the session cookie must be HTTPS-only: always, except
// for plain HTTP to a loopback host, the local stack, where there is no TLS to require.
func needsSecureCookie(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

//go:embed login.html
var loginHTML []byte

// loginPage is the dashboard's sign-in form; it posts to AdminSessionPath and, once signed
// in, opens the dashboard.
func loginPage(c *gin.Context) {
	denyFraming(c)
	c.Data(http.StatusOK, "text/html; charset=utf-8", loginHTML)
}

// denyFraming keeps other sites from framing the dashboard and its sign-in, whose buttons
// delete jobs and submit credentials.
func denyFraming(c *gin.Context) {
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "frame-ancestors 'none'")
}
