package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oeshq/oes/pkg/exam"
	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/templates"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// The project's target for an announcement: written to the outbox and moved onto the queue
// within this time of the call, for 10,000 candidates.
const announceTarget = 5 * time.Second

// announcePoll is how often the announcement phase counts the outbox's pending emails.
const announcePoll = 10 * time.Millisecond

// The announcement every candidate receives: a room change, a few lines of plain text.
const (
	announceSubject = "Room change for the final exam"
	announceText    = "Dear candidate,\n\n" +
		"the final exam moves from room B12 to the main hall (building A, ground floor). " +
		"The time does not change: please be seated ten minutes before the start, with your student card.\n\n" +
		"Bring a pen and nothing else; bags stay at the entrance. " +
		"If you need extra time or a separate room, answer this message by Friday.\n\n" +
		"Good luck,\nThe examinations office"
)

// lockedPassword is the password hash of the announcement's students: a bcrypt hash of random
// bytes that were thrown away, so that no password signs in with these accounts.
const lockedPassword = "$2a$04$.AdGoMGveXaQH3GlZ5y6vugAaLElkbgARDH.rPxAeIn7N2wQ6rKaW"

// announceRun is the announcement phase: an exam's announcement to its candidates, with a
// worker running. The times run from the start of the call to exam.Service.Announce.
type announceRun struct {
	emails   int
	made     time.Duration // making the students, one statement
	assigned time.Duration // assigning them to the exam, exam.Service.AddCandidates by chunks
	// recorded: Announce returned, its emails written in one statement. queued: none of them
	// pending any more, all relayed onto the queue. delivered: the sink accepted every message
	// and the outbox recorded each delivered (by its latest finished_at), whichever came later.
	recorded, queued, delivered time.Duration
	steady                      time.Duration // from the first message accepted to the last
	wireBytes                   int           // one message on the wire
	use                         usage
}

func (a announceRun) rate() float64 { return float64(a.emails) / a.delivered.Seconds() }

func (a announceRun) steadyRate() float64 {
	if a.emails < 2 || a.steady <= 0 {
		return a.rate()
	}
	return float64(a.emails-1) / a.steady.Seconds()
}

// met says whether the announcement was recorded and queued within announceTarget.
func (a announceRun) met() bool { return a.queued < announceTarget }

