package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
)

// contract is the API's OpenAPI document, loaded and validated once for every test.
var contract = sync.OnceValues(func() (*contractDoc, error) {
	// The docs page is the one HTML response; its body is checked as a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// kin-openapi checks no email format unless told to: its own pattern for it refuses what
	// has no @, no domain, spaces or angle brackets, as the server does (see TestDocumentedLimits).
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	doc, err := loadDocument(httpapi.OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contractDoc{doc: doc, router: r}, nil
})

type contractDoc struct {
	doc    *openapi3.T
	router routers.Router
}

func loadDocument(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
}

// checkContract fails the test when a response does not match the document: its status must
// be one the operation lists, and its body must match that status's schema. Requests are not
// checked, since many tests send invalid ones on purpose; requests to paths or methods the
// API does not serve have no operation to check against.
func checkContract(t testing.TB, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	c, err := contract()
	require.NoError(t, err, "openapi.yaml")
	route, params, err := c.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return
	}
	require.NoError(t, err)
	res := rec.Result()
	defer res.Body.Close()
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   res.Body,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	require.NoError(t, err, "%s %s answered %d, which openapi.yaml does not allow: %v\nbody: %.2000s",
		req.Method, req.URL.Path, rec.Code, err, rec.Body.String())
}

func TestEveryRouteIsDocumented(t *testing.T) {
	c, err := contract()
	require.NoError(t, err, "openapi.yaml")

	served := map[string]bool{}
	for _, r := range httpapi.NewRouter(httpapi.Deps{Log: discardLog()}).Routes() {
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}

	var missing, extra []string
	for op := range served {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !served[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "routes missing from openapi.yaml")
	require.Empty(t, extra, "operations in openapi.yaml that no route serves")
}

// openAPIPath writes a Gin path's parameters (:id, *rest) as OpenAPI's {id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestDocsPageRenders(t *testing.T) {
	h := httpapi.NewRouter(httpapi.Deps{Log: discardLog()})

	rec := do(t, h, call{method: http.MethodGet, path: "/docs"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	page := rec.Body.String()
	for _, want := range []string{"/api/v1/auth/login", "/api/v1/exams/{id}/questions", "/api/v1/attempts/{id}/submit",
		"Sign in and get an access token", "bearer token (admin)", "ExamInput"} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "http://", "the page must load nothing from elsewhere")
	require.NotContains(t, page, "https://", "the page must load nothing from elsewhere")

	rec = do(t, h, call{method: http.MethodGet, path: "/openapi.json"})
	require.Equal(t, http.StatusOK, rec.Code)
	doc, err := loadDocument(rec.Body.Bytes())
	require.NoError(t, err)
	require.NotNil(t, doc.Paths.Find("/api/v1/exams/{id}"))

	rec = do(t, h, call{method: http.MethodGet, path: "/openapi.yaml"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, httpapi.OpenAPIYAML, rec.Body.Bytes())
}
