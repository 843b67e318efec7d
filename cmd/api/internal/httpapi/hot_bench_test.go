package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkHotRead measures the router's own cost of a hot cached read, without the network:
// with the rate limits off and as shipped (on, the general ones decided in process).
func BenchmarkHotRead(b *testing.B) {
	for _, shipped := range []bool{false, true} {
		b.Run(map[bool]string{false: "limits_off", true: "shipped"}[shipped], func(b *testing.B) {
			bu := setup(b)
			if shipped {
				bu.limits = shippedLimits(b, bu.redisURL, 1<<30, 1<<30)
			}
			api := bu.newAPI(b, bu.pool, bu.cache, bu.queue)
			e := createExam(b, api, "Hot", true)
			createQuestion(b, api, e.ID, "Read often?")
			path := fmt.Sprintf("/api/v1/exams/%d/questions", e.ID)
			for range 3 {
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, httptest.NewRequestWithContext(b.Context(), http.MethodGet, path, nil))
				require.Equal(b, http.StatusOK, rec.Code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, path, nil)
				for pb.Next() {
					rec := httptest.NewRecorder()
					api.router.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatal(rec.Code)
					}
				}
			})
		})
	}
}
