package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/pgtest"
)

// admin runs "api admin <args>" in this process with stdin, as main would.
func admin(t *testing.T, stdin string, args ...string) error {
	t.Helper()
	return run(context.Background(), append([]string{"admin"}, args...), strings.NewReader(stdin), &bytes.Buffer{}, &bytes.Buffer{})
}

// signIn posts the credentials to the served api and returns the access token, "" when refused.
func signIn(t *testing.T, email, password string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"email": email, "password": password})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+os.Getenv("HTTP_ADDR")+"/api/v1/auth/login",
		bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s.Token
}

// listUsers calls an admin route of the served api with token and returns the status.
func listUsers(t *testing.T, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+os.Getenv("HTTP_ADDR")+"/api/v1/admin/users", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// The first admin of a production database comes from "api admin create"; the demo seed is not
// needed.
func TestAdminCreateGivesAWorkingAdminOnAnEmptyDatabase(t *testing.T) {
	// Not parallel: it sets environment variables.
	t.Setenv("RATE_LIMIT_ENABLED", "false") // the test signs in often from one address
	_, stop := startServe(t)
	defer stop()
	var n int
	require.NoError(t, pgtest.New(t).QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n))
	require.Zero(t, n, "the database starts without accounts")

	require.NoError(t, admin(t, "first admin password\n", "create", "--email", "root@example.org", "--name", "Root"))
	token := signIn(t, "root@example.org", "first admin password")
	require.NotEmpty(t, token, "the admin signs in: the account is verified")
	require.Equal(t, http.StatusOK, listUsers(t, token))

	t.Run("createFailsForAnExistingEmail", func(t *testing.T) {
		err := admin(t, "another password\n", "create", "--email", "ROOT@example.org")
		require.ErrorContains(t, err, "already exists")
		require.ErrorContains(t, err, "set-role")
		require.NotEmpty(t, signIn(t, "root@example.org", "first admin password"), "the account is untouched")
	})
	t.Run("createChecksThePasswordAsRegistrationDoes", func(t *testing.T) {
		err := admin(t, "short\n", "create", "--email", "short@example.org")
		require.ErrorContains(t, err, "password must be at least 8 characters")
		// bcrypt would check only the first 72 bytes of a longer one.
		err = admin(t, strings.Repeat("p", 73)+"\n", "create", "--email", "long@example.org")
		require.ErrorContains(t, err, "password must be at most 72 bytes")
		require.Empty(t, signIn(t, "long@example.org", strings.Repeat("p", 72)), "nothing was created")
		require.ErrorContains(t, admin(t, "", "create", "--email", "none@example.org"), "no password")
		require.ErrorContains(t, admin(t, "long enough password\n", "create", "--email", "not an address"), "email is not a valid email address")
	})
	t.Run("createNeverTakesThePasswordFromArgv", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "--email", "argv@example.org", "--password", "argv password 1"},
			{"create", "--email", "argv@example.org", "--password=argv password 1"},
			{"create", "-password", "argv password 1", "--email", "argv@example.org"},
		} {
			err := admin(t, "stdin password 1\n", args...)
			require.ErrorContains(t, err, "never read from the command line")
		}
		require.Empty(t, signIn(t, "argv@example.org", "argv password 1"))
		require.Empty(t, signIn(t, "argv@example.org", "stdin password 1"), "nothing was created")
	})
	t.Run("createReadsTheEnvironment", func(t *testing.T) {
		t.Setenv("OES_ADMIN_PASSWORD", "second admin password")
		require.NoError(t, admin(t, "", "create", "--email", "second@example.org"))
		require.Equal(t, http.StatusOK, listUsers(t, signIn(t, "second@example.org", "second admin password")))
	})
	t.Run("setRole", func(t *testing.T) {
		require.ErrorContains(t, admin(t, "", "set-role", "--email", "root@example.org", "--role", "root"), "role must be student or admin")
		require.ErrorContains(t, admin(t, "", "set-role", "--email", "nobody@example.org", "--role", "admin"), "not found")

		require.NoError(t, admin(t, "", "set-role", "--email", "root@example.org", "--role", "student"))
		require.Eventually(t, func() bool { return listUsers(t, token) == http.StatusUnauthorized }, 5*time.Second, 10*time.Millisecond,
			"the demoted admin's token is refused")
		require.Equal(t, http.StatusForbidden, listUsers(t, signIn(t, "root@example.org", "first admin password")))

		err := admin(t, "", "set-role", "--email", "second@example.org", "--role", "student")
		require.ErrorContains(t, err, "only admin")
	})
}
