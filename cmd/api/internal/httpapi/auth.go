package httpapi

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
)

// Caller roles as the API sees them.
const (
	roleAnonymous = "anonymous"
	roleStudent   = oes.RoleStudent
	roleAdmin     = oes.RoleAdmin
)

const (
	ctxRole     = "oes.role"
	ctxUserID   = "oes.user_id"
	ctxAuthErr  = "oes.auth_error"
	ctxByCookie = "oes.by_cookie" // the token came in the dashboard cookie, not a header
)

// identify decides who the caller is; it is the only place that reads credentials. A caller
// presenting a valid access token (Authorization: Bearer <JWT>) gets the user id the token
// names and the user's current role. Under /admin/ only, a browser's dashboard session cookie
// (see openDashboardSession) carries the same token. Anyone else is anonymous: public reads
// work without credentials, so a bad token is not refused here but remembered, for
// requireAdmin and signedIn to say what was wrong with it.
func identify(tokens *auth.Tokens, profiles *profile.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := roleAnonymous
		token, fromCookie, err := presentedToken(c)
		switch {
		case err != nil:
			c.Set(ctxAuthErr, err)
		case token != "":
			claims, err := tokens.Parse(token)
			if err == nil {
				claims.Role, err = currentRole(c.Request.Context(), profiles, claims)
			}
			if err != nil {
				c.Set(ctxAuthErr, err)
			} else {
				role = claims.Role
				c.Set(ctxUserID, claims.UserID)
				c.Set(ctxByCookie, fromCookie)
			}
		}
		c.Set(ctxRole, role)
		c.Next()
	}
}

// currentRole checks a token's claims against its user as the user is now and returns the
// user's role. A token is revoked when its user is gone or its version is no longer the
// user's: a change of role or password moves the version on (see profile.Service.Revoke for
// how soon every replica sees it). The user is read through the cached profile, so a request
// whose caller's profile is cached costs no query here.
func currentRole(ctx context.Context, profiles *profile.Service, claims auth.Claims) (string, error) {
	a, err := profiles.Access(ctx, claims.UserID)
	switch {
	case oes.ErrorCode(err) == oes.ENOTFOUND:
		return "", &oes.Error{Code: oes.EUNAUTHORIZED, Message: "the account of this access token no longer exists", Err: err}
	case err != nil:
		return "", err
	case a.TokenVersion != claims.Version:
		return "", oes.Errorf(oes.EUNAUTHORIZED, "the access token was revoked by a change of the account's role or password; sign in again")
	}
	return a.Role, nil
}

// presentedToken returns the access token the request carries, "" for none, and whether it
// came in the dashboard cookie. The Authorization header wins over the cookie.
func presentedToken(c *gin.Context) (token string, fromCookie bool, err error) {
	if header := c.GetHeader("Authorization"); header != "" {
		scheme, token, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false, oes.Errorf(oes.EUNAUTHORIZED, "the Authorization header must be 'Bearer <access token>'")
		}
		return strings.TrimSpace(token), false, nil
	}
	if strings.HasPrefix(c.Request.URL.Path, sessionCookiePath+"/") {
		if ck, err := c.Request.Cookie(sessionCookie); err == nil && ck.Value != "" {
			return ck.Value, true, nil
		}
	}
	return "", false, nil
}

// callerID returns the signed-in caller's user id, nil for an anonymous caller.
func callerID(c *gin.Context) *int64 {
	if id, ok := c.Get(ctxUserID); ok {
		if v, ok := id.(int64); ok {
			return &v
		}
	}
	return nil
}

// isAdmin reports whether the caller may see the answer key and write the catalogue.
func isAdmin(c *gin.Context) bool {
	return c.GetString(ctxRole) == roleAdmin
}

// requireAdmin refuses callers who are not admins: 401 when the caller is not identified (no
// token, or one that is forged, expired or malformed), 403 when a signed-in user lacks the
// role. This and identify are the only places that look at roles for access.
func requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.GetString(ctxRole) {
		case roleAdmin:
			c.Next()
		case roleStudent:
			writeError(c, oes.Errorf(oes.EFORBIDDEN, "this endpoint is for admins only"))
		default:
			challenge := `Bearer realm="oes"`
			var err error = oes.Errorf(oes.EUNAUTHORIZED, "this endpoint requires an admin's access token: sign in at POST %s", LoginPath)
			if authErr, ok := c.Get(ctxAuthErr); ok {
				challenge += `, error="invalid_token"`
				err = authErr.(error)
			}
			c.Header("WWW-Authenticate", challenge)
			writeError(c, err)
		}
	}
}
