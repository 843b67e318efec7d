package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/oes"
)

// registerPath is the api's registration endpoint, which stores an account and writes its
// verification email to the outbox in one transaction.
const registerPath = "/api/v1/auth/register"

// measureRegister runs the api on the bench database and the queue qcfg names and posts
// o.register registrations with new addresses from o.clients concurrent clients. Each request
// hashes a password with bcrypt and writes the account, its token and its email in one
// transaction, so it measures the endpoint, of which the outbox write is a small part. No
// worker runs: the emails stay pending, and are removed with the outbox's other rows.
//
// The accounts are kept in the bench database, whose outbox is emptied first.
func measureRegister(ctx context.Context, r *rig, bin string, qcfg queue.Config, o options) (enqueueRun, error) {
	pool, _, err := openStore(ctx, r.dbURL, 1)
	if err != nil {
		return enqueueRun{}, err
	}
	defer pool.Close()
	if err := truncateOutbox(ctx, pool); err != nil {
		return enqueueRun{}, err
	}
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return enqueueRun{}, err
	}
	metricsAddr, err := benchkit.FreeAddr()
	if err != nil {
		return enqueueRun{}, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = benchkit.ChildEnv(
		"DATABASE_URL="+r.dbURL,
		"HTTP_ADDR="+addr,
		// A port of its own: several apis may run at once on one machine.
		"METRICS_ADDR="+metricsAddr,
		"QUEUE_PREFIX="+qcfg.QueuePrefix,
		// A secret for this run only: no token it signs is ever used.
		"JWT_SECRET="+randomHex(32),
		// Registration reads nothing cached; without the cache the api leaves no keys behind.
		"CACHE_ENABLED=false",
	)
	p, err := r.procs.Start("api", cmd)
	if err != nil {
		return enqueueRun{}, err
	}
	// This Stop is for an early return; the one below reports how the process ended.
	defer func() { _ = p.Stop() }()
	if _, err := p.WaitReady(ctx, addr, readyWithin, readyPoll); err != nil {
		return enqueueRun{}, err
	}

	tr := &http.Transport{MaxIdleConnsPerHost: o.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// Addresses unique to this run, so that no registration meets an account of an earlier one.
	run := randomHex(4)
	ctx, cancel := context.WithTimeout(ctx, registerWithin)
	defer cancel()
	pgBefore := r.meter.pg.stats(ctx)
	res := closedLoop(ctx, r.meter, p.Pid(), o.register, o.clients, func(ctx context.Context, i int) string {
		return register(ctx, client, addr, fmt.Sprintf("bench-%s-%05d@oes.test", run, i+1), fmt.Sprintf("Bench Student %d", i+1))
	})
	if err := p.Check(); err != nil {
		return res, err
	}
	if res.jobs+res.failed < o.register {
		return res, fmt.Errorf("register: %d of %d registrations done within %s", res.jobs+res.failed, o.register, registerWithin)
	}
	if res.failed > 0 {
		return res, fmt.Errorf("register: %d of %d failed (first: %s)", res.failed, o.register, res.firstErr)
	}
	if err := expectStates(ctx, pool, map[string]int{string(oes.EmailPending): res.jobs}, 0, 0); err != nil {
		return res, fmt.Errorf("after the registrations: %w", err)
	}
	if err := p.Stop(); err != nil {
		return res, err
	}
	pool.Close()
	res.use.pstats = r.meter.pg.settle(ctx).sub(pgBefore)
	return res, nil
}

// register posts one registration and returns "" when the api answered 201 with the email
// queued, or what went wrong.
func register(ctx context.Context, client *http.Client, addr, email, name string) string {
	body, err := json.Marshal(map[string]string{"email": email, "name": name, "password": "bench-password-1"})
	if err != nil {
		return err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+registerPath, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct {
		Queued bool   `json:"queued"`
		JobID  string `json:"jobId"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "undecodable answer: " + err.Error()
	}
	if !out.Queued || out.JobID == "" {
		return fmt.Sprintf("email not queued: %s", bytes.TrimSpace(b))
	}
	return ""
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
