package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

func TestResumePoint(t *testing.T) {
	for _, tc := range []struct {
		name, lastEventID, query string
		want                     int64
		problem                  string
	}{
		{name: "nothing: the whole timeline", want: 0},
		{name: "Last-Event-ID", lastEventID: "7", want: 7},
		{name: "Last-Event-ID with spaces", lastEventID: " 7 ", want: 7},
		{name: "after", query: "?after=4", want: 4},
		{name: "Last-Event-ID wins over after", lastEventID: "9", query: "?after=4", want: 9},
		{name: "Last-Event-ID not a number", lastEventID: "seven", problem: "bad_last_event_id"},
		{name: "Last-Event-ID negative", lastEventID: "-1", problem: "bad_last_event_id"},
		{name: "after not a number", query: "?after=x", problem: "bad_query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/orders/o-1/events/stream"+tc.query, nil)
			if tc.lastEventID != "" {
				req.Header.Set("Last-Event-ID", tc.lastEventID)
			}
			got, err := resumePoint(echo.New().NewContext(req, httptest.NewRecorder()))
			if tc.problem != "" {
				require.Error(t, err)
				p := problemFor(err)
				require.Equal(t, http.StatusBadRequest, p.Status)
				require.Equal(t, problemTypePrefix+tc.problem, p.Type)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestStreamsAreBounded(t *testing.T) {
	var st streams
	st.init(nil, 2)
	require.True(t, st.acquire())
	require.True(t, st.acquire())
	require.False(t, st.acquire(), "a third stream is refused")
	st.release()
	require.True(t, st.acquire(), "a slot freed is taken again")
	require.EqualValues(t, 2, st.open.Load())

	var d streams
	d.init(nil, 0)
	require.EqualValues(t, DefaultMaxStreams, d.max)
}

// TestStreamOverLimitIs503 checks the refusal a client sees over the limit:
// problem+json, 503 with Retry-After.
func TestStreamOverLimitIs503(t *testing.T) {
	s := New(Options{MaxStreams: 1, Logger: slog.New(slog.DiscardHandler)})
	s.streams.open.Store(1) // the one stream allowed is open
	require.False(t, s.streams.acquire())
	rec := httptest.NewRecorder()
	c := s.echo.NewContext(httptest.NewRequest(http.MethodGet, "/v1/orders/o-1/events/stream", nil), rec)
	s.errorHandler(errTooManyStreams(), c)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Equal(t, problemTypePrefix+"too_many_streams", p.Type)
}
