package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sseEvent is one Server-Sent Event as a client parses it.
type sseEvent struct {
	ID    string
	Type  string
	Data  string
	Event struct {
		Seq     int64          `json:"seq"`
		Type    string         `json:"type"`
		At      time.Time      `json:"at"`
		Channel string         `json:"channel"`
		Actor   string         `json:"actor"`
		Data    map[string]any `json:"data"`
	}
}

// sseStream is an open GET /v1/orders/{id}/events/stream.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
}

// streamClient has no timeout: a stream lasts as long as the test wants it.
var streamClient = &http.Client{}

// openStream opens the order's event stream (query: "" or "?after=N"), as
// the checkout that placed it unless headers say otherwise, and parses it in
// the background.
func openStream(t *testing.T, id, query string, headers ...string) *sseStream {
	t.Helper()
	path := "/v1/orders/" + id + "/events/stream"
	req, err := http.NewRequest(http.MethodGet, baseURL+path+query, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+credentialFor(http.MethodGet, path, req.Header))
	}
	resp, err := streamClient.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("open stream: %d %s", resp.StatusCode, body)
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))

	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 100)}
	t.Cleanup(s.close)
	go s.read()
	return s
}

// read parses the stream (the subset of the SSE format the server writes)
// until the body is closed.
func (s *sseStream) read() {
	defer close(s.events)
	r := bufio.NewReader(s.resp.Body)
	var e sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.Data != "" {
				if json.Unmarshal([]byte(e.Data), &e.Event) != nil {
					e.Event.Seq = -1 // reported by next
				}
				s.events <- e
			}
			e = sseEvent{}
		case strings.HasPrefix(line, ":"): // a comment: keepalive
		case strings.HasPrefix(line, "id: "):
			e.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			e.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e.Data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// next is the stream's next event; it fails the test if none comes soon (well
// within the server's 15 s heartbeat: events must come from notifications).
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		require.True(s.t, ok, "the stream ended")
		require.NotEqual(s.t, int64(-1), e.Event.Seq, "data is not an event: %s", e.Data)
		return e
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10s")
		return sseEvent{}
	}
}

// until reads events up to and including seq.
func (s *sseStream) until(seq int64) []sseEvent {
	s.t.Helper()
	var out []sseEvent
	for {
		e := s.next()
		out = append(out, e)
		if e.Event.Seq >= seq {
			return out
		}
	}
}

// quiet checks that nothing more arrives for a while: no duplicates.
func (s *sseStream) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if ok {
			s.t.Fatalf("unexpected event after the last one: id %s %s", e.ID, e.Type)
		}
	case <-time.After(d):
	}
}

// close disconnects, as a client going away does.
func (s *sseStream) close() { s.resp.Body.Close() }

type timelineEvent struct {
	Seq     int64  `json:"seq"`
	Type    string `json:"type"`
	Channel string `json:"channel"`
	Actor   string `json:"actor"`
}

