package httpapi

import (
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
)

// Caller roles as the API sees them.
const (
	roleAnonymous = "anonymous"
	roleAdmin     = oes.RoleAdmin
)

const ctxRole = "oes.role"

// identify decides who the caller is; it is the only place that reads credentials. Until user
// accounts exist, the one credential is the operator's admin token (ADMIN_TOKEN) sent as a
// bearer token; with no token configured, nobody is an admin and every write is refused.
func identify(adminToken string) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := roleAnonymous
		if token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && adminToken != "" &&
			subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1 {
			role = roleAdmin
		}
		c.Set(ctxRole, role)
		c.Next()
	}
}

// isAdmin reports whether the caller may see the answer key and write the catalogue.
func isAdmin(c *gin.Context) bool {
	return c.GetString(ctxRole) == roleAdmin
}

// requireAdmin refuses callers who are not admins: 401 when the caller is not identified (no
// credentials, or wrong ones), 403 when an identified caller lacks the role.
func requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.GetString(ctxRole) {
		case roleAdmin:
			c.Next()
		case roleAnonymous, "":
			writeError(c, oes.Errorf(oes.EUNAUTHORIZED, "this endpoint requires an admin's credentials"))
		default:
			writeError(c, oes.Errorf(oes.EFORBIDDEN, "this endpoint is for admins only"))
		}
	}
}
