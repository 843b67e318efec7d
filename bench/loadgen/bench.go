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
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/demo"
)

// target is one server under load and what each round measured of it.
type target struct {
	name   string
	proc   *server
	rounds []measurement
}

// measurement is one measured run of one target. CPU figures are in cores (CPU seconds per
// second of the run); memory figures are bytes, negative when they could not be read.
type measurement struct {
	requests  int
	rps       float64
	p50, p99  time.Duration
	serverCPU float64
	loadCPU   float64
	otherCPU  float64 // everything else on the machine: Postgres, Redis, unrelated work
	rss, peak int64
	non200    int
	errors    int
	firstErr  string
}

// bench prepares the data, starts the four servers, measures them and reports.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	for _, name := range []string{"DATABASE_URL", "REDIS_URL"} {
		if os.Getenv(name) == "" {
			return fmt.Errorf("%s is not set; run loadgen through deploy/local/with-services.sh (make bench)", name)
		}
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-bin: %w (make build writes .local/bin/api)", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate loadgen's own binary for the ceiling server: %w", err)
	}
	dir, err := os.MkdirTemp("", "oes-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...) }

	progress("api migrate, api seed")
	if err := benchkit.Run(ctx, toolWithin, bin, benchkit.ChildEnv(), "migrate"); err != nil {
		return err
	}
	if err := benchkit.Run(ctx, toolWithin, bin, benchkit.ChildEnv(), "seed"); err != nil {
		return err
	}

	// The cached api gets a namespace of its own, so it starts cold whatever else uses the
	// shared Redis, and its keys are removed afterwards (once it has stopped writing them).
	namespace := "oes:bench:" + strconv.Itoa(os.Getpid())
	defer func() {
		if err := deleteNamespace(ctx, os.Getenv("REDIS_URL"), namespace); err != nil {
			progress("could not remove the cache keys under %s:* (they expire with their TTL): %v", namespace, err)
		}
	}()
	procs := &benchkit.Group{Dir: dir, StopWithin: stopWithin}
	defer procs.StopAll()

	// A secret for this run only: the access tokens it signs die with the processes. The admin
	// token outlives the run, so the counters can still be read at its end.
	jwtSecret := "JWT_SECRET=" + randomToken() + randomToken()
	cached, err := startAPI(ctx, procs, "api (hot cache)", bin, "CACHE_ENABLED=true", "CACHE_NAMESPACE="+namespace, jwtSecret, "JWT_TTL=24h")
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: requestTimeout, Transport: newTransport(1)}
	adminToken, err := signIn(ctx, client, cached.addr, demo.AdminEmail, demo.AdminPassword)
	if err != nil {
		return err
	}
	// Fetching every body once also fills the cache: the measured api runs hot from the start.
	ids, paths, bodies, err := demoBodies(ctx, client, cached)
	if err != nil {
		return err
	}
	ceilingDir := filepath.Join(dir, "ceiling")
	if err := writeBodies(ceilingDir, ids, bodies); err != nil {
		return err
	}

	// The configuration that ships: the same hot cache with the rate limits on, the general
	// ones set above any rate the load reaches, so that every request is counted and none
	// refused. Its counters live under the namespace, and go with it.
	shipped, err := startAPI(ctx, procs, "api (shipped: limits on)", bin, "CACHE_ENABLED=true", "CACHE_NAMESPACE="+namespace, jwtSecret,
		"RATE_LIMIT_ENABLED=true", "RATE_LIMIT_IP="+strconv.Itoa(unreachedLimit), "RATE_LIMIT_USER="+strconv.Itoa(unreachedLimit),
		"RATE_LIMIT_PREFIX="+namespace+":ratelimit")
	if err != nil {
		return err
	}
	uncached, err := startAPI(ctx, procs, "api (no cache)", bin, "CACHE_ENABLED=false", jwtSecret)
	if err != nil {
		return err
	}
	ceiling, err := startServer(ctx, procs, "ceiling (net/http)", self, func(addr string) ([]string, []string) {
		return []string{"-serve-ceiling", ceilingDir, "-addr", addr}, benchkit.ChildEnv()
	})
	if err != nil {
		return err
	}

	// The comparison holds only if every target sends the same bytes.
	var notes []string
	for _, p := range []*server{ceiling, shipped, uncached} {
		same, err := sameBodies(ctx, client, p.addr, paths, bodies)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		if !same {
			if p == ceiling {
				return fmt.Errorf("%s serves other bytes than %s", ceiling.Name(), cached.Name())
			}
			notes = append(notes, fmt.Sprintf("%s answers with other bytes than %s for some exams; the figures compare different bodies.", p.Name(), cached.Name()))
		}
	}
	apiFraming, err := framing(ctx, client, cached.addr, paths[0])
	if err != nil {
		return err
	}
	if f, err := framing(ctx, client, ceiling.addr, paths[0]); err != nil {
		return err
	} else if f != apiFraming {
		notes = append(notes, fmt.Sprintf("The ceiling frames its answers as %s, the api as %s.", f, apiFraming))
	}

	sizes := make([]int64, len(bodies))
	for i, b := range bodies {
		sizes[i] = int64(len(b))
	}
	targets := []*target{{name: cached.Name(), proc: cached}, {name: shipped.Name(), proc: shipped}, {name: ceiling.Name(), proc: ceiling}, {name: uncached.Name(), proc: uncached}}
	cacheStats := func() (cacheCounters, error) {
		return examQuestionStats(ctx, client, cached.addr, adminToken)
	}
	// The check is read while the hot-cache api still runs, right after its last measured run,
	// and printed after the report.
	var check bytes.Buffer
	lastHot := func() { metricsCheck(ctx, &check, cached) }
	cacheUse, err := measureRounds(ctx, o, targets, load{paths: paths, sizes: sizes, conns: o.conns}, cacheStats, lastHot, progress)
	if err != nil {
		return err
	}

	r := report{
		when:       time.Now(),
		opts:       o,
		gomaxprocs: runtime.GOMAXPROCS(0),
		exams:      len(ids),
		bodyMin:    slices.Min(sizes),
		bodyMax:    slices.Max(sizes),
		cached:     summarize(targets[0]),
		shipped:    summarize(targets[1]),
		ceiling:    summarize(targets[2]),
		uncached:   summarize(targets[3]),
		cacheUse:   cacheUse,
		notes:      notes,
	}
	r.printText(stdout)
	fmt.Fprintln(stdout)
	_, _ = check.WriteTo(stdout)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, r.markdown(), 0o644); err != nil {
			return fmt.Errorf("-markdown: %w", err)
		}
	}
	for _, t := range targets {
		if tail := t.proc.Tail(5); len(tail) > 0 {
			progress("last lines %s wrote:%s", t.name, benchkit.Indented(tail))
		}
	}
	if bad := r.failedRequests(); bad != "" {
		return fmt.Errorf("the run is invalid: %s", bad)
	}
	return nil
}

