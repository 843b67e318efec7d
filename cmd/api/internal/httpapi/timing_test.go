package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
)

// Password reset and verification resend answer as fast for an address with an account as for
// one without, so that their timing does not tell which addresses have accounts. The requests
// alternate, so that what slows one kind slows the other.
func TestResetAndResendTimingSaysNothingOfTheAccount(t *testing.T) {
	b := setup(t)
	register(t, b, "unverified@example.org", "Unverified", "correct horse")
	const n = 30
	for _, tt := range []struct {
		path, known string
	}{
		{httpapi.ResetPath, b.student.Email},
		{httpapi.ResendPath, "unverified@example.org"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			ask := func(email string) time.Duration {
				start := time.Now()
				rec := do(t, b.api.router, call{method: http.MethodPost, path: tt.path, body: map[string]string{"email": email}})
				d := time.Since(start)
				require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
				return d
			}
			ask(tt.known) // warm up
			var known, unknown []time.Duration
			for range n {
				known = append(known, ask(tt.known))
				unknown = append(unknown, ask("nobody@example.org"))
			}
			mk, mu := median(known), median(unknown)
			t.Logf("%s: median of %d answers: %v with an account, %v without", tt.path, n, mk, mu)
			lo, hi := min(mk, mu), max(mk, mu)
			require.LessOrEqual(t, hi, 3*lo+2*time.Millisecond, "the answer's time tells whether the account exists")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
