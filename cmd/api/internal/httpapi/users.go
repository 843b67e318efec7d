package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/oes"
)

// users is the admins' view of the accounts.
type users struct {
	svc *account.Service
}

// userPage is one page of the accounts.
type userPage struct {
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Users []oes.User `json:"users"`
}

// list answers a page of the accounts by id; ?email= keeps those whose address contains it,
// ignoring case.
func (h users) list(c *gin.Context) {
	page, size, err := paging(c)
	if err != nil {
		writeError(c, err)
		return
	}
	email := c.Query("email")
	if len(email) > account.MaxEmailBytes {
		writeError(c, oes.Invalid(oes.FieldError{Field: "email", Message: "must be at most 254 bytes"}))
		return
	}
	list, err := h.svc.ListUsers(c.Request.Context(), email, page, size)
	respond(c, http.StatusOK, userPage{Page: page, Size: size, Users: list}, err)
}

type roleInput struct {
	Role string `json:"role"`
}

// setRole changes an account's role and answers the account: 400 naming "role" for an unknown
// role, 404 for an unknown account, 409 last_admin when it would leave no admin. The account's
// access tokens issued before a change stop working.
func (h users) setRole(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in roleInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	u, err := h.svc.SetRole(c.Request.Context(), id, in.Role)
	respond(c, http.StatusOK, u, err)
}
