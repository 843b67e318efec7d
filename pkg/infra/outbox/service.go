package outbox

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// CountWindow is how far back Counts counts delivered and cancelled emails.
const CountWindow = 24 * time.Hour

// Service is what admins read and do in the outbox. Every method fails with an oes
// EUNAVAILABLE while Postgres is down, and with nothing else when Redis is: the outbox is the
// record.
type Service struct {
	store *store.Store
	now   func() time.Time
}

// NewService returns the admin service of st's outbox.
func NewService(st *store.Store) *Service { return &Service{store: st, now: time.Now} }

// Email returns the email whose id is id (the job id the API answers with). ENOTFOUND.
func (s *Service) Email(ctx context.Context, id string) (oes.Email, error) {
	n, err := parseID(id)
	if err != nil {
		return oes.Email{}, err
	}
	e, err := s.store.GetEmail(ctx, n)
	return withLane(e), err
}

// Counts counts the emails by what is happening to them; delivered and cancelled ones over the
// last CountWindow.
func (s *Service) Counts(ctx context.Context) (oes.EmailCounts, error) {
	return s.store.CountEmails(ctx, s.now().Add(-CountWindow))
}

// InState returns one page (from 1) of the emails in state, those that reached it first first.
func (s *Service) InState(ctx context.Context, state oes.EmailState, page, size int) ([]oes.Email, error) {
	es, err := s.store.ListEmailsInState(ctx, state, page, size)
	return withLanes(es), err
}

// UserEmails returns one page (from 1) of the emails about a user, newest first. ENOTFOUND
// when there is no such user.
func (s *Service) UserEmails(ctx context.Context, userID int64, page, size int) ([]oes.Email, error) {
	es, err := s.store.ListUserEmails(ctx, userID, page, size)
	return withLanes(es), err
}

// Retry sends a failed or suppressed email again: its attempts and its window of retries count
// afresh. A suppressed address stays suppressed until it is removed from the list, so retry a
// suppressed email after Unsuppress. ENOTFOUND; ECONFLICT for an email in another state.
func (s *Service) Retry(ctx context.Context, id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	return s.store.RetryEmail(ctx, n)
}

// Cancel stops an email that is not being sent and has not been sent. ENOTFOUND; ECONFLICT for
// an email being sent or finished.
func (s *Service) Cancel(ctx context.Context, id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	return s.store.CancelEmail(ctx, n, "cancelled by an admin")
}

// Suppressions returns one page (from 1) of the suppressed addresses, newest first.
func (s *Service) Suppressions(ctx context.Context, page, size int) ([]oes.Suppression, error) {
	return s.store.ListSuppressions(ctx, page, size)
}

// Unsuppress lets email reach address again; emails already suppressed stay so until retried.
// ENOTFOUND when the address is not suppressed.
func (s *Service) Unsuppress(ctx context.Context, address string) error {
	return s.store.DeleteSuppression(ctx, strings.TrimSpace(address))
}

// parseID reads an email id as the API shows it; anything else names no email.
func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return 0, oes.Errorf(oes.ENOTFOUND, "email job %q not found", id)
	}
	return n, nil
}

func withLane(e oes.Email) oes.Email {
	if e.Priority != 0 {
		e.Lane = queue.Lane(e.Priority)
	}
	return e
}

func withLanes(es []oes.Email) []oes.Email {
	for i := range es {
		es[i] = withLane(es[i])
	}
	return es
}
