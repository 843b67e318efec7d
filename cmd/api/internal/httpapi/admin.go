package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/oes"
)

type adminAPI struct {
	cache *cache.Cache
}

// clearCache empties the cache on every replica. It touches cache entries only: the email
// queue and any other data in the same Redis stay.
func (h adminAPI) clearCache(c *gin.Context) {
	if h.cache == nil {
		c.JSON(http.StatusOK, gin.H{"cleared": false, "reason": "caching is disabled"})
		return
	}
	if err := h.cache.Clear(c.Request.Context()); err != nil {
		writeError(c, &oes.Error{Code: oes.EUNAVAILABLE, Message: "the cache cannot be reached; try again", Err: err})
		return
	}
	c.JSON(http.StatusOK, gin.H{"cleared": true})
}

// cacheStats reports this replica's hit, miss and error counters by key kind.
func (h adminAPI) cacheStats(c *gin.Context) {
	if h.cache == nil {
		c.JSON(http.StatusOK, gin.H{"enabled": false, "kinds": gin.H{}})
		return
	}
	kinds := gin.H{}
	for kind, n := range h.cache.Stats() {
		kinds[kind.String()] = gin.H{
			"local_hits": n.LocalHits, "remote_hits": n.RemoteHits, "misses": n.Misses, "errors": n.Errors,
		}
	}
	c.JSON(http.StatusOK, gin.H{"enabled": true, "available": h.cache.Available(), "kinds": kinds})
}
