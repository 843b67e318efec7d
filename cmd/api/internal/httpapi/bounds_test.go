package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/oes"
)

// requireBoundedError checks that rec is an error with the usual shape within the bounds of
// an error body.
func requireBoundedError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) errorResponse {
	t.Helper()
	require.LessOrEqual(t, rec.Body.Len(), httpapi.MaxErrorBodyBytes, "an error body of %d bytes", rec.Body.Len())
	requireError(t, rec, status, code, "")
	e := decode[errorResponse](t, rec)
	require.LessOrEqual(t, len(e.Error.Details), 10)
	return e
}

func TestErrorBodiesAreBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Bounded", true)

	t.Run("400ThousandsOfUnknownKeys", func(t *testing.T) {
		var body strings.Builder
		body.WriteString("{")
		for i := range 20000 {
			fmt.Fprintf(&body, `"%s%d":1,`, strings.Repeat("<k>", 8), i)
		}
		body.WriteString(`"email":"a@example.org"}`)
		rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath, body: body.String()})
		requireBoundedError(t, rec, http.StatusBadRequest, oes.EINVALID)
	})
	t.Run("400OneHugeKeyIsCutShort", func(t *testing.T) {
		key := strings.Repeat(`<\u0001`, 100_000) // each character six bytes once escaped again
		rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath, body: `{"` + key + `":1}`})
		e := requireBoundedError(t, rec, http.StatusBadRequest, oes.EINVALID)
		require.Len(t, e.Error.Details, 1)
		require.True(t, strings.HasSuffix(e.Error.Details[0].Field, "…"), e.Error.Details[0].Field)
		require.LessOrEqual(t, len(e.Error.Details[0].Field), 64)
	})
	t.Run("400ManyProblemsAreCounted", func(t *testing.T) {
		emails := make([]string, 5000)
		for i := range emails {
			emails[i] = fmt.Sprintf("%s-%d", strings.Repeat("not an address ", 10), i)
		}
		rec := do(t, b.api, call{method: http.MethodPost, path: fmt.Sprintf("/api/v1/admin/exams/%d/candidates", e.ID),
			admin: true, body: map[string]any{"emails": emails}})
		require.LessOrEqual(t, rec.Body.Len(), httpapi.MaxErrorBodyBytes, "%d bytes", rec.Body.Len())
		if rec.Code == http.StatusBadRequest {
			got := requireBoundedError(t, rec, http.StatusBadRequest, oes.EINVALID)
			if len(got.Error.Details) == 10 {
				require.Contains(t, got.Error.Message, "of 5000 problems")
			}
		}
	})
	t.Run("404LongPathIsCutShort", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: "/api/v1/" + strings.Repeat("%3C", 100_000)})
		e := requireBoundedError(t, rec, http.StatusNotFound, oes.ENOTFOUND)
		require.True(t, strings.HasSuffix(e.Error.Message, "…"))
	})
	t.Run("405LongMethodIsCutShort", func(t *testing.T) {
		rec := do(t, b.api, call{method: strings.Repeat("X", 100_000), path: "/healthz"})
		requireBoundedError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
	})
	t.Run("400PagesEchoAHugeAddressCutShort", func(t *testing.T) {
		huge := strings.Repeat("<", 300_000) + "@example.org"
		for _, path := range []string{httpapi.VerifyResendPagePath, httpapi.ResetRequestPagePath} {
			rec := postForm(t, b.api, path, url.Values{"email": {huge}})
			requirePage(t, rec, http.StatusBadRequest, "Email address must be at most 254 bytes.")
			require.LessOrEqual(t, rec.Body.Len(), httpapi.MaxErrorBodyBytes, "%s: a page of %d bytes", path, rec.Body.Len())
		}
	})
	t.Run("404UnknownJobIdIsCutShort", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodGet, path: "/api/v1/admin/jobs/" + strings.Repeat("9", 100_000), admin: true})
		requireBoundedError(t, rec, http.StatusNotFound, oes.ENOTFOUND)
	})
}