// measureAnnounce makes o.announce students, a published exam with exactly those students as
// its candidates, and an empty outbox; starts a worker on the queue qcfg names, with o.conns
// deliveries at once and the shipped fetch interval; then announces to the candidates through exam.Service.Announce, as the
// api does, and times the emails until they are recorded, queued and delivered. It checks
// that every candidate got one message and nobody else, that every email is recorded as
// delivered and that the queue is empty, writes the worker's metrics check to check, and
// removes the students, the exam and the outbox's emails at the end.
func measureAnnounce(ctx context.Context, r *rig, qcfg queue.Config, o options, check io.Writer) (run announceRun, err error) {
	run.emails = o.announce
	c, err := prepareAnnouncement(ctx, r.dbURL, o.announce, &run)
	if c != nil {
		defer func() {
			// After the phase's counters are read: the removal is no part of it.
			err = errors.Join(err, c.remove(context.WithoutCancel(ctx), r.dbURL))
		}()
	}
	if err != nil {
		return run, err
	}
	if run.wireBytes, err = announceWireBytes(ctx); err != nil {
		return run, err
	}
	// The counts of making the candidates reach pg_stat_database once their connection has
	// closed: they are no part of the phase's. The worker's start-up is, as in the drain.
	pgBefore := r.meter.pg.settle(ctx)
	pool, st, err := openStore(ctx, r.dbURL, 1)
	if err != nil {
		return run, err
	}
	defer pool.Close()
	exams := exam.NewService(st, nil, slog.New(slog.DiscardHandler))
	client, err := queue.New(qcfg)
	if err != nil {
		return run, err
	}
	defer client.Close()
	w, err := r.startWorker(ctx, "emailworker (announcement)", qcfg.QueuePrefix, o.conns, 0)
	if err != nil {
		return run, err
	}
	// This Stop is for an early return; the one below reports how the process ended.
	defer func() { _ = w.proc.Stop() }()

	base := r.sink.Delivered()
	before := r.meter.read(ctx, w.proc.Pid())
	start := time.Now()
	sent, err := exams.Announce(ctx, c.examID, exam.AnnouncementInput{Subject: announceSubject, Text: announceText})
	run.recorded = time.Since(start)
	if err != nil {
		return run, fmt.Errorf("announce: %w", err)
	}
	if sent.Emails != o.announce || sent.Suppressed != 0 {
		return run, fmt.Errorf("announce: %d emails written and %d candidates suppressed, want %d and 0", sent.Emails, sent.Suppressed, o.announce)
	}
	if run.queued, err = waitQueued(ctx, pool, start, w.proc.Check); err != nil {
		return run, fmt.Errorf("announce: %w", err)
	}
	if err := r.sink.WaitFor(ctx, base+o.announce, announceWithin-time.Since(start), w.proc.Check); err != nil {
		return run, fmt.Errorf("announce: %w", err)
	}
	delivered := map[string]int{string(oes.EmailDelivered): o.announce}
	if err := expectStates(ctx, pool, delivered, completeWithin, 2*time.Millisecond); err != nil {
		return run, fmt.Errorf("after the announcement: %w", err)
	}
	run.use = r.meter.read(ctx, w.proc.Pid()).since(before)
	finished, err := lastFinished(ctx, pool)
	if err != nil {
		return run, err
	}
	first, last := r.sink.Span(base, base+o.announce)
	end := last
	if finished.After(end) {
		end = finished
	}
	run.delivered, run.steady = end.Sub(start), last.Sub(first)

	if err := expectLanes(ctx, client, 0, completeWithin); err != nil {
		return run, fmt.Errorf("after the announcement: %w", err)
	}
	if err := r.expectAddresses(base, c.addresses); err != nil {
		return run, fmt.Errorf("announcement: %w", err)
	}
	if err := expectReplies(ctx, pool); err != nil {
		return run, err
	}
	fmt.Fprint(check, "announcement: ")
	metricsCheck(ctx, check, w.healthAddr)
	if err := w.proc.Stop(); err != nil {
		return run, err
	}
	pool.Close()
	run.use.pstats = r.meter.pg.settle(ctx).sub(pgBefore)
	return run, nil
}

