package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// writeEmails records n emails in the outbox as a tool would (store.InsertEmail), each to an
// address of its own, <prefix>-<i>@faults.test, from 8 goroutines. maxAttempts gives each
// email's attempts.
func writeEmails(ctx context.Context, st *store.Store, prefix string, n int, maxAttempts func(i int) int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, err := st.InsertEmail(ctx, store.NewEmail{
					Kind: oes.EmailGeneric, Priority: 5, MaxAttempts: maxAttempts(i),
					Message: mail.Message{
						To:      []string{fmt.Sprintf("%s-%05d@faults.test", prefix, i+1)},
						Subject: fmt.Sprintf("Fault run %s, email %d", prefix, i+1),
						Text:    "An email of the fault run.",
					},
				})
				if err != nil {
					errs[g] = fmt.Errorf("write email %d: %w", i+1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// census is what the outbox holds: the emails the system committed, with their states.
type census struct {
	emails  []oes.Email
	byState map[oes.EmailState]int
}

func takeCensus(ctx context.Context, st *store.Store) (census, error) {
	c := census{byState: map[oes.EmailState]int{}}
	for _, s := range oes.EmailStates {
		es, err := st.ListEmailsInState(ctx, s, 1, 1_000_000)
		if err != nil {
			return c, err
		}
		c.emails = append(c.emails, es...)
		c.byState[s] = len(es)
	}
	return c, nil
}

// recipients returns the committed emails' recipients; each email has one of its own.
func (c census) recipients() map[string]bool {
	out := make(map[string]bool, len(c.emails))
	for _, e := range c.emails {
		out[e.Recipient] = true
	}
	return out
}

// states describes the census by state, leaving out the empty ones: "pending 120, queued 80".
func (c census) states() string {
	s := ""
	for _, st := range oes.EmailStates {
		if n := c.byState[st]; n > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", st, n)
		}
	}
	if s == "" {
		return "empty"
	}
	return s
}

// spent sums the attempts and deferrals the outbox recorded.
func (c census) spent() (attempts, deferrals int) {
	for _, e := range c.emails {
		attempts += e.AttemptsMade
		deferrals += e.Deferrals
	}
	return attempts, deferrals
}

// drain is how a wait for the committed emails ended.
type drain struct {
	// sinkDone is when the sink had accepted a message for every committed recipient (the
	// latest of their first accepts); zero when it had not by the end of the wait.
	sinkDone time.Time
	// recorded is when the outbox first showed every email delivered; zero when it did not.
	recorded time.Time
}

// waitDrained waits, for at most within, until the sink has accepted a message for every one
// of want and the outbox records every email as delivered, checking alive (nil: nothing to
// check) as it goes: a worker that died ends the wait with its error.
func (r *rig) waitDrained(ctx context.Context, want map[string]bool, within time.Duration, alive func() error) (drain, error) {
	var d drain
	deadline := time.Now().Add(within)
	for {
		if d.sinkDone.IsZero() {
			d.sinkDone = r.allAccepted(want)
		}
		if d.recorded.IsZero() {
			counts, err := r.st.CountEmails(ctx, time.Time{})
			if err != nil {
				return d, err
			}
			if counts.Completed == len(want) {
				d.recorded = time.Now()
			}
		}
		if !d.sinkDone.IsZero() && !d.recorded.IsZero() {
			return d, nil
		}
		if alive != nil {
			if err := alive(); err != nil {
				return d, err
			}
		}
		if time.Now().After(deadline) {
			return d, nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return d, err
		}
	}
}

// allAccepted returns when the sink first accepted a message for the last of want to get one,
// or zero when one of want has had none yet.
func (r *rig) allAccepted(want map[string]bool) time.Time {
	first := make(map[string]time.Time, len(want))
	for _, a := range r.sink.Accepted() {
		for _, to := range a.To {
			if _, seen := first[to]; !seen && want[to] {
				first[to] = a.At
			}
		}
	}
	if len(first) < len(want) {
		return time.Time{}
	}
	var last time.Time
	for _, t := range first {
		if t.After(last) {
			last = t
		}
	}
	return last
}

// tally counts the outcome of a scenario into res from the outbox's census and the sink: the
// committed emails, those the sink accepted, lost, duplicated, and the rows that failed.
func (r *rig) tally(ctx context.Context, res *result) (census, error) {
	c, err := takeCensus(ctx, r.st)
	if err != nil {
		return c, err
	}
	want := c.recipients()
	byTo := r.sink.ByRecipient()
	res.sent = len(c.emails)
	stray := 0
	for to, n := range byTo {
		if !want[to] {
			stray += n
			continue
		}
		res.delivered++
		res.duplicated += n - 1
	}
	res.lost = res.sent - res.delivered
	res.failed = c.byState[oes.EmailFailed]
	res.note("outbox at the end: %s", c.states())
	if stray > 0 {
		res.miss("the sink accepted %d messages for addresses no committed email has", stray)
	}
	if n := c.byState[oes.EmailDelivered]; n != res.sent {
		res.miss("%d of %d emails are recorded delivered in the outbox", n, res.sent)
	}
	return c, nil
}
