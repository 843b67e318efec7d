package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/infra/cache"
)

// readyTimeout is how long each dependency has to answer a readiness check.
const readyTimeout = time.Second

type health struct {
	db    Pinger
	cache *cache.Cache
}

// live says the process serves HTTP; it checks nothing else, so a dependency outage never
// gets the pod restarted.
func (h health) live(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// ready answers 200 while Postgres answers within a second. Redis's state is reported but
// does not fail the check: the cache fails open, and a Redis outage must not take every
// replica out of the load balancer.
func (h health) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()

	status, pg := http.StatusOK, "up"
	if err := h.db.Ping(ctx); err != nil {
		status, pg = http.StatusServiceUnavailable, "down"
	}
	redis := "disabled"
	if h.cache != nil {
		redis = "up"
		if err := h.cache.Ping(ctx); err != nil {
			redis = "down"
		}
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not ready"
	}
	c.JSON(status, gin.H{"status": state, "postgres": pg, "redis": redis})
}
