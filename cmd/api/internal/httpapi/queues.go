package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/queue"
)

// EmailQueue is what the monitoring endpoints read and do on the email queue; *queue.Client
// implements it. Every method fails with an oes EUNAVAILABLE while the queue's Redis is down.
type EmailQueue interface {
	Counts(ctx context.Context) (queue.Counts, error)
	Failed(ctx context.Context, page, size int) ([]queue.Status, error)
	Active(ctx context.Context, page, size int) ([]queue.Status, error)
	Status(ctx context.Context, id string) (queue.Status, error)
	Retry(ctx context.Context, id string) error
}

// Paging of job lists.
const (
	defaultPageSize = 20
	maxPageSize     = queue.MaxPageSize
)

type queues struct {
	q EmailQueue
}

// counts answers the number of jobs in each state, as the seed design's getJobCounts.
func (h queues) counts(c *gin.Context) {
	n, err := h.q.Counts(c)
	respond(c, http.StatusOK, n, err)
}

// jobPage is one page of a job list.
type jobPage struct {
	Page int            `json:"page"`
	Size int            `json:"size"`
	Jobs []queue.Status `json:"jobs"`
}

func (h queues) failed(c *gin.Context) { h.list(c, h.q.Failed) }
func (h queues) active(c *gin.Context) { h.list(c, h.q.Active) }

func (h queues) list(c *gin.Context, list func(context.Context, int, int) ([]queue.Status, error)) {
	page, size, err := paging(c)
	if err != nil {
		writeError(c, err)
		return
	}
	jobs, err := list(c, page, size)
	respond(c, http.StatusOK, jobPage{Page: page, Size: size, Jobs: jobs}, err)
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

func (h queues) job(c *gin.Context) {
	s, err := h.q.Status(c, c.Param("id"))
	respond(c, http.StatusOK, s, err)
}

// retry runs a failed job again: 204 once it is queued, 404 for an unknown job, 409 for a job
// that has not failed.
func (h queues) retry(c *gin.Context) {
	respondNoContent(c, h.q.Retry(c, c.Param("id")))
}
