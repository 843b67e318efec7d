package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The fuzz tests send arbitrary bytes as the JSON body of the endpoints that decode the
// richest input. Whatever arrives, the answer is a 2xx or 4xx with the error shape, never a
// 5xx or a panic (a panic fails the test through the router's recovery turning into a 500).
// `go test` runs the seed corpus below; `go test -fuzz FuzzRegisterBody` explores further.

var jsonSeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `{"email":1}`, `{"a":`, `{"answers":{"1":[1,2]}}`,
	`{"email":"a@example.com","name":"A","password":"long-enough"}`,
	`{"title":"T","duration_minutes":30,"published":true}`,
	`{"title":"\u0000","duration_minutes":-1}`, `{"duration_minutes":1e309}`,
	`{"answers":{"-1":[9223372036854775807]}}`, `{"answers":{"x":["y"]}}`,
	`{"name":"` + "\xff\xfe" + `"}`,
}

func seed(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
}

func requireNo5xx(t *testing.T, status int, body []byte, got string) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("body %q answered %d: %s", body, status, got)
	}
}

func FuzzRegisterBody(f *testing.F) {
	seed(f)
	b := setup(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/register", body: string(body)})
		requireNo5xx(t, rec.Code, body, rec.Body.String())
	})
}

func FuzzExamWriteBody(f *testing.F) {
	seed(f)
	b := setup(f)
	e := createExam(f, b.api, "Fuzzed", true)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := do(t, b.api, call{method: "POST", path: "/api/v1/exams", admin: true, body: string(body)})
		requireNo5xx(t, rec.Code, body, rec.Body.String())
		rec = do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", e.ID), admin: true, body: string(body)})
		requireNo5xx(t, rec.Code, body, rec.Body.String())
		rec = do(t, b.api, call{method: "POST", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID), admin: true, body: string(body)})
		requireNo5xx(t, rec.Code, body, rec.Body.String())
	})
}

func FuzzAnswersBody(f *testing.F) {
	seed(f)
	b := setup(f)
	g := createGradedExam(f, b, "Fuzzed", 600)
	a := startAttempt(f, b, g.ID, b.studentJWT)
	f.Add([]byte(fmt.Sprintf(`{"answers":{"%d":[%d]}}`, g.single.ID, g.single.Options[0].ID)))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := do(t, b.api, call{method: "PUT", path: attemptPath(a.ID, "answers"), as: b.studentJWT, body: string(body)})
		requireNo5xx(t, rec.Code, body, rec.Body.String())
		if rec.Code != http.StatusOK && rec.Code/100 != 4 {
			t.Fatalf("body %q answered %d", body, rec.Code)
		}
	})
}