// measureRounds measures every target in every round. Each round starts one target further
// along than the one before, so that no target always runs first or right after the same
// neighbour. It returns the cache counters of the first target, the hot-cache api, over its
// runs. lastHot is called once the hot-cache api's last measured run has ended, while it
// still runs.
func measureRounds(ctx context.Context, o options, targets []*target, l load, cacheStats func() (cacheCounters, error), lastHot func(), progress func(string, ...any)) (cacheCounters, error) {
	cacheUse := cacheCounters{known: true}
	for round := range o.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			progress("round %d/%d: %s, %s warmup + %s", round+1, o.rounds, t.name, o.warmup, o.duration)
			hot := t == targets[0]
			var before cacheCounters
			var statsErr error
			if hot {
				before, statsErr = cacheStats()
			}
			l.base = "http://" + t.proc.addr
			m, err := measure(ctx, t.proc, l, o)
			if err != nil {
				return cacheUse, err
			}
			if hot {
				after, err := cacheStats()
				if err = errors.Join(statsErr, err); err != nil {
					cacheUse.known = false
					progress("cache counters unavailable: %v", err)
				}
				cacheUse = cacheUse.add(after.sub(before))
				if round == o.rounds-1 {
					lastHot()
				}
			}
			t.rounds = append(t.rounds, m)
		}
	}
	return cacheUse, nil
}

// measure warms the target up, then measures it for o.duration.
func measure(ctx context.Context, p *server, l load, o options) (measurement, error) {
	tr := newTransport(o.conns)
	defer tr.CloseIdleConnections()
	var m measurement
	if o.warmup > 0 {
		w, err := l.run(ctx, tr, o.warmup)
		if err != nil {
			return m, err
		}
		l.expect = int(w.rate() * o.duration.Seconds())
		m.non200, m.errors, m.firstErr = w.non200, w.errors, w.firstErr
	}
	if err := p.Check(); err != nil {
		return m, err
	}

	l.measure = true
	server0, serverErr := benchkit.CPUTime(p.Pid())
	self0, selfErr := benchkit.CPUTime(os.Getpid())
	busy0, busyErr := benchkit.BusyTime()
	out, err := l.run(ctx, tr, o.duration)
	if err != nil {
		return m, err
	}
	server1, serverErr1 := benchkit.CPUTime(p.Pid())
	self1, selfErr1 := benchkit.CPUTime(os.Getpid())
	busy1, busyErr1 := benchkit.BusyTime()
	perSecond := func(d time.Duration, errs ...error) float64 {
		if errors.Join(errs...) != nil {
			return -1
		}
		return d.Seconds() / out.elapsed.Seconds()
	}
	m.serverCPU = perSecond(server1-server0, serverErr, serverErr1)
	m.loadCPU = perSecond(self1-self0, selfErr, selfErr1)
	m.otherCPU = perSecond(busy1-busy0, busyErr, busyErr1)
	if m.otherCPU >= 0 && m.serverCPU >= 0 && m.loadCPU >= 0 {
		m.otherCPU = max(m.otherCPU-m.serverCPU-m.loadCPU, 0)
	} else {
		m.otherCPU = -1
	}
	if err := p.Check(); err != nil {
		return m, err
	}
	m.rss, m.peak, err = benchkit.Memory(p.Pid())
	if err != nil {
		m.rss, m.peak = -1, -1
	}

	out.merge()
	m.requests = out.requests
	m.rps = out.rate()
	m.p50, m.p99 = out.percentile(0.50), out.percentile(0.99)
	m.non200 += out.non200
	m.errors += out.errors
	if m.firstErr == "" {
		m.firstErr = out.firstErr
	}
	return m, nil
}

