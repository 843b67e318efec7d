package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
)

// Outbox is what admins read and do with the outbox's emails; *outbox.Service implements it.
// It answers from Postgres, whatever the queue's Redis knows.
type Outbox interface {
	Email(ctx context.Context, id string) (oes.Email, error)
	Counts(ctx context.Context) (oes.EmailCounts, error)
	InState(ctx context.Context, state oes.EmailState, page, size int) ([]oes.Email, error)
	UserEmails(ctx context.Context, userID int64, page, size int) ([]oes.Email, error)
	Retry(ctx context.Context, id string) error
	Cancel(ctx context.Context, id string) error
	Suppressions(ctx context.Context, page, size int) ([]oes.Suppression, error)
	Unsuppress(ctx context.Context, address string) error
}

// Paging of lists.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

type emails struct {
	outbox Outbox
}

// counts answers the number of emails in each state, as the seed design's getJobCounts.
func (h emails) counts(c *gin.Context) {
	n, err := h.outbox.Counts(c.Request.Context())
	respond(c, http.StatusOK, n, err)
}

// jobPage is one page of a list of emails.
type jobPage struct {
	Page int         `json:"page"`
	Size int         `json:"size"`
	Jobs []oes.Email `json:"jobs"`
}

func (h emails) failed(c *gin.Context) { h.inState(c, oes.EmailFailed) }
func (h emails) active(c *gin.Context) { h.inState(c, oes.EmailSending) }

func (h emails) inState(c *gin.Context, state oes.EmailState) {
	page, size, err := paging(c)
	if err != nil {
		writeError(c, err)
		return
	}
	jobs, err := h.outbox.InState(c.Request.Context(), state, page, size)
	respond(c, http.StatusOK, jobPage{Page: page, Size: size, Jobs: jobs}, err)
}

// userEmails answers a page of the emails about a user, newest first.
func (h emails) userEmails(c *gin.Context) {
	id, page, size, ok := idAndPage(c)
	if !ok {
		return
	}
	jobs, err := h.outbox.UserEmails(c.Request.Context(), id, page, size)
	respond(c, http.StatusOK, jobPage{Page: page, Size: size, Jobs: jobs}, err)
}

// idAndPage reads the path's id and the page of a list under it; when either is malformed it
// answers the error and reports false.
func idAndPage(c *gin.Context) (id int64, page, size int, ok bool) {
	id, err := pathID(c, "id")
	if err == nil {
		page, size, err = paging(c)
	}
	if err != nil {
		writeError(c, err)
		return 0, 0, 0, false
	}
	return id, page, size, true
}

// paging reads ?page= (from 1, default 1) and ?size= (1-100, default 20).
func paging(c *gin.Context) (page, size int, err error) {
	var fs []oes.FieldError
	read := func(name string, def, lo, hi int) int {
		raw, ok := c.GetQuery(name)
		if !ok {
			return def
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < lo || n > hi {
			msg := "must be a whole number of at least " + strconv.Itoa(lo)
			if hi < math.MaxInt {
				msg = "must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
			}
			fs = append(fs, oes.FieldError{Field: name, Message: msg})
		}
		return n
	}
	page = read("page", 1, 1, math.MaxInt)
	size = read("size", defaultPageSize, 1, maxPageSize)
	if fs != nil {
		return 0, 0, oes.Invalid(fs...)
	}
	return page, size, nil
}

func (h emails) job(c *gin.Context) {
	e, err := h.outbox.Email(c.Request.Context(), c.Param("id"))
	respond(c, http.StatusOK, e, err)
}

// retry sends a failed or suppressed email again: 204 once it is pending, 404 for an unknown
// email, 409 for one in another state.
func (h emails) retry(c *gin.Context) {
	respondNoContent(c, h.outbox.Retry(c.Request.Context(), c.Param("id")))
}

// cancel stops an email not sent yet: 204, 404, 409 for one being sent or finished.
func (h emails) cancel(c *gin.Context) {
	respondNoContent(c, h.outbox.Cancel(c.Request.Context(), c.Param("id")))
}

// suppressionPage is one page of the suppression list.
type suppressionPage struct {
	Page         int               `json:"page"`
	Size         int               `json:"size"`
	Suppressions []oes.Suppression `json:"suppressions"`
}

func (h emails) suppressions(c *gin.Context) {
	page, size, err := paging(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := h.outbox.Suppressions(c.Request.Context(), page, size)
	respond(c, http.StatusOK, suppressionPage{Page: page, Size: size, Suppressions: list}, err)
}

// unsuppress lets email reach an address again: 204, 404 when it is not suppressed.
func (h emails) unsuppress(c *gin.Context) {
	respondNoContent(c, h.outbox.Unsuppress(c.Request.Context(), c.Param("address")))
}
