package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
	"github.com/oeshq/oes/pkg/testkit/redistest"
)

// testSealer seals the cached profiles of every api under test; replicas share it, as
// replicas share CACHE_ENCRYPTION_KEY.
var testSealer = func() *cache.Sealer {
	key := make([]byte, cache.SealKeyBytes)
	_, _ = rand.Read(key)
	s, err := cache.NewSealer(key)
	if err != nil {
		panic(err)
	}
	return s
}()

func newProfiles(t testing.TB, st *store.Store, c *cache.Cache) *profile.Service {
	t.Helper()
	svc, err := profile.NewService(st, c, testSealer, discardLog())
	require.NoError(t, err)
	return svc
}

func TestGetProfile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, tc := range map[string]struct {
		as     string
		status int
	}{
		"profile200":         {as: b.studentJWT, status: http.StatusOK},
		"profile401":         {status: http.StatusUnauthorized},
		"profile401BadToken": {as: "not-a-jwt", status: http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: tc.as})
			if tc.status != http.StatusOK {
				requireError(t, rec, tc.status, oes.EUNAUTHORIZED, "")
				require.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
				return
			}
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			u := decode[oes.User](t, rec)
			require.Equal(t, b.student.ID, u.ID)
			require.Equal(t, b.student.Email, u.Email)
			require.Equal(t, b.student.Name, u.Name)
			require.NotContains(t, strings.ToLower(rec.Body.String()), "password")
		})
	}
}

func TestPatchProfile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, tc := range map[string]struct {
		as     string
		body   any
		status int
		field  string
	}{
		"patch400Empty":   {as: b.studentJWT, body: map[string]string{"name": "  "}, status: http.StatusBadRequest, field: "name"},
		"patch400TooLong": {as: b.studentJWT, body: map[string]string{"name": strings.Repeat("é", 101)}, status: http.StatusBadRequest, field: "name"},
		"patch400Unknown": {as: b.studentJWT, body: map[string]string{"email": "x@example.org"}, status: http.StatusBadRequest, field: "email"},
		"patch401":        {body: map[string]string{"name": "Nobody"}, status: http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(t, b.api, call{method: http.MethodPatch, path: httpapi.ProfilePath, as: tc.as, body: tc.body})
			code := oes.EINVALID
			if tc.status == http.StatusUnauthorized {
				code = oes.EUNAUTHORIZED
			}
			requireError(t, rec, tc.status, code, tc.field)
		})
	}

	t.Run("patch200", func(t *testing.T) {
		// Cache the profile on two replicas first: the write must reach both.
		other := b.replica(t)
		for _, api := range []http.Handler{b.api, other} {
			require.Equal(t, http.StatusOK, do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT}).Code)
		}
		rec := do(t, b.api, call{method: http.MethodPatch, path: httpapi.ProfilePath, as: b.studentJWT,
			body: map[string]string{"name": " Grace Hopper "}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "Grace Hopper", decode[oes.User](t, rec).Name)
		for _, api := range []http.Handler{b.api, other} {
			rec := do(t, api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT})
			require.Equal(t, "Grace Hopper", decode[oes.User](t, rec).Name)
		}
	})
}

func TestProfileIsServedFromTheCache(t *testing.T) {
	t.Parallel()
	b := setup(t)
	get := func() {
		rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, b.student.Email, decode[oes.User](t, rec).Email)
	}
	// The first read fills the entry; the second reads it from Redis into process memory.
	get()
	get()
	before := b.cache.Stats()[cache.KindUserProfile]
	get()
	after := b.cache.Stats()[cache.KindUserProfile]
	require.Greater(t, after.LocalHits, before.LocalHits)
	require.Equal(t, before.Misses, after.Misses)
	require.Equal(t, uint64(1), after.Misses)
}

func TestCachedProfileHoldsNoPersonalDataInClear(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := do(t, b.api, call{method: http.MethodGet, path: httpapi.ProfilePath, as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code)
	// A result and the exam list hold scores and answers.
	e := createGradedExam(t, b, "Sealed", 30)
	a := startAttempt(t, b, e.ID, b.studentJWT)
	rec = do(t, b.api, call{method: "PUT", path: attemptPath(a.ID, "answers"), as: b.studentJWT,
		body: answersBody(map[int64][]int64{e.single.ID: optionIDs(e.single, 0)})})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = do(t, b.api, call{method: "POST", path: attemptPath(a.ID, "submit"), as: b.studentJWT})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	for _, path := range []string{attemptPath(a.ID, "result"), "/api/v1/users/me/exams"} {
		for range 2 { // the second read comes from the cache
			rec = do(t, b.api, call{method: "GET", path: path, as: b.studentJWT})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
	}

	raw := redistest.Client(t, b.redisURL)
	ctx := context.Background()
	values := map[string]string{}
	var cursor uint64
	for {
		r, err := raw.Do(ctx, raw.B().Scan().Cursor(cursor).Match(b.ns+":*").Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		for _, k := range r.Elements {
			v, err := raw.Do(ctx, raw.B().Get().Key(k).Build()).ToString()
			if err == nil {
				values[k] = v
			}
		}
		if cursor = r.Cursor; cursor == 0 {
			break
		}
	}
	for _, kind := range []cache.Kind{cache.KindUserProfile, cache.KindExamResult, cache.KindUserExams} {
		found := false
		for k := range values {
			found = found || strings.Contains(k, ":"+kind.String()+":")
		}
		require.True(t, found, "a %s entry is cached: %v", kind, values)
	}
	for k, v := range values {
		for _, clear := range []string{b.student.Email, b.student.Name, "password", "$2a$", `"score"`, "chosen_option_ids"} {
			require.NotContains(t, v, clear, "key %s", k)
		}
	}
}
