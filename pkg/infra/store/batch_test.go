package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// TestBatchOutboxAnswersEachCallAsIfAlone runs many deliveries at once through one
// BatchOutbox, so that claims and outcomes share statements, among them calls that must fail:
// each gets the answer it would have had alone, and the rows end as they would have.
func TestBatchOutboxAnswersEachCallAsIfAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bo := b.store.Batched()
	defer bo.Close()

	const n = 40
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = b.emailIn(t, fmt.Sprintf("batch-%02d@example.org", i), oes.EmailQueued)
	}
	delivered := b.emailIn(t, "done@example.org", oes.EmailDelivered)

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Go(func() {
			e, err := bo.ClaimEmail(b.ctx, id)
			if err != nil {
				errs[i] = err
				return
			}
			if e.ID != id || e.Message.To[0] != fmt.Sprintf("batch-%02d@example.org", i) || e.Message.Text != "Hi" {
				errs[i] = fmt.Errorf("claim of %d returned %+v", id, e)
				return
			}
			o := store.Outcome{State: oes.EmailDelivered, AttemptsSpent: 1, SMTPReply: fmt.Sprintf("250 ok %d", id)}
			if i%4 == 0 {
				o = store.Outcome{State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 no", SMTPReply: "550 no"}
			}
			errs[i] = bo.FinishEmail(b.ctx, id, o)
		})
	}
	// Calls that fail, made while the others run.
	var late, twice, lost error
	wg.Go(func() {
		late = bo.FinishEmail(b.ctx, delivered, store.Outcome{State: oes.EmailFailed, AttemptsSpent: 1, Reason: "late"})
	})
	wg.Go(func() { _, twice = bo.ClaimEmail(b.ctx, delivered) })
	wg.Go(func() { _, lost = bo.ClaimEmail(b.ctx, missing) })
	wg.Wait()

	for i, err := range errs {
		require.NoError(t, err, "email %d", ids[i])
	}
	for i, id := range ids {
		row := b.outbox(t, id)
		require.Equal(t, 1, row.Attempts)
		if i%4 == 0 {
			require.Equal(t, string(oes.EmailFailed), row.State)
			require.Equal(t, "550 no", row.LastError)
			require.NotNil(t, row.Text, "a failed email keeps its bodies")
			continue
		}
		require.Equal(t, string(oes.EmailDelivered), row.State)
		require.Equal(t, fmt.Sprintf("250 ok %d", id), row.SMTPReply, "each email has its own reply")
		require.Nil(t, row.Text, "a delivered email's bodies are erased")
	}
	requireStateConflict(t, late, oes.EmailDelivered)
	requireStateConflict(t, twice, oes.EmailDelivered)
	requireCode(t, lost, oes.ENOTFOUND)

	// An outcome that suppresses the address runs on its own, with the same result.
	refused := b.emailIn(t, "gone@example.org", oes.EmailQueued)
	_, err := bo.ClaimEmail(b.ctx, refused)
	require.NoError(t, err)
	require.NoError(t, bo.FinishEmail(b.ctx, refused, store.Outcome{
		State: oes.EmailFailed, AttemptsSpent: 1, Reason: "550 5.1.1 no such user", Suppress: true,
	}))
	list, err := b.store.ListSuppressions(b.ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "gone@example.org", list[0].Address)

	bo.Close()
	_, err = bo.ClaimEmail(b.ctx, ids[0])
	requireCode(t, err, oes.EUNAVAILABLE)
}
