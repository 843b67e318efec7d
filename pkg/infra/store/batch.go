package store

import (
	"context"
	"sync"
	"time"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/oes"
)

// batchMax is the most emails one statement of a BatchOutbox claims or records.
const batchMax = 64

// batchTimeout bounds one statement of a BatchOutbox; its callers wait for it whatever their
// own contexts say, so that a claim or an outcome is never applied unseen.
const batchTimeout = 5 * time.Second

// errBatchClosed is what a call to a closed BatchOutbox fails with.
var errBatchClosed = &oes.Error{Code: oes.EUNAVAILABLE, Message: "the outbox's batcher is closed"}

// BatchOutbox claims emails and records their outcomes for many concurrent deliveries in
// shared statements: the claims and outcomes that arrive while a statement runs go together in
// the next one, up to 64. A lone call runs at once, so it adds no wait; under load, a worker's
// deliveries cost Postgres one statement and one commit per batch instead of two per email. It
// has the methods of *Store the delivery handler uses, with the same results. Close stops it.
type BatchOutbox struct {
	s   *Store
	ops *batcher[deliveryOp, opResult]
}

// deliveryOp is a claim of email id, or the record of its outcome o.
type deliveryOp struct {
	claim bool
	id    int64
	o     Outcome
}

type opResult struct {
	e   ClaimedEmail
	err error
}

// Batched returns a BatchOutbox over s's outbox.
func (s *Store) Batched() *BatchOutbox {
	return &BatchOutbox{s: s, ops: newBatcher(func(ctx context.Context, ops []deliveryOp) []opResult {
		return s.recordAndClaim(ctx, s.pool, ops)
	})}
}

// Close stops b once its running statement is done; later calls fail with EUNAVAILABLE.
func (b *BatchOutbox) Close() { b.ops.close() }

// ClaimEmail is Store.ClaimEmail, in a statement shared with other claims and outcomes.
func (b *BatchOutbox) ClaimEmail(ctx context.Context, id int64) (ClaimedEmail, error) {
	r, err := b.ops.do(ctx, deliveryOp{claim: true, id: id})
	if err != nil {
		return ClaimedEmail{}, err
	}
	return r.e, r.err
}

// FinishEmail is Store.FinishEmail, in a statement shared with other claims and outcomes; an
// outcome that puts the address on the suppression list takes a transaction of its own.
func (b *BatchOutbox) FinishEmail(ctx context.Context, id int64, o Outcome) error {
	if o.Suppress {
		return b.s.FinishEmail(ctx, id, o)
	}
	r, err := b.ops.do(ctx, deliveryOp{id: id, o: o})
	if err != nil {
		return err
	}
	return r.err
}

// DeferEmail is Store.DeferEmail: deferrals are rare, and each runs on its own.
func (b *BatchOutbox) DeferEmail(ctx context.Context, id int64, d Deferral) error {
	return b.s.DeferEmail(ctx, id, d)
}

// recordAndClaim runs ops in one statement on db, and explains, one by one, the claims and
// records it could not make.
func (s *Store) recordAndClaim(ctx context.Context, db dbsqlc.DBTX, ops []deliveryOp) []opResult {
	out := make([]opResult, len(ops))
	// Empty lists, not NULLs: "id <> ALL(NULL)" would claim nothing.
	p := dbsqlc.RecordAndClaimEmailsParams{
		Ids: []int64{}, States: []string{}, AttemptsSpent: []int32{}, LastErrors: []string{}, SmtpReplies: []string{},
		ClaimIds: []int64{}, FromStates: oes.EmailSending.From(),
	}
	for _, op := range ops {
		if op.claim {
			p.ClaimIds = append(p.ClaimIds, op.id)
			continue
		}
		p.Ids = append(p.Ids, op.id)
		p.States = append(p.States, string(op.o.State))
		p.AttemptsSpent = append(p.AttemptsSpent, int32(op.o.AttemptsSpent))
		p.LastErrors = append(p.LastErrors, op.o.Reason)
		p.SmtpReplies = append(p.SmtpReplies, op.o.SMTPReply)
	}
	rows, err := s.q.RecordAndClaimEmails(ctx, db, p)
	if err != nil {
		for i, op := range ops {
			out[i].err = translate(err, emailSubject(op.id))
		}
		return out
	}
	recorded := map[int64]bool{}
	claimed := make(map[int64]dbsqlc.RecordAndClaimEmailsRow, len(rows))
	for _, r := range rows {
		for _, id := range r.Recorded {
			recorded[id] = true
		}
		if r.ID != nil {
			claimed[*r.ID] = r
		}
	}
	for i, op := range ops {
		r, ok := claimed[op.id]
		switch {
		case !op.claim && !recorded[op.id]:
			out[i].err = s.unmovableIn(ctx, db, op.id, op.o.State)
		case op.claim && !ok:
			out[i].err = s.unmovableIn(ctx, db, op.id, oes.EmailSending)
		case op.claim:
			out[i].e = ClaimedEmail{
				ID:   op.id,
				Kind: oes.EmailKind(deref(r.Kind)),
				Message: mail.Message{
					To: []string{deref(r.Recipient)}, From: deref(r.FromAddress), ReplyTo: deref(r.ReplyTo),
					Subject: deref(r.Subject), HTML: deref(r.HtmlBody), Text: deref(r.TextBody),
				},
				MaxAttempts: int(deref(r.MaxAttempts)),
				Attempts:    int(deref(r.Attempts)),
				Deferrals:   int(deref(r.Deferrals)),
				SendAfter:   deref(r.SendAfter),
				Suppressed:  deref(r.Suppressed),
			}
		}
	}
	return out
}

// batcher runs the calls that arrive while it is busy together, in one run of flush, which
// returns a result per call.
type batcher[In, Out any] struct {
	calls chan batchCall[In, Out]
	flush func(context.Context, []In) []Out

	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

type batchCall[In, Out any] struct {
	in  In
	out chan Out
}

func newBatcher[In, Out any](flush func(context.Context, []In) []Out) *batcher[In, Out] {
	b := &batcher[In, Out]{calls: make(chan batchCall[In, Out]), flush: flush, done: make(chan struct{})}
	go b.run()
	return b
}

// do runs in through the next flush and returns its result. It fails when b is closed or ctx
// ends before the call is taken; once taken, the call is waited for whatever ctx says.
func (b *batcher[In, Out]) do(ctx context.Context, in In) (Out, error) {
	c := batchCall[In, Out]{in: in, out: make(chan Out, 1)}
	var zero Out
	select {
	case b.calls <- c:
		return <-c.out, nil
	case <-b.done:
		return zero, errBatchClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (b *batcher[In, Out]) run() {
	for {
		var batch []batchCall[In, Out]
		select {
		case c := <-b.calls:
			batch = append(batch, c)
		case <-b.done:
			return
		}
	collect:
		for len(batch) < batchMax {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break collect
			}
		}
		ins := make([]In, len(batch))
		for i, c := range batch {
			ins[i] = c.in
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		outs := b.flush(ctx, ins)
		cancel()
		for i, c := range batch {
			c.out <- outs[i]
		}
	}
}

func (b *batcher[In, Out]) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
}
