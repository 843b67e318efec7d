package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oeshq/oes/bench/internal/benchkit"
	"github.com/oeshq/oes/pkg/oes"
)

const (
	downUsers = 20 // registrations, and as many submissions
	// downHold is how long the emails are left in the outbox with Redis down after the last
	// request, to show that none leaves meanwhile.
	downHold = 3 * time.Second
)

// requests counts the api's answers by request and status: "POST /api/v1/auth/register" →
// "201" → 20.
type requests map[string]map[string]int

func (q requests) add(what string, status int, ok bool) {
	if q[what] == nil {
		q[what] = map[string]int{}
	}
	s := fmt.Sprint(status)
	if status == 0 {
		s = "no answer"
	} else if !ok {
		s += " (unexpected body)"
	}
	q[what][s]++
}

func (q requests) String() string {
	var parts []string
	for _, what := range slices.Sorted(maps.Keys(q)) {
		var st []string
		for _, s := range slices.Sorted(maps.Keys(q[what])) {
			st = append(st, fmt.Sprintf("%d × %s", q[what][s], s))
		}
		parts = append(parts, what+": "+strings.Join(st, ", "))
	}
	return strings.Join(parts, "; ")
}

// redisDown is scenario 3: registrations and submissions while the queue's Redis is down.
func redisDown(ctx context.Context, env *environment, n int) (*result, error) {
	r, err := newRig(ctx, env, n, "redis_down")
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &result{dupTarget: "0", drainFrom: "after Redis started", drainBound: drainBound}

	if err := r.redis.Stop(); err != nil {
		return nil, err
	}
	w, err := r.startWorker(ctx, false)
	if err != nil {
		return nil, err
	}
	api, err := r.startAPI(ctx)
	if err != nil {
		return nil, err
	}
	readyz := probe(ctx, "http://"+w.health+"/readyz")
	examID, err := publishExam(ctx, r, api)
	if err != nil {
		return nil, err
	}
	students := make([]string, downUsers)
	for i := range students {
		students[i] = fmt.Sprintf("sitter-%02d@faults.test", i+1)
		if _, err := benchkit.CreateAccount(ctx, r.st, students[i], fmt.Sprintf("Sitter %d", i+1), password, oes.RoleStudent); err != nil {
			return nil, err
		}
	}

	q := requests{}
	registered, submitted := 0, 0
	for i := range downUsers {
		var reg struct {
			Queued bool   `json:"queued"`
			JobID  string `json:"jobId"`
		}
		body := map[string]string{"email": fmt.Sprintf("newcomer-%02d@faults.test", i+1), "name": fmt.Sprintf("Newcomer %d", i+1), "password": password}
		status, err := api.call(ctx, http.MethodPost, "/api/v1/auth/register", "", body, &reg)
		ok := err == nil && status == http.StatusCreated && reg.Queued && reg.JobID != ""
		q.add("POST /api/v1/auth/register", status, status != http.StatusCreated || ok)
		if ok {
			registered++
		} else if err != nil {
			res.note("registration %d: %v", i+1, err)
		}
	}
	for i, email := range students {
		if err := sitExam(ctx, api, q, examID, email); err != nil {
			res.note("student %d: %v", i+1, err)
			continue
		}
		submitted++
	}
	if err := sleep(ctx, downHold); err != nil {
		return nil, err
	}
	acceptedDown := r.sink.Delivered()
	before, err := takeCensus(ctx, r.st)
	if err != nil {
		return nil, err
	}

	if err := r.redis.Start(ctx); err != nil {
		return nil, err
	}
	res.drainStart = time.Now()
	env.progress("  Redis is up with %d emails in the outbox; waiting for them", len(before.emails))
	res.drained, err = r.waitDrained(ctx, before.recipients(), res.drainBound, w.Check)
	if err != nil {
		return nil, err
	}
	if _, err := r.tally(ctx, res); err != nil {
		return nil, err
	}
	res.judge()
	res.figure("registrations answered 201, queued, with a jobId", fmt.Sprintf("%d of %d", registered, downUsers),
		fmt.Sprint(downUsers), registered == downUsers)
	res.figure("submissions answered 200", fmt.Sprintf("%d of %d", submitted, downUsers), fmt.Sprint(downUsers), submitted == downUsers)
	res.figure("emails committed while Redis was down", fmt.Sprint(len(before.emails)), fmt.Sprint(2*downUsers),
		len(before.emails) == 2*downUsers)
	res.figure("messages accepted while Redis was down", fmt.Sprint(acceptedDown), "0", acceptedDown == 0)
	res.note("requests while Redis was down: %s", q)
	res.note("the outbox %s after the last request, Redis still down: %s", span(downHold), before.states())
	res.note("the worker's /readyz while Redis was down: %s", readyz)
	if err := w.Check(); err != nil {
		res.miss("the worker did not survive: %v", err)
	}
	return res, nil
}

// publishExam creates a published exam of three questions through the admin API, as an admin
// it creates, and returns its id.
func publishExam(ctx context.Context, r *rig, api *apiClient) (int64, error) {
	if _, err := benchkit.CreateAccount(ctx, r.st, adminEmail, "Fault Admin", password, oes.RoleAdmin); err != nil {
		return 0, err
	}
	token, err := api.login(ctx, adminEmail, password)
	if err != nil {
		return 0, err
	}
	var exam struct {
		ID int64 `json:"id"`
	}
	if _, err := api.call(ctx, http.MethodPost, "/api/v1/exams", token, map[string]any{
		"title": "Fault run", "description": "Taken while the queue's Redis is down", "duration_minutes": 30, "published": true,
	}, &exam); err != nil {
		return 0, err
	}
	for i := range 3 {
		if _, err := api.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/questions", exam.ID), token, map[string]any{
			"text": fmt.Sprintf("Question %d: which is right?", i+1), "points": 1,
			"options": []map[string]any{{"text": "this one", "is_correct": true}, {"text": "that one", "is_correct": false}},
		}, nil); err != nil {
			return 0, err
		}
	}
	return exam.ID, nil
}

// sitExam signs email in, starts an attempt at exam examID and submits it, counting each
// answer in q.
func sitExam(ctx context.Context, api *apiClient, q requests, examID int64, email string) error {
	var s struct {
		Token string `json:"token"`
	}
	status, err := api.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &s)
	q.add("POST /api/v1/auth/login", status, true)
	if err != nil {
		return err
	}
	var a struct {
		ID int64 `json:"id"`
	}
	status, err = api.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/attempts", examID), s.Token, nil, &a)
	q.add("POST /api/v1/exams/:id/attempts", status, true)
	if err != nil {
		return err
	}
	status, err = api.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/attempts/%d/submit", a.ID), s.Token, nil, nil)
	q.add("POST /api/v1/attempts/:id/submit", status, true)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("submit answered %d", status)
	}
	return nil
}
