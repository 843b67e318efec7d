package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

type userPageBody struct {
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Users []oes.User `json:"users"`
}

func emailsOf(us []oes.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Email
	}
	return out
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 3 {
		createAccount(t, b.store, fmt.Sprintf("Pupil%d@School.example", i), studentPassword, oes.RoleStudent, true)
	}
	list := func(t *testing.T, query string) *userPageBody {
		t.Helper()
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/users" + query, admin: true})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		body := decode[userPageBody](t, rec)
		return &body
	}

	t.Run("list200AllById", func(t *testing.T) {
		p := list(t, "")
		require.Equal(t, 1, p.Page)
		require.Equal(t, 20, p.Size)
		require.Equal(t, []string{"admin@example.org", "student@example.org", "Pupil0@School.example",
			"Pupil1@School.example", "Pupil2@School.example"}, emailsOf(p.Users))
	})
	t.Run("list200Paged", func(t *testing.T) {
		require.Equal(t, []string{"Pupil0@School.example", "Pupil1@School.example"}, emailsOf(list(t, "?page=2&size=2").Users))
		require.Equal(t, []string{"Pupil2@School.example"}, emailsOf(list(t, "?page=3&size=2").Users))
		require.Empty(t, list(t, "?page=4&size=2").Users)
	})
	t.Run("list200SearchIgnoresCase", func(t *testing.T) {
		require.Equal(t, []string{"Pupil0@School.example", "Pupil1@School.example", "Pupil2@School.example"},
			emailsOf(list(t, "?email="+url.QueryEscape("school.EX")).Users))
		require.Equal(t, []string{"Pupil1@School.example"}, emailsOf(list(t, "?email=PUPIL1").Users))
		require.Equal(t, []string{"Pupil2@School.example"}, emailsOf(list(t, "?email=school&page=2&size=2").Users))
		require.Empty(t, list(t, "?email="+url.QueryEscape("%")).Users, "% is no wildcard")
	})
	t.Run("list200HidesNoSecret", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", admin: true})
		require.NotContains(t, rec.Body.String(), "password")
		require.NotContains(t, rec.Body.String(), "token_version")
	})
	t.Run("list400", func(t *testing.T) {
		for query, field := range map[string]string{"?size=0": "size", "?size=101": "size", "?page=0": "page"} {
			rec := do(t, b.api, call{method: "GET", path: "/api/v1/admin/users" + query, admin: true})
			requireError(t, rec, http.StatusBadRequest, oes.EINVALID, field)
		}
	})
	t.Run("list401", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users"}), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("list403", func(t *testing.T) {
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", as: b.studentJWT}),
			http.StatusForbidden, oes.EFORBIDDEN, "")
	})
}

func TestSetUserRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	patch := func(as string, id int64, body any) *httptest.ResponseRecorder {
		return do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/users/%d", id), as: as, body: body})
	}

	t.Run("setRole409LastAdmin", func(t *testing.T) {
		rec := patch(b.adminJWT, b.admin.ID, map[string]string{"role": "student"})
		requireError(t, rec, http.StatusConflict, oes.ELASTADMIN, "")
		// Nothing changed: the admin's token still works.
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", admin: true}).Code)
	})
	t.Run("setRole400", func(t *testing.T) {
		for name, body := range map[string]any{
			"unknown": map[string]string{"role": "root"}, "missing": map[string]string{}, "wrongType": `{"role": 1}`,
		} {
			rec := patch(b.adminJWT, b.student.ID, body)
			require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", name, rec.Body.String())
			requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "role")
		}
		rec := do(t, b.api, call{method: "PATCH", path: "/api/v1/admin/users/x", admin: true, body: map[string]string{"role": "admin"}})
		requireError(t, rec, http.StatusBadRequest, oes.EINVALID, "id")
	})
	t.Run("setRole404", func(t *testing.T) {
		requireError(t, patch(b.adminJWT, b.student.ID+1000, map[string]string{"role": "admin"}), http.StatusNotFound, oes.ENOTFOUND, "")
	})
	t.Run("setRole403", func(t *testing.T) {
		requireError(t, patch(b.studentJWT, b.student.ID, map[string]string{"role": "admin"}), http.StatusForbidden, oes.EFORBIDDEN, "")
	})
	t.Run("setRole401", func(t *testing.T) {
		requireError(t, patch("", b.student.ID, map[string]string{"role": "admin"}), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("setRole200SameRoleRevokesNothing", func(t *testing.T) {
		rec := patch(b.adminJWT, b.admin.ID, map[string]string{"role": "admin"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", admin: true}).Code)
	})
	t.Run("setRole200PromoteThenSelfDemote", func(t *testing.T) {
		rec := patch(b.adminJWT, b.student.ID, map[string]string{"role": "admin"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, oes.RoleAdmin, decode[oes.User](t, rec).Role)

		// The student signs in again to act as an admin; the old token is revoked.
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", as: b.studentJWT}),
			http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		s := login(t, b, b.student.Email, studentPassword)
		require.Equal(t, http.StatusOK, s.Code, s.Body.String())
		promoted := decode[sessionBody](t, s).Token
		require.Equal(t, http.StatusOK, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", as: promoted}).Code)

		// With another admin, the first may step down.
		rec = patch(b.adminJWT, b.admin.ID, map[string]string{"role": "student"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, oes.RoleStudent, decode[oes.User](t, rec).Role)
		requireError(t, do(t, b.api, call{method: "GET", path: "/api/v1/admin/users", admin: true}),
			http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
		// And now the promoted one is the last admin.
		requireError(t, patch(promoted, b.student.ID, map[string]string{"role": "student"}), http.StatusConflict, oes.ELASTADMIN, "")
	})
}

// A demoted admin's token stops working on every replica within seconds, not at its expiry:
// the replica below has the admin's profile in its own memory when the role changes elsewhere.
func TestDemotedAdminsTokenIsRefusedWithinSeconds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := createAccount(t, b.store, "second-admin@example.org", adminPassword, oes.RoleAdmin, true)
	otherJWT := jwtFor(t, other)
	replica := b.replica(t)
	adminRoute := call{method: "GET", path: "/api/v1/admin/users", as: otherJWT}
	for range 3 { // by the third, the profile is in the replica's memory
		require.Equal(t, http.StatusOK, do(t, replica, adminRoute).Code)
	}

	rec := do(t, b.api, call{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/users/%d", other.ID), admin: true,
		body: map[string]string{"role": "student"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	requireError(t, do(t, b.api, adminRoute), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	start := time.Now()
	require.Eventually(t, func() bool { return do(t, replica, adminRoute).Code == http.StatusUnauthorized },
		5*time.Second, 10*time.Millisecond, "the replica still accepts the demoted admin's token")
	t.Logf("the replica refused the token after %v", time.Since(start))
	requireError(t, do(t, replica, adminRoute), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	rec = do(t, replica, call{method: "GET", path: "/api/v1/users/me", as: otherJWT})
	requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	require.Contains(t, rec.Body.String(), "revoked")
}

func TestPasswordResetRevokesEarlierTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	replica := b.replica(t)
	me := call{method: "GET", path: "/api/v1/users/me", as: b.studentJWT}
	require.Equal(t, http.StatusOK, do(t, b.api, me).Code)
	require.Equal(t, http.StatusOK, do(t, replica, me).Code)

	rec := do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset", body: map[string]string{"email": b.student.Email}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	token := resetToken(t, onlyEmailTo(t, b, b.student.Email).Message)
	rec = do(t, b.api, call{method: "POST", path: "/api/v1/auth/password-reset/confirm",
		body: map[string]string{"token": token, "password": "a brand new password"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	requireError(t, do(t, b.api, me), http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	require.Eventually(t, func() bool { return do(t, replica, me).Code == http.StatusUnauthorized },
		5*time.Second, 10*time.Millisecond, "the replica still accepts the token issued before the reset")

	s := login(t, b, b.student.Email, "a brand new password")
	require.Equal(t, http.StatusOK, s.Code, s.Body.String())
	require.Equal(t, http.StatusOK, do(t, replica, call{method: "GET", path: "/api/v1/users/me", as: decode[sessionBody](t, s).Token}).Code)
}

// A token whose account no longer exists is refused, like a revoked one.
func TestDeletedUsersTokenIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gone := createAccount(t, b.store, "gone@example.org", studentPassword, oes.RoleStudent, true)
	tok := jwtFor(t, gone)
	_, err := b.pool.Exec(t.Context(), "DELETE FROM users WHERE id = $1", gone.ID)
	require.NoError(t, err)
	rec := do(t, b.api, call{method: "GET", path: "/api/v1/users/me", as: tok})
	requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	require.Contains(t, rec.Body.String(), "no longer exists")
}
