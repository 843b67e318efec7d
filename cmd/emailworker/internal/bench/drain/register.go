package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oeshq/oes/pkg/benchkit"
	"github.com/oeshq/oes/pkg/queue"
)

// registerPath is the api's registration endpoint, which stores an account and queues its
// verification email.
const registerPath = "/api/v1/auth/register"

// measureRegister runs the api on the queue qcfg names and posts o.register registrations
// with new addresses from o.clients concurrent clients. Each request hashes a password with
// bcrypt and writes the account to Postgres before it queues the email, so it measures the
// endpoint, of which the enqueue is a small part.
//
// The accounts go to a database of their own, DATABASE_URL's with "_bench" appended, which
// `api migrate` creates on the first run and which is kept: the demo database stays as it is.
func measureRegister(ctx context.Context, procs *benchkit.Group, bin string, rdb *redis.Client, qcfg queue.Config, o options) (enqueueRun, error) {
	dbURL, err := benchDatabaseURL(os.Getenv("DATABASE_URL"))
	if err != nil {
		return enqueueRun{}, err
	}
	if err := benchkit.Run(ctx, toolWithin, bin, benchkit.ChildEnv("DATABASE_URL="+dbURL), "migrate"); err != nil {
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
		"DATABASE_URL="+dbURL,
		"HTTP_ADDR="+addr,
		// A port of its own: several apis may run at once on one machine.
		"METRICS_ADDR="+metricsAddr,
		"QUEUE_PREFIX="+qcfg.QueuePrefix,
		// A secret for this run only: no token it signs is ever used.
		"JWT_SECRET="+randomHex(32),
		// Registration reads nothing cached; without the cache the api leaves no keys behind.
		"CACHE_ENABLED=false",
	)
	p, err := procs.Start("api", cmd)
	if err != nil {
		return enqueueRun{}, err
	}
	defer p.Stop()
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
	r := closedLoop(ctx, rdb, p.Pid(), o.register, o.clients, func(ctx context.Context, i int) string {
		return register(ctx, client, addr, fmt.Sprintf("bench-%s-%05d@oes.test", run, i+1), fmt.Sprintf("Bench Student %d", i+1))
	})
	if err := p.Check(); err != nil {
		return r, err
	}
	if r.jobs+r.failed < o.register {
		return r, fmt.Errorf("register: %d of %d registrations done within %s", r.jobs+r.failed, o.register, registerWithin)
	}
	if r.failed > 0 {
		return r, fmt.Errorf("register: %d of %d failed (first: %s)", r.failed, o.register, r.firstErr)
	}
	qc, err := queue.New(qcfg)
	if err != nil {
		return r, err
	}
	defer qc.Close()
	if err := expectCounts(ctx, qc, queue.Counts{Waiting: r.jobs}, time.Second); err != nil {
		return r, fmt.Errorf("after the registrations: %w", err)
	}
	return r, nil
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

// benchDatabaseURL returns dbURL naming the database <name>_bench instead of <name>.
func benchDatabaseURL(dbURL string) (string, error) {
	if dbURL == "" {
		return "", errors.New("DATABASE_URL is not set; run drain through deploy/local/with-services.sh (make bench)")
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		// A *url.Error repeats the URL, password included.
		return "", errors.New("DATABASE_URL is not a valid URL")
	}
	name := strings.Trim(u.Path, "/")
	if name == "" {
		name = "oes"
	}
	u.Path = "/" + name + "_bench"
	u.RawPath = ""
	return u.String(), nil
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
