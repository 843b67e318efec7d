package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
)

// limitCase is one request at or just past a limit on input that openapi.yaml states.
type limitCase struct {
	name string
	call call
	// invalid: the server answers 400 and the document refuses the request. Otherwise both
	// accept it, and the server answers status.
	invalid bool
	status  int
}

// TestDocumentedLimits sends each request to the document (kin-openapi's request validation)
// and to the router: the document must refuse exactly the requests the server answers 400.
// Most limits are tried on both sides of the boundary.
func TestDocumentedLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exam := createExam(t, b.api, "Limits", true)
	question := createQuestion(t, b.api, exam.ID, "Which one?")
	patched := createExam(t, b.api, "Patched", false)
	att := startAttempt(t, b, exam.ID, b.studentJWT)

	const (
		registerPath = httpapi.RegisterPath
		users        = "/api/v1/admin/users"
		exams        = "/api/v1/exams"
		goodToken    = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // a token's shape, never issued
	)
	var (
		patchedPath   = fmt.Sprintf("/api/v1/exams/%d", patched.ID)
		questionsPath = fmt.Sprintf("/api/v1/exams/%d/questions", exam.ID)
		questionPath  = fmt.Sprintf("/api/v1/questions/%d", question.ID)
		candidates    = candidatesPath(exam.ID)
		announce      = fmt.Sprintf("/api/v1/admin/exams/%d/announcements", exam.ID)
		rolePath      = fmt.Sprintf("/api/v1/admin/users/%d", b.student.ID)
		answersPath   = attemptPath(att.ID, "answers")
	)
	rep := strings.Repeat
	person := func(email, name, password string) map[string]string {
		return map[string]string{"email": email, "name": name, "password": password}
	}
	post := func(path string, body any) call { return call{method: http.MethodPost, path: path, body: body} }
	admin := func(method, path string, body any) call {
		return call{method: method, path: path, body: body, admin: true}
	}
	question2 := func(fields map[string]any) map[string]any {
		q := map[string]any{"text": "Pick one", "options": []map[string]any{{"text": "a", "is_correct": true}, {"text": "b"}}}
		for k, v := range fields {
			q[k] = v
		}
		return q
	}
	options := func(n int) []map[string]any {
		os := make([]map[string]any, n)
		for i := range os {
			os[i] = map[string]any{"text": "option " + strconv.Itoa(i), "is_correct": i == 0}
		}
		return os
	}
	email254 := rep("a", 254-len("@example.org")) + "@example.org"

	cases := []limitCase{
		// Registration: email, name and password.
		{name: "registerAtEveryLimit", call: post(registerPath, person(email254, rep("é", 100), rep("p", 72))), status: http.StatusCreated},
		{name: "registerPasswordOf8", call: post(registerPath, person("eight@example.org", "Eight", "12345678")), status: http.StatusCreated},
		{name: "registerNameOf101", call: post(registerPath, person("n@example.org", rep("é", 101), "a-long-password")), invalid: true},
		{name: "registerBlankName", call: post(registerPath, person("n@example.org", "   ", "a-long-password")), invalid: true},
		{name: "registerNameWithControlCharacter", call: post(registerPath, person("n@example.org", "Ann\u0007", "a-long-password")), invalid: true},
		{name: "registerBadEmail", call: post(registerPath, person("not-an-email", "Ann", "a-long-password")), invalid: true},
		{name: "registerEmailWithoutDomain", call: post(registerPath, person("ann@", "Ann", "a-long-password")), invalid: true},
		{name: "registerEmailWithDisplayName", call: post(registerPath, person("Ann <ann@example.org>", "Ann", "a-long-password")), invalid: true},
		{name: "registerEmailOf255Bytes", call: post(registerPath, person("a"+email254, "Ann", "a-long-password")), invalid: true},
		{name: "registerPasswordOf73Bytes", call: post(registerPath, person("p@example.org", "Ann", rep("p", 73))), invalid: true},
		{name: "registerPasswordOf7", call: post(registerPath, person("p@example.org", "Ann", "1234567")), invalid: true},
		{name: "registerUnknownField", call: post(registerPath, map[string]string{"email": "r@example.org", "name": "R", "password": "a-long-password", "role": "admin"}), invalid: true},
		{name: "resendBadEmail", call: post(httpapi.ResendPath, map[string]string{"email": "nobody"}), invalid: true},
		{name: "resendGoodEmail", call: post(httpapi.ResendPath, map[string]string{"email": "nobody@example.org"}), status: http.StatusAccepted},

		// Sign-in refuses blank fields only; a password no account can have is a wrong one.
		{name: "loginBlankEmail", call: post(httpapi.LoginPath, map[string]string{"email": "  ", "password": "whatever"}), invalid: true},
		{name: "loginEmptyPassword", call: post(httpapi.LoginPath, map[string]string{"email": "student@example.org", "password": ""}), invalid: true},
		{name: "loginPasswordOf73Bytes", call: post(httpapi.LoginPath, map[string]string{"email": "student@example.org", "password": rep("p", 73)}), status: http.StatusUnauthorized},

		// Emailed tokens: 43 characters of base64url.
		{name: "verifyWithoutToken", call: call{method: http.MethodGet, path: httpapi.VerifyPath}, invalid: true},
		{name: "verifyMalformedToken", call: call{method: http.MethodGet, path: httpapi.VerifyPath + "?token=abc"}, invalid: true},
		{name: "resetConfirmMalformedToken", call: post(httpapi.ResetConfirmPath, map[string]string{"token": goodToken + "A", "password": "a-long-password"}), invalid: true},
		{name: "verifyPageEmptyToken", call: call{method: http.MethodGet, path: httpapi.VerifyPagePath + "?token="}, status: http.StatusOK},
		{name: "verifyPageMalformedToken", call: call{method: http.MethodGet, path: httpapi.VerifyPagePath + "?token=abc"}, invalid: true},
		{name: "resetPageShortPassword", call: call{method: http.MethodPost, path: httpapi.ResetPagePath,
			body:   url.Values{"token": {goodToken}, "password": {"short"}}.Encode(),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, invalid: true},

		// Profile.
		{name: "profileNameOf100", call: call{method: http.MethodPatch, path: httpapi.ProfilePath, as: b.studentJWT, body: map[string]string{"name": rep("n", 100)}}, status: http.StatusOK},
		{name: "profileNameOf101", call: call{method: http.MethodPatch, path: httpapi.ProfilePath, as: b.studentJWT, body: map[string]string{"name": rep("n", 101)}}, invalid: true},

		// Exams: required fields on create, lengths, ranges, times and the policy's enums.
		{name: "examAtEveryLimit", call: admin(http.MethodPost, exams, map[string]any{"title": rep("t", 200), "description": rep("d", 10000),
			"duration_minutes": 1440, "max_attempts": 100, "key_release": "never", "question_visibility": "public"}), status: http.StatusCreated},
		{name: "examWithoutDuration", call: admin(http.MethodPost, exams, map[string]any{"title": "No duration"}), invalid: true},
		{name: "examDuration0", call: admin(http.MethodPost, exams, map[string]any{"title": "Zero", "duration_minutes": 0}), invalid: true},
		{name: "examDuration1441", call: admin(http.MethodPost, exams, map[string]any{"title": "Long", "duration_minutes": 1441}), invalid: true},
		{name: "examDurationOverInt32", call: admin(http.MethodPost, exams, map[string]any{"title": "Long", "duration_minutes": int64(1) << 31}), invalid: true},
		{name: "examTitleOf201", call: admin(http.MethodPost, exams, map[string]any{"title": rep("t", 201), "duration_minutes": 5}), invalid: true},
		{name: "examBlankTitle", call: admin(http.MethodPost, exams, map[string]any{"title": " \t ", "duration_minutes": 5}), invalid: true},
		{name: "examDescriptionOf10001", call: admin(http.MethodPatch, patchedPath, map[string]any{"description": rep("d", 10001)}), invalid: true},
		{name: "examPatchNothing", call: admin(http.MethodPatch, patchedPath, map[string]any{}), invalid: true},
		{name: "examPatchClearOpensAt", call: admin(http.MethodPatch, patchedPath, map[string]any{"opens_at": nil}), status: http.StatusOK},
		{name: "examOpensAtNotATime", call: admin(http.MethodPatch, patchedPath, map[string]any{"opens_at": "tomorrow"}), invalid: true},
		{name: "examMaxAttempts0", call: admin(http.MethodPatch, patchedPath, map[string]any{"max_attempts": 0}), invalid: true},
		{name: "examMaxAttempts101", call: admin(http.MethodPatch, patchedPath, map[string]any{"max_attempts": 101}), invalid: true},
		{name: "examUnknownKeyRelease", call: admin(http.MethodPatch, patchedPath, map[string]any{"key_release": "sometimes"}), invalid: true},
		{name: "examUnknownQuestionVisibility", call: admin(http.MethodPatch, patchedPath, map[string]any{"question_visibility": "private"}), invalid: true},
		{name: "examUnknownField", call: admin(http.MethodPatch, patchedPath, map[string]any{"duration": 5}), invalid: true},

		// Questions and their options.
		{name: "questionAtEveryLimit", call: admin(http.MethodPost, questionsPath, map[string]any{"position": 7, "text": rep("q", 4000), "points": 1000,
			"options": append(options(9), map[string]any{"text": rep("o", 1000)})}), status: http.StatusCreated},
		{name: "questionPoints0", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"points": 0})), status: http.StatusCreated},
		{name: "questionPointsNegative", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"points": -1})), invalid: true},
		{name: "questionPoints1001", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"points": 1001})), invalid: true},
		{name: "questionPosition0", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"position": 0})), invalid: true},
		{name: "questionTextOf4001", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"text": rep("q", 4001)})), invalid: true},
		{name: "questionOneOption", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"options": options(1)})), invalid: true},
		{name: "questionElevenOptions", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"options": options(11)})), invalid: true},
		{name: "questionOptionOf1001", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"options": []map[string]any{
			{"text": "a", "is_correct": true}, {"text": rep("o", 1001)}}})), invalid: true},
		{name: "questionBlankOption", call: admin(http.MethodPost, questionsPath, question2(map[string]any{"options": []map[string]any{
			{"text": "a", "is_correct": true}, {"text": "  "}}})), invalid: true},
		{name: "questionWithoutOptions", call: admin(http.MethodPost, questionsPath, map[string]any{"text": "No options"}), invalid: true},
		{name: "questionPatchNothing", call: admin(http.MethodPatch, questionPath, map[string]any{}), invalid: true},
		{name: "questionPatchPoints", call: admin(http.MethodPatch, questionPath, map[string]any{"points": 3}), status: http.StatusOK},

		// Paging.
		{name: "pageSize100", call: admin(http.MethodGet, users+"?size=100&page=1", nil), status: http.StatusOK},
		{name: "pageSize0", call: admin(http.MethodGet, users+"?size=0", nil), invalid: true},
		{name: "pageSize101", call: admin(http.MethodGet, users+"?size=101", nil), invalid: true},
		{name: "page0", call: admin(http.MethodGet, users+"?page=0", nil), invalid: true},
		{name: "pageNotANumber", call: admin(http.MethodGet, candidates+"?page=two", nil), invalid: true},
		{name: "pageFarAway", call: admin(http.MethodGet, candidates+"?page=9223372036854775807", nil), status: http.StatusOK},
		{name: "usersEmailOf254", call: admin(http.MethodGet, users+"?email="+rep("e", 254), nil), status: http.StatusOK},
		{name: "usersEmailOf255", call: admin(http.MethodGet, users+"?email="+rep("e", 255), nil), invalid: true},

		// Ids in paths: positive int64.
		{name: "idUnknown", call: call{method: http.MethodGet, path: "/api/v1/exams/9223372036854775807"}, status: http.StatusNotFound},
		{name: "id0", call: call{method: http.MethodGet, path: "/api/v1/exams/0"}, invalid: true},
		{name: "idNegative", call: call{method: http.MethodGet, path: "/api/v1/exams/-1"}, invalid: true},
		{name: "idNotANumber", call: call{method: http.MethodGet, path: "/api/v1/questions/abc"}, invalid: true},
		{name: "idOverInt64", call: call{method: http.MethodGet, path: "/api/v1/exams/9223372036854775808"}, invalid: true},
		{name: "candidateUserID0", call: admin(http.MethodDelete, candidates+"/0", nil), invalid: true},

		// Roles, candidates, announcements and answers.
		{name: "roleStudent", call: admin(http.MethodPatch, rolePath, map[string]string{"role": "student"}), status: http.StatusOK},
		{name: "roleUnknown", call: admin(http.MethodPatch, rolePath, map[string]string{"role": "owner"}), invalid: true},
		{name: "candidatesNone", call: admin(http.MethodPost, candidates, map[string]any{}), invalid: true},
		{name: "candidatesNotAnAddress", call: admin(http.MethodPost, candidates, map[string]any{"emails": []string{"nobody"}}), invalid: true},
		{name: "candidatesUnknownAddress", call: admin(http.MethodPost, candidates, map[string]any{"emails": []string{"nobody@example.org"}}), status: http.StatusOK},
		{name: "announcementAtEveryLimit", call: admin(http.MethodPost, announce, map[string]string{"subject": rep("s", 200), "text": rep("x", 20000)}), status: http.StatusAccepted},
		{name: "announcementSubjectOf201", call: admin(http.MethodPost, announce, map[string]string{"subject": rep("s", 201), "text": "Hello"}), invalid: true},
		{name: "announcementSubjectOfTwoLines", call: admin(http.MethodPost, announce, map[string]string{"subject": "Room\nchange", "text": "Hello"}), invalid: true},
		{name: "announcementBlankText", call: admin(http.MethodPost, announce, map[string]string{"subject": "Room", "text": " \n "}), invalid: true},
		{name: "announcementTextOf20001", call: admin(http.MethodPost, announce, map[string]string{"subject": "Room", "text": rep("x", 20001)}), invalid: true},
		{name: "answersMissing", call: call{method: http.MethodPut, path: answersPath, as: b.studentJWT, body: map[string]any{}}, invalid: true},
		{name: "answersNotAnObject", call: call{method: http.MethodPut, path: answersPath, as: b.studentJWT, body: map[string]any{"answers": []int{1}}}, invalid: true},
		{name: "answersSaved", call: call{method: http.MethodPut, path: answersPath, as: b.studentJWT,
			body: answersBody(map[int64][]int64{question.ID: optionIDs(question, 0)})}, status: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docErr := validateRequest(t, b.api, tc.call)
			rec := do(t, b.api, tc.call)
			if tc.invalid {
				require.Equal(t, http.StatusBadRequest, rec.Code, "the server accepts it: %s", rec.Body.String())
				require.Error(t, docErr, "openapi.yaml allows what the server answers 400: %s", rec.Body.String())
				return
			}
			require.Equal(t, tc.status, rec.Code, "body: %s", rec.Body.String())
			require.NoError(t, docErr, "openapi.yaml refuses what the server accepts")
		})
	}
}

// validateRequest checks the request c stands for against openapi.yaml, as do would send it
// to h, with any credentials taken as valid: nil when the document allows it.
func validateRequest(t *testing.T, h testAPI, c call) error {
	t.Helper()
	req := c.request(t, h)

	doc, err := contract()
	require.NoError(t, err, "openapi.yaml")
	route, params, err := doc.router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in openapi.yaml", c.method, c.path)
	return openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	})
}
