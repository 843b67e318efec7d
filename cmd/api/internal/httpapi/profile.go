package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
)

// ProfilePath is the signed-in caller's own profile.
const ProfilePath = "/api/v1/users/me"

type profiles struct {
	svc *profile.Service
}

// me answers with the caller's profile, from the cache when it holds it.
func (h profiles) me(c *gin.Context) {
	id, ok := signedIn(c)
	if !ok {
		return
	}
	b, err := h.svc.JSON(c.Request.Context(), id)
	respondBytes(c, b, err)
}

// update changes the caller's name.
func (h profiles) update(c *gin.Context) {
	id, ok := signedIn(c)
	if !ok {
		return
	}
	var in profile.UpdateInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	u, err := h.svc.Update(c.Request.Context(), id, in)
	respond(c, http.StatusOK, u, err)
}

// signedIn returns the caller's user id, or answers 401 (saying what was wrong with a token
// that was sent) and returns false.
func signedIn(c *gin.Context) (int64, bool) {
	if id := callerID(c); id != nil {
		return *id, true
	}
	challenge := `Bearer realm="oes"`
	var err error = oes.Errorf(oes.EUNAUTHORIZED, "sign in at POST %s and send the access token", LoginPath)
	if authErr, ok := c.Get(ctxAuthErr); ok {
		challenge += `, error="invalid_token"`
		err = authErr.(error)
	}
	c.Header("WWW-Authenticate", challenge)
	writeError(c, err)
	return 0, false
}
