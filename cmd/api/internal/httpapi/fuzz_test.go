package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
)

// The fuzz tests send arbitrary bytes as the JSON body of the endpoints that decode the
// richest input. Whatever arrives, the answer is a 2xx or 4xx with the error shape, never a
// 5xx or a panic (a panic fails the test through the router's recovery turning into a 500).
// FuzzPagingAndIDs does the same for the paging parameters and the ids in paths.
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

// FuzzPagingAndIDs sends arbitrary paging parameters and path ids to the paged lists and the
// routes that read an id: a 2xx or 4xx, never a 5xx, and an error body within its bound.
func FuzzPagingAndIDs(f *testing.F) {
	for _, s := range [][3]string{
		{"1", "20", "1"}, {"9223372036854775807", "2", "9223372036854775807"}, {"-9223372036854775808", "100", "-1"},
		{"2147483648", "100", "0"}, {"1073741825", "2", "2147483648"}, {"0", "0", "x"}, {"1e9", " 1", "1.0"},
		{"", "", ""}, {"99999999999999999999", "101", "99999999999999999999"}, {"\x00", "\xff", "%"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	b := setup(f)
	e := createExam(f, b.api, "Fuzzed", true)
	f.Fuzz(func(t *testing.T, page, size, id string) {
		q := "?" + url.Values{"page": {page}, "size": {size}}.Encode()
		p := url.PathEscape(id)
		for _, c := range []call{
			{method: "GET", path: "/api/v1/admin/users" + q, admin: true},
			{method: "GET", path: fmt.Sprintf("/api/v1/admin/exams/%d/results", e.ID) + q, admin: true},
			{method: "GET", path: "/api/v1/admin/exams/" + p + "/results" + q, admin: true},
			{method: "GET", path: fmt.Sprintf("/api/v1/admin/exams/%d/candidates", e.ID) + q, admin: true},
			{method: "GET", path: "/api/v1/admin/queues/email/failed" + q, admin: true},
			{method: "GET", path: "/api/v1/admin/users/" + p + "/emails" + q, admin: true},
			{method: "GET", path: "/api/v1/admin/suppressions" + q, admin: true},
			{method: "GET", path: "/api/v1/exams/" + p},
			{method: "GET", path: "/api/v1/questions/" + p},
			{method: "GET", path: "/api/v1/attempts/" + p + "/result", as: b.studentJWT},
			{method: "GET", path: "/api/v1/admin/jobs/" + p, admin: true},
			{method: "PATCH", path: "/api/v1/admin/users/" + p, admin: true, body: `{"role":"student"}`},
		} {
			rec := do(t, b.api, c)
			requireNo5xx(t, rec.Code, []byte(c.path), rec.Body.String())
			if rec.Code >= 400 && rec.Body.Len() > httpapi.MaxErrorBodyBytes {
				t.Fatalf("%s %s: an error body of %d bytes", c.method, c.path, rec.Body.Len())
			}
		}
	})
}
