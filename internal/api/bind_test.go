package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// The tests of this file and the fuzz targets drive each handler's first
// step — the Idempotency-Key, then bind (decode and validate) — with an echo
// context from httptest, and answer its error through the server's own error
// handler. Nothing behind it (PostgreSQL, Temporal) is needed: a request that
// passes this step is one the handler would go on to run.

// bareServer is a Server with nothing behind it: enough to answer errors.
func bareServer() *Server {
	return &Server{log: slog.New(slog.DiscardHandler)}
}

// request is one request to a handler's first step.
type request struct {
	method, target string
	contentType    string // "" sends no Content-Type
	body           []byte
	header         http.Header
}

// newRequestContext builds the echo context a handler gets for r.
func newRequestContext(r request) (echo.Context, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(r.method, r.target, bytes.NewReader(r.body))
	if r.body == nil {
		req = httptest.NewRequest(r.method, r.target, nil)
	}
	if r.contentType != "" {
		req.Header.Set(echo.HeaderContentType, r.contentType)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	return echo.New().NewContext(req, rec), rec
}

// answer writes err as the server answers it and returns the problem sent.
func answer(t testing.TB, c echo.Context, rec *httptest.ResponseRecorder, err error) Problem {
	t.Helper()
	bareServer().errorHandler(err, c)
	require.Equal(t, "application/problem+json", rec.Header().Get(echo.HeaderContentType), "answer to %v", err)
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), "the answer to %v is not a problem document: %s", err, rec.Body)
	require.Equal(t, rec.Code, p.Status, "the status line and the problem's status differ")
	return p
}

// maxProblemText bounds each text of a problem: a refusal says what is
// wrong without echoing at length what the client sent.
const maxProblemText = 500

// goErrorMarkers are what Go error strings and runtime failures look like:
// a client never sees one.
var goErrorMarkers = []string{"json: ", "Go struct", "Go value", "strconv.", "runtime error", "goroutine", "panic", "reflect:", "invalid memory"}

// requireClientProblem fails unless err, answered by the server, is a 4xx
// problem of Omni's own type with no Go error string in it.
func requireClientProblem(t testing.TB, c echo.Context, rec *httptest.ResponseRecorder, err error) Problem {
	t.Helper()
	p := answer(t, c, rec, err)
	require.True(t, p.Status >= 400 && p.Status < 500, "got %d %s (%s), want a 4xx: %v", p.Status, p.Type, p.Detail, err)
	require.True(t, strings.HasPrefix(p.Type, problemTypePrefix) && len(p.Type) > len(problemTypePrefix),
		"problem type %q is not one of Omni's", p.Type)
	require.NotEqual(t, problemTypePrefix+"internal", p.Type)
	require.NotEmpty(t, p.Detail, "a problem says what is wrong")
	texts := []string{p.Detail}
	require.LessOrEqual(t, len(p.Detail), maxProblemText, "the detail echoes what the client sent at length: %.200q…", p.Detail)
	for _, f := range p.Errors {
		require.NotEmpty(t, f.Field, "a field error names its field")
		require.LessOrEqual(t, len(f.Field), maxProblemText, "a field name echoes what the client sent at length: %.200q…", f.Field)
		require.LessOrEqual(t, len(f.Detail), maxProblemText, "a field detail echoes what the client sent at length: %.200q…", f.Detail)
		texts = append(texts, f.Field, f.Detail)
	}
	for _, text := range texts {
		for _, m := range goErrorMarkers {
			require.NotContains(t, text, m, "a Go error string reaches the client")
		}
	}
	return p
}

// fieldsOf lists the fields a problem names.
func fieldsOf(p Problem) []string {
	var fields []string
	for _, f := range p.Errors {
		fields = append(fields, f.Field)
	}
	return fields
}

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