func (c *api) streamTimeline(id string) []timelineEvent {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil)
	require.Equal(c.t, http.StatusOK, r.Status, "events: %s", r.Body)
	var body struct {
		Events []timelineEvent `json:"events"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	return body.Events
}

// requireTimeline checks that got is the stretch of want from seq from on:
// contiguous, in order, no duplicates, same types, channel and actor.
func requireTimeline(t *testing.T, want []timelineEvent, from int64, got []sseEvent) {
	t.Helper()
	for i, e := range got {
		seq := from + int64(i)
		require.Equal(t, strconv.FormatInt(seq, 10), e.ID, "event %d of the stream: ids are contiguous seqs", i)
		require.Equal(t, seq, e.Event.Seq, "data.seq is the id")
		require.Equal(t, e.Type, e.Event.Type, "the SSE event name is the event type")
		require.LessOrEqual(t, seq, int64(len(want)), "seq %d (%s) is not on the timeline", seq, e.Type)
		w := want[seq-1]
		require.Equal(t, w.Type, e.Type, "seq %d", seq)
		require.Equal(t, w.Channel, e.Event.Channel, "seq %d", seq)
		require.Equal(t, w.Actor, e.Event.Actor, "seq %d", seq)
		require.NotEmpty(t, e.Event.Channel, "seq %d %s has a channel", seq, e.Type)
		require.NotEmpty(t, e.Event.Actor, "seq %d %s has an actor", seq, e.Type)
		require.False(t, e.Event.At.IsZero(), "seq %d has a time", seq)
		require.NotNil(t, e.Event.Data, "seq %d has data", seq)
	}
}

// TestStreamFollowsOrderAndResumes follows place → pick → collect on the
// stream, disconnecting half-way and resuming with Last-Event-ID.
func TestStreamFollowsOrderAndResumes(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody(unique("web"), store, line(sku, 2, 1250)))

	// Opened at once: the stream starts with what is there (placed) and
	// follows the workflow's reservation live.
	first := openStream(t, id, "")
	c.waitStatus(id, "awaiting_pick")
	k := int64(len(c.streamTimeline(id))) // placed, stock_reserved, pick_requested
	require.GreaterOrEqual(t, k, int64(3))
	before := first.until(k)
	require.Len(t, before, int(k), "no event twice, none skipped")

	// The client goes away; the order moves on meanwhile.
	first.close()
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}}, "Omni-Channel", "store_console", "Omni-Actor", "picker-7")
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	picked := int64(len(c.streamTimeline(id)))
	require.Greater(t, picked, k)

	// It comes back with the last id it saw (?after= is what a first
	// connection might carry: Last-Event-ID wins) and gets what it missed...
	second := openStream(t, id, "?after=1", "Last-Event-ID", strconv.FormatInt(k, 10))
	missed := second.until(picked)
	require.Len(t, missed, int(picked-k))

	// ...then what happens next, live.
	code := c.order(id).Pickup.Code
	require.NotEmpty(t, code)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{
		"pickup_code": code, "collected_by": map[string]any{"name": "Ada Lovelace", "relation": "customer"}},
		"Omni-Channel", "pos", "Omni-Actor", "till-3")
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	want := c.streamTimeline(id)
	n := int64(len(want))
	require.Greater(t, n, picked)
	after := second.until(n)
	second.quiet(500 * time.Millisecond)

	requireTimeline(t, want, 1, before)
	requireTimeline(t, want, k+1, append(missed, after...))
	types := make([]string, len(want))
	for i, e := range want {
		types[i] = e.Type
	}
	require.Equal(t, []string{"placed", "stock_reserved", "pick_requested", "picked", "ready_for_collection",
		"collected", "payment_captured"}, types)
	require.Equal(t, "store_console", want[k].Channel, "the pick's channel")
	require.Equal(t, "picker-7", want[k].Actor, "the pick's actor")

	// A client that has everything waits, and a ?after= of the last seq
	// gives nothing old.
	third := openStream(t, id, "?after="+strconv.FormatInt(n, 10))
	third.quiet(300 * time.Millisecond)
}

// TestStreamSurvivesListenerReconnect kills the database connection the
// notifications arrive on: the listener reconnects, wakes every stream, and
// the events committed meanwhile arrive without a gap.
func TestStreamSurvivesListenerReconnect(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody(unique("web"), store, line(sku, 1, 700)))
	s := openStream(t, id, "")
	c.waitStatus(id, "awaiting_pick")
	k := int64(len(c.streamTimeline(id)))
	before := s.until(k)

	var killed int
	require.NoError(t, omni.DB().Pool().QueryRow(context.Background(), `select count(pg_terminate_backend(pid))
		from pg_stat_activity where datname = current_database() and query = 'listen order_events'`).Scan(&killed))
	require.GreaterOrEqual(t, killed, 1, "a listening backend")

	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	want := c.streamTimeline(id)
	after := s.until(int64(len(want)))
	s.quiet(300 * time.Millisecond)
	requireTimeline(t, want, 1, append(before, after...))
}

// streamRefused opens a stream that must be refused, with a timeout so that a
// stream wrongly opened fails the test instead of hanging it.
func streamRefused(t *testing.T, id, query string, headers ...string) response {
	t.Helper()
	path := "/v1/orders/" + id + "/events/stream"
	req, err := http.NewRequest(http.MethodGet, baseURL+path+query, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+credentialFor(http.MethodGet, path, req.Header))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the stream was opened when it should have been refused")
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func TestStreamRefusals(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	require.Equal(t, "order_not_found", problem(t, streamRefused(t, unique("no-such-order"), ""), http.StatusNotFound))

	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 1, 700)))
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, "bad_last_event_id", problem(t, streamRefused(t, id, "", "Last-Event-ID", "seven"), http.StatusBadRequest))
	require.Equal(t, "bad_last_event_id", problem(t, streamRefused(t, id, "", "Last-Event-ID", "-1"), http.StatusBadRequest))
	require.Equal(t, "bad_query", problem(t, streamRefused(t, id, "?after=x"), http.StatusBadRequest))

	// The stream is as private as the timeline: another store's staff get the
	// same 404 from both, and no credential gets 401.
	other := "Bearer dev-store-002-key"
	require.Equal(t, "order_not_found", problem(t, c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil, "Authorization", other), http.StatusNotFound))
	require.Equal(t, "order_not_found", problem(t, streamRefused(t, id, "", "Authorization", other), http.StatusNotFound))
	require.Equal(t, http.StatusUnauthorized, streamRefused(t, id, "", "Authorization", "Bearer not-a-key").Status)
}
