package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one request, so that a stuck server ends a run instead of hanging it.
const requestTimeout = 10 * time.Second

// load is one closed-loop run: conns workers, each with one request in flight, over a pool
// of as many keep-alive connections, cycling over the paths until the duration is over.
type load struct {
	base    string   // http://host:port
	paths   []string // request paths, cycled
	sizes   []int64  // expected body length of each path
	conns   int
	measure bool // record each request's latency; a warmup only counts
	// expect is the number of requests the run is likely to complete, from the warmup; it
	// sizes the latency buffers so that recording does not allocate while measuring.
	expect int
}

// outcome is what a run saw. latencies holds every completed request once merge has run.
type outcome struct {
	requests  int
	elapsed   time.Duration
	latencies []time.Duration
	non200    int
	errors    int
	firstErr  string

	perWorker [][]time.Duration
}

// merge gathers the workers' latencies into one sorted slice. It is kept out of run so that
// its CPU time does not count as load generation.
func (o *outcome) merge() {
	total := 0
	for _, l := range o.perWorker {
		total += len(l)
	}
	o.latencies = make([]time.Duration, 0, total)
	for _, l := range o.perWorker {
		o.latencies = append(o.latencies, l...)
	}
	o.perWorker = nil
	slices.Sort(o.latencies)
}

func (o outcome) rate() float64 { return float64(o.requests) / o.elapsed.Seconds() }

// percentile returns the nearest-rank percentile p (0 < p <= 1) of the latencies.
func (o outcome) percentile(p float64) time.Duration {
	n := len(o.latencies)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(float64(n)*p)) - 1
	return o.latencies[min(max(i, 0), n-1)]
}

// newTransport returns a client transport holding one keep-alive connection per worker.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: requestTimeout,
		DisableCompression:    true,
	}
}

// workerResult is one worker's share of a run.
type workerResult struct {
	latencies []time.Duration
	requests  int
	non200    int
	errors    int
	firstErr  string
}

// run drives the target for d through tr, or until ctx is done. Call merge on the outcome
// before reading its latencies.
func (l load) run(ctx context.Context, tr *http.Transport, d time.Duration) (outcome, error) {
	reqs := make([]*http.Request, len(l.paths))
	for i, p := range l.paths {
		u, err := url.Parse(l.base + p)
		if err != nil {
			return outcome{}, err
		}
		reqs[i] = &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{},
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	}
	perWorker := 0
	if l.measure {
		perWorker = l.expect/l.conns + l.expect/l.conns/4 + 256
	}

	var stop atomic.Bool
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	quit := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer quit()

	results := make([]workerResult, l.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range l.conns {
		wg.Go(func() {
			results[w] = l.work(tr, reqs, w, perWorker, &stop)
		})
	}
	wg.Wait()
	out := outcome{elapsed: time.Since(start)}
	if err := ctx.Err(); err != nil {
		return out, err
	}

	for _, r := range results {
		if l.measure {
			out.perWorker = append(out.perWorker, r.latencies)
		}
		out.requests += r.requests
		out.non200 += r.non200
		out.errors += r.errors
		if out.firstErr == "" {
			out.firstErr = r.firstErr
		}
	}
	return out, nil
}

// work is one worker's loop. Requests are prepared once and reused: a worker has at most one
// in flight, and a request is sent again only after its response body has been closed.
// Workers start at different paths so that all of them are requested throughout the run.
func (l load) work(tr *http.Transport, reqs []*http.Request, w, capacity int, stop *atomic.Bool) workerResult {
	r := workerResult{latencies: make([]time.Duration, 0, capacity)}
	buf := make([]byte, 32<<10)
	i := w * len(reqs) / l.conns
	for !stop.Load() {
		start := time.Now()
		resp, err := tr.RoundTrip(reqs[i])
		var n int64
		if err == nil {
			n, err = drain(resp.Body, buf)
			resp.Body.Close()
		}
		elapsed := time.Since(start)
		r.requests++
		switch {
		case err != nil:
			r.errors++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
		case resp.StatusCode != http.StatusOK:
			r.non200++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprintf("GET %s: status %d", l.paths[i], resp.StatusCode)
			}
		case n != l.sizes[i]:
			r.errors++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprintf("GET %s: body of %d bytes, want %d", l.paths[i], n, l.sizes[i])
			}
		}
		if l.measure {
			r.latencies = append(r.latencies, elapsed)
		}
		if i++; i == len(reqs) {
			i = 0
		}
	}
	return r
}

// drain reads a body to its end through buf and returns its length.
func drain(body io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
