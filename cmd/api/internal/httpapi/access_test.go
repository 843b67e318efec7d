package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
)

// signed returns a JWT with the given claims, signed with key by method.
func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func TestAccessControl(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := createExam(t, b.api, "Algebra", true)
	createQuestion(t, b.api, e.ID, "1+1?")

	adminClaims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": "oes", "sub": strconv.FormatInt(b.admin.ID, 10), "role": oes.RoleAdmin, "exp": exp.Unix()}
	}
	future := time.Now().Add(time.Hour)
	tokens := map[string]string{
		"Expired":    signed(t, jwt.SigningMethodHS256, []byte(testSecret), adminClaims(time.Now().Add(-time.Minute))),
		"Forged":     signed(t, jwt.SigningMethodHS256, []byte(strings.Repeat("f", 32)), adminClaims(future)),
		"AlgNone":    signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, adminClaims(future)),
		"HS512":      signed(t, jwt.SigningMethodHS512, []byte(testSecret), adminClaims(future)),
		"NoExpiry":   signed(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"iss": "oes", "sub": "1", "role": "admin"}),
		"Garbage":    "not-a-jwt",
		"RoleForged": forgeRole(t, b.studentJWT),
	}

	writes := []call{
		{method: "POST", path: "/api/v1/exams", body: map[string]any{"title": "x", "duration_minutes": 5}},
		{method: "PATCH", path: fmt.Sprintf("/api/v1/exams/%d", e.ID), body: map[string]any{"title": "y"}},
		{method: "DELETE", path: fmt.Sprintf("/api/v1/exams/%d", e.ID)},
		{method: "DELETE", path: "/api/v1/admin/cache"},
		{method: "GET", path: "/api/v1/admin/queues/email"},
	}
	for _, w := range writes {
		name := w.method + strings.ReplaceAll(w.path, "/", "_")
		t.Run("student403"+name, func(t *testing.T) {
			w := w
			w.as = b.studentJWT
			requireError(t, do(t, b.api, w), http.StatusForbidden, oes.EFORBIDDEN, "")
		})
		for kind, tok := range tokens {
			t.Run(kind+"401"+name, func(t *testing.T) {
				w := w
				w.as = tok
				rec := do(t, b.api, w)
				requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
				require.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
			})
		}
	}
	t.Run("expired401SaysSo", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/cache", as: tokens["Expired"]})
		require.Contains(t, decode[errorResponse](t, rec).Error.Message, "expired")
	})
	t.Run("basicScheme401", func(t *testing.T) {
		rec := do(t, b.api, call{method: "DELETE", path: "/api/v1/admin/cache", header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}})
		requireError(t, rec, http.StatusUnauthorized, oes.EUNAUTHORIZED, "")
	})
	t.Run("questions200StudentSeesNoAnswerKey", func(t *testing.T) {
		for _, path := range []string{fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)} {
			rec := do(t, b.api, call{method: "GET", path: path, as: b.studentJWT})
			require.Equal(t, http.StatusOK, rec.Code)
			require.NotContains(t, rec.Body.String(), "is_correct")
		}
	})
	t.Run("questions200ExpiredTokenSeesNoAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID), as: tokens["Expired"]})
		require.Equal(t, http.StatusOK, rec.Code)
		require.NotContains(t, rec.Body.String(), "is_correct")
	})
	t.Run("questions200AdminSeesAnswerKey", func(t *testing.T) {
		rec := do(t, b.api, call{method: "GET", path: fmt.Sprintf("/api/v1/exams/%d/questions", e.ID), as: b.adminJWT})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Body.String(), "is_correct")
	})
}

// forgeRole rewrites the role in a genuine student token to admin, keeping its signature.
func forgeRole(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	claims, err := jwt.NewParser().DecodeSegment(parts[1])
	require.NoError(t, err)
	forged := strings.Replace(string(claims), `"role":"student"`, `"role":"admin"`, 1)
	require.NotEqual(t, string(claims), forged)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	return strings.Join(parts, ".")
}