// waitQueued polls the outbox every announcePoll until none of its emails is pending, for at
// most announceWithin from start, and returns the time from start to the reading that found
// none. alive reports the worker's death, which ends the wait.
func waitQueued(ctx context.Context, pool *pgxpool.Pool, start time.Time, alive func() error) (time.Duration, error) {
	tick := time.NewTicker(announcePoll)
	defer tick.Stop()
	for {
		n, err := pendingEmails(ctx, pool)
		if err != nil {
			return 0, err
		}
		at := time.Since(start)
		if n == 0 {
			return at, nil
		}
		if at > announceWithin {
			return 0, fmt.Errorf("%d emails still pending after %s", n, announceWithin)
		}
		if err := alive(); err != nil {
			return 0, fmt.Errorf("%w (%d emails pending)", err, n)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// candidates are the students the announcement phase made and the exam it assigned them to.
type candidates struct {
	examID    int64 // 0 until the exam exists
	ids       []int64
	addresses []string
}

// prepareAnnouncement empties the outbox and makes the announcement's candidates
// (makeCandidates) through a connection of its own, closed when it returns.
func prepareAnnouncement(ctx context.Context, dbURL string, n int, run *announceRun) (*candidates, error) {
	pool, st, err := openStore(ctx, dbURL, 1)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := truncateOutbox(ctx, pool); err != nil {
		return nil, err
	}
	return makeCandidates(ctx, pool, exam.NewService(st, nil, slog.New(slog.DiscardHandler)), n, run)
}

// makeCandidates makes n students with addresses of this run only (the bench database keeps
// accounts between runs), in one statement, and a published exam, and assigns them to it
// through exams.AddCandidates, by id, as many at once as a call takes. It notes the time of
// each step in run. Once the students exist it returns them, with an error too, for the
// caller to remove.
func makeCandidates(ctx context.Context, pool *pgxpool.Pool, exams *exam.Service, n int, run *announceRun) (*candidates, error) {
	tag := randomHex(4)
	start := time.Now()
	rows, err := pool.Query(ctx, `INSERT INTO users (email, name, password_hash, role, email_verified_at)
		SELECT 'announce-' || $1 || '-' || i || '@oes.test', 'Candidate ' || i, $2, 'student', now()
		FROM generate_series(1, $3::integer) AS i
		RETURNING id, email`, tag, lockedPassword, n)
	if err != nil {
		return nil, fmt.Errorf("announcement's students: %w", err)
	}
	c := &candidates{ids: make([]int64, 0, n), addresses: make([]string, 0, n)}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return c, err
		}
		c.ids, c.addresses = append(c.ids, id), append(c.addresses, email)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("announcement's students: %w", err)
	}
	run.made = time.Since(start)

	title, minutes, published := "Bench announcement "+tag, int32(60), true
	e, err := exams.CreateExam(ctx, nil, oes.ExamInput{Title: &title, DurationMinutes: &minutes, Published: &published})
	if err != nil {
		return c, fmt.Errorf("announcement's exam: %w", err)
	}
	c.examID = e.ID
	start = time.Now()
	added := 0
	for from := 0; from < n; from += exam.MaxCandidatesPerCall {
		ids := c.ids[from:min(from+exam.MaxCandidatesPerCall, n)]
		got, err := exams.AddCandidates(ctx, c.examID, store.CandidatesInput{UserIDs: ids})
		if err != nil {
			return c, fmt.Errorf("announcement's candidates: %w", err)
		}
		added += got.Added
	}
	run.assigned = time.Since(start)
	if added != n {
		return c, fmt.Errorf("announcement's candidates: %d assigned, want %d", added, n)
	}
	return c, nil
}

// remove empties the outbox, which holds the announcement's emails, and deletes the exam (its
// candidates with it) and the students, so that the bench database does not grow by them at
// every run.
func (c *candidates) remove(ctx context.Context, dbURL string) error {
	ctx, cancel := context.WithTimeout(ctx, completeWithin)
	defer cancel()
	pool, _, err := openStore(ctx, dbURL, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := truncateOutbox(ctx, pool); err != nil {
		return fmt.Errorf("remove the announcement's emails: %w", err)
	}
	if c.examID != 0 {
		if _, err := pool.Exec(ctx, "DELETE FROM exams WHERE id = $1", c.examID); err != nil {
			return fmt.Errorf("remove the announcement's exam: %w", err)
		}
	}
	if _, err := pool.Exec(ctx, "DELETE FROM users WHERE id = ANY($1)", c.ids); err != nil {
		return fmt.Errorf("remove the announcement's students: %w", err)
	}
	return nil
}

// announceWireBytes returns the size on the wire of the announcement's message, composed as
// the worker composes it.
func announceWireBytes(ctx context.Context) (int, error) {
	m, err := templates.AnnouncementEmail("announce-00000000-1@oes.test", templates.Announcement{
		ExamTitle: "Bench announcement 00000000", Subject: announceSubject, Text: announceText,
	})
	if err != nil {
		return 0, err
	}
	wire, err := composeWire(ctx, []oesmail.Message{m})
	if err != nil {
		return 0, err
	}
	return len(wire[0].data), nil
}
