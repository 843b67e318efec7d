package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient talks to a running api as its clients do.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(addr string) *apiClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	return &apiClient{base: "http://" + addr, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// call sends a request with body as JSON (none when nil) and token as its bearer (none when
// ""), and decodes a 2xx answer into out when it is not nil. It returns the status, and an
// error only when no answer came or a 2xx answer did not decode; the error names the body
// of any other answer.
func (c *apiClient) call(ctx context.Context, method, path, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: undecodable answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// login signs in and returns the access token.
func (c *apiClient) login(ctx context.Context, email, password string) (string, error) {
	var s struct {
		Token string `json:"token"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &s); err != nil {
		return "", err
	}
	return s.Token, nil
}

// jobPoll counts the answers of GET /api/v1/admin/jobs/:id over passes through a set of ids.
type jobPoll struct {
	passes    int
	requests  int
	ok        int // answered 200
	others    map[string]int
	delivered int // of the last pass's 200s, the emails in state delivered
}

func (p jobPoll) String() string {
	s := fmt.Sprintf("%d of %d answered 200 over %d passes", p.ok, p.requests, p.passes)
	if len(p.others) > 0 {
		s += fmt.Sprintf("; otherwise %v", p.others)
	}
	return s
}

// pollEvery spaces the starts of the passes of pollJobs: an admin's tool asks now and then,
// and the passes should not take the machine from the worker they watch.
const pollEvery = time.Second

// pollJobs asks the api for every email of ids as an admin, with 4 clients, a pass every
// pollEvery until stop is closed (at least one pass), and counts the answers.
func (c *apiClient) pollJobs(ctx context.Context, token string, ids []int64, stop <-chan struct{}) jobPoll {
	p := jobPoll{others: map[string]int{}}
	for {
		due := time.Now().Add(pollEvery)
		var ok, delivered atomic.Int64
		var mu sync.Mutex
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := int(next.Add(1)) - 1
					if i >= len(ids) {
						return
					}
					var e struct {
						State string `json:"state"`
					}
					status, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/admin/jobs/%d", ids[i]), token, nil, &e)
					if err == nil && status == http.StatusOK {
						ok.Add(1)
						if e.State == "delivered" {
							delivered.Add(1)
						}
						continue
					}
					what := fmt.Sprintf("status %d", status)
					if status == 0 {
						what = "no answer"
					}
					mu.Lock()
					p.others[what]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return p
		}
		p.passes++
		p.requests += len(ids)
		p.ok += int(ok.Load())
		p.delivered = int(delivered.Load())
		select {
		case <-stop:
			return p
		case <-ctx.Done():
			return p
		case <-time.After(time.Until(due)):
		}
	}
}

// probe returns a GET of url's status and body, in one line.
func probe(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}