// demoBodies returns the published exams as GET /api/v1/exams lists them, the path of each
// one's questions and the body the api answers it with.
func demoBodies(ctx context.Context, client *http.Client, api *server) (ids []int64, paths []string, bodies [][]byte, err error) {
	b, err := get(ctx, client, api.addr, "/api/v1/exams")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", api.Name(), err)
	}
	var list struct {
		Exams []struct {
			ID int64 `json:"id"`
		} `json:"exams"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: GET /api/v1/exams: %w", api.Name(), err)
	}
	if len(list.Exams) == 0 {
		return nil, nil, nil, errors.New("GET /api/v1/exams lists no exams; did api seed run against this database?")
	}
	for _, e := range list.Exams {
		p := fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)
		b, err := get(ctx, client, api.addr, p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", api.Name(), err)
		}
		ids, paths, bodies = append(ids, e.ID), append(paths, p), append(bodies, b)
	}
	return ids, paths, bodies, nil
}

// sameBodies reports whether the server at addr answers every path with the expected body.
func sameBodies(ctx context.Context, client *http.Client, addr string, paths []string, want [][]byte) (bool, error) {
	for i, p := range paths {
		b, err := get(ctx, client, addr, p)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(b, want[i]) {
			return false, nil
		}
	}
	return true, nil
}

// framing describes how a server frames its answer to GET path: Content-Type, and a
// Content-Length or chunked encoding.
func framing(ctx context.Context, client *http.Client, addr, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	length := "Content-Length"
	if resp.ContentLength < 0 {
		length = "chunked"
	}
	return resp.Header.Get("Content-Type") + " with " + length, nil
}

// get returns the body of a 200 answer to GET path.
func get(ctx context.Context, client *http.Client, addr, path string, header ...string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, benchkit.LastLines(b, 3))
	}
	return b, nil
}

// cacheCounters are the api's cache counters for the exam_questions kind. known is false
// when they could not be read.
type cacheCounters struct {
	LocalHits  int64 `json:"local_hits"`
	RemoteHits int64 `json:"remote_hits"`
	Misses     int64 `json:"misses"`
	Errors     int64 `json:"errors"`
	known      bool
}

// sub and add combine the counts and keep the receiver's known.
func (c cacheCounters) sub(d cacheCounters) cacheCounters {
	return cacheCounters{c.LocalHits - d.LocalHits, c.RemoteHits - d.RemoteHits, c.Misses - d.Misses,
		c.Errors - d.Errors, c.known}
}

func (c cacheCounters) add(d cacheCounters) cacheCounters {
	return cacheCounters{c.LocalHits + d.LocalHits, c.RemoteHits + d.RemoteHits, c.Misses + d.Misses,
		c.Errors + d.Errors, c.known}
}

// examQuestionStats reads the cached api's counters, which show whether the measured
// requests were served from process memory, from Redis, or went to Postgres.
func examQuestionStats(ctx context.Context, client *http.Client, addr, token string) (cacheCounters, error) {
	b, err := get(ctx, client, addr, "/api/v1/admin/cache/stats", "Authorization", "Bearer "+token)
	if err != nil {
		return cacheCounters{}, err
	}
	var stats struct {
		Kinds map[string]cacheCounters `json:"kinds"`
	}
	if err := json.Unmarshal(b, &stats); err != nil {
		return cacheCounters{}, err
	}
	return stats.Kinds["exam_questions"], nil
}

// signIn returns an access token of the account with email and password.
func signIn(ctx context.Context, client *http.Client, addr, email, password string) (string, error) {
	body, err := json.Marshal(map[string]string{"email": email, "password": password})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign in as %s: status %d: %s", email, resp.StatusCode, benchkit.LastLines(b, 3))
	}
	var session struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &session); err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	return session.Token, nil
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
