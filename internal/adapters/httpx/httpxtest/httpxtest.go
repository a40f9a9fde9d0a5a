// Package httpxtest is the retailer's system as the adapters' tests play it:
// an HTTP handler that records every request and answers as the test says.
package httpxtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Seen is one request the system received.
type Seen struct {
	Method, Path string
	RawQuery     string
	Query        url.Values
	Header       http.Header
	// Body is the request's JSON body (nil when it has none).
	Body map[string]any
}

// Server records requests and answers each with Answer (set it before the
// requests, or through Reset while they may run).
type Server struct {
	mu       sync.Mutex
	Requests []Seen
	Answer   func(w http.ResponseWriter, r *http.Request)
}

// ServeHTTP records the request, then answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &body)
	}
	s.mu.Lock()
	s.Requests = append(s.Requests, Seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	answer := s.Answer
	s.mu.Unlock()
	answer(w, r)
}

// Last is the latest request.
func (s *Server) Last(t *testing.T) Seen {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.Requests)
	return s.Requests[len(s.Requests)-1]
}

// All is every request so far, oldest first.
func (s *Server) All() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.Requests...)
}

// Reset forgets the requests and answers the next ones with answer.
func (s *Server) Reset(answer func(w http.ResponseWriter, r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests = nil
	s.Answer = answer
}

// Reply answers with status, a Content-Type (unless empty), body and the
// given header name/value pairs.
func Reply(status int, contentType, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}