// No paging or id parameter, however large, negative or malformed, gets a 5xx.
func TestPagingAndIDsAtTheirLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Paged", true)
	lists := []string{
		"/api/v1/admin/users",
		fmt.Sprintf("/api/v1/admin/exams/%d/results", e.ID),
		fmt.Sprintf("/api/v1/admin/exams/%d/candidates", e.ID),
		"/api/v1/admin/queues/email/failed",
		fmt.Sprintf("/api/v1/admin/users/%d/emails", b.admin.ID),
		"/api/v1/admin/suppressions",
	}
	values := []string{
		"1", "2", "0", "-1", "100", "101", fmt.Sprint(math.MaxInt32), fmt.Sprint(math.MaxInt32 + 1),
		fmt.Sprint(math.MaxInt64), fmt.Sprint(math.MinInt64), "9223372036854775808", "1e3", "0x10", " 1", "", "x",
	}
	for _, path := range lists {
		for _, page := range values {
			for _, size := range []string{"1", "2", "100", "0", fmt.Sprint(math.MaxInt64)} {
				q := url.Values{"page": {page}, "size": {size}}.Encode()
				rec := do(t, b.api, call{method: http.MethodGet, path: path + "?" + q, admin: true})
				require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, rec.Code, "%s?%s: %s", path, q, rec.Body.String())
			}
		}
	}
	t.Run("farPagesAreEmpty", func(t *testing.T) {
		q := url.Values{"page": {fmt.Sprint(math.MaxInt64)}, "size": {"2"}}.Encode()
		rec := do(t, b.api, call{method: http.MethodGet, path: "/api/v1/admin/users?" + q, admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, `[]`, string(mustJSONField(t, rec, "users")))
		rec = do(t, b.api, call{method: http.MethodGet, path: fmt.Sprintf("/api/v1/admin/exams/%d/results?", e.ID) + q, admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, `[]`, string(mustJSONField(t, rec, "results")))
	})
	ids := []string{"0", "-1", "1", fmt.Sprint(math.MaxInt64), "9223372036854775808", "99999999999999999999999", "x", "1.5", "%20"}
	for _, id := range ids {
		for _, c := range []call{
			{method: http.MethodGet, path: "/api/v1/exams/" + id},
			{method: http.MethodGet, path: "/api/v1/exams/" + id + "/questions"},
			{method: http.MethodGet, path: "/api/v1/questions/" + id},
			{method: http.MethodGet, path: "/api/v1/attempts/" + id + "/result", as: b.studentJWT},
			{method: http.MethodGet, path: "/api/v1/admin/exams/" + id + "/results", admin: true},
			{method: http.MethodGet, path: "/api/v1/admin/jobs/" + id, admin: true},
			{method: http.MethodGet, path: "/api/v1/admin/users/" + id + "/emails", admin: true},
			{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/admin/exams/%d/candidates/%s", e.ID, id), admin: true},
		} {
			rec := do(t, b.api, c)
			require.Less(t, rec.Code, 500, "%s %s: %s", c.method, c.path, rec.Body.String())
		}
	}
}

// bcrypt reads only a password's first 72 bytes: every way of setting one refuses a longer
// one, and signing in with one longer never succeeds.
func TestPasswordsOver72Bytes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("p", account.MaxPasswordBytes)
	over := long + "x"

	t.Run("register400", func(t *testing.T) {
		rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath,
			body: map[string]string{"email": "long@example.org", "name": "Long", "password": over}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "password")
		require.Contains(t, rec.Body.String(), "at most 72 bytes")
		// Multi-byte characters count by their bytes: 25 of three bytes each are 75.
		rec = do(t, b.api, call{method: http.MethodPost, path: httpapi.RegisterPath,
			body: map[string]string{"email": "long@example.org", "name": "Long", "password": strings.Repeat("€", 25)}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "password")
	})
	t.Run("resetConfirm400", func(t *testing.T) {
		token := requestResetToken(t, b, b.student.Email)
		rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.ResetConfirmPath,
			body: map[string]string{"token": token, "password": over}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "password")
	})
	t.Run("resetPage400", func(t *testing.T) {
		token := requestResetToken(t, b, b.student.Email)
		rec := postForm(t, b.api, httpapi.ResetPagePath, url.Values{"token": {token}, "password": {over}})
		requirePage(t, rec, http.StatusBadRequest, "The password must be at most 72 bytes.", `name="password"`)
	})
	t.Run("login401WithAnythingAppended", func(t *testing.T) {
		u := createAccount(t, b.store, "seventy-two@example.org", long, oes.RoleStudent, true)
		require.Equal(t, http.StatusOK, login(t, b, u.Email, long).Code)
		for _, pw := range []string{over, long + "anything at all", long + long} {
			requireError(t, login(t, b, u.Email, pw), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		}
		rec := do(t, b.api, call{method: http.MethodPost, path: httpapi.AdminSessionPath,
			body: map[string]string{"email": b.admin.Email, "password": adminPassword + strings.Repeat("x", 80)}})
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
}

// mustJSONField returns the raw JSON of a field of rec's body, an object.
func mustJSONField(t *testing.T, rec *httptest.ResponseRecorder, name string) json.RawMessage {
	t.Helper()
	body := decode[map[string]json.RawMessage](t, rec)
	v, ok := body[name]
	require.True(t, ok, "no %q in %s", name, rec.Body.String())
	return v
}
