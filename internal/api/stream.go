package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// DefaultMaxStreams bounds the event streams one process serves at once when
// Options.MaxStreams is not set. Each stream reads the database only when its
// order changes, but it holds a socket and a goroutine for as long as it is open.
const DefaultMaxStreams = 1000

// Stream clocks: a comment line keeps proxies and clients from timing an idle
// stream out; without a Listener the stream polls instead.
var (
	streamHeartbeat = 15 * time.Second
	streamPoll      = time.Second
)

// streams is the state the live timeline streams share.
type streams struct {
	events  *postgres.Listener // nil: poll
	max     int64
	open    atomic.Int64
	closing chan struct{}
	once    sync.Once
}

func (st *streams) init(events *postgres.Listener, max int) {
	if max <= 0 {
		max = DefaultMaxStreams
	}
	st.events, st.max, st.closing = events, int64(max), make(chan struct{})
}

// acquire counts a new stream in, or says there is no room for it.
func (st *streams) acquire() bool {
	if st.open.Add(1) > st.max {
		st.open.Add(-1)
		return false
	}
	return true
}

func (st *streams) release() { st.open.Add(-1) }

// CloseStreams ends every open event stream, at once and for good: the
// process is shutting down (http.Server.RegisterOnShutdown), and a stream
// would otherwise hold its connection open until the shutdown times out.
// Clients reconnect, to another instance, with Last-Event-ID.
func (s *Server) CloseStreams() { s.streams.once.Do(func() { close(s.streams.closing) }) }

// streamEvents serves GET /v1/orders/{id}/events/stream: the order's timeline
// as Server-Sent Events, from after Last-Event-ID (or ?after=, or the start),
// then every new event as it is committed, until the client goes away.
//
// Each event is written once, in seq order: the stream subscribes to the
// order's notifications before its first read and then reads only past the
// last seq it wrote, so a wake-up that comes early, late or twice costs one
// read and never a gap or a duplicate. (An order's events are committed in seq
// order: placement writes seq 1, then its workflow projects one batch at a time.)
func (s *Server) streamEvents(c echo.Context) error {
	last, err := resumePoint(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	// Access: the route's visibleOrder, as for getEvents (404 for an order the
	// caller may not know of); s.access repeats it at every heartbeat for as
	// long as the stream is open.
	if !s.streams.acquire() {
		return errTooManyStreams()
	}
	defer s.streams.release()

	ctx := c.Request().Context()
	var wake <-chan struct{}
	every := streamPoll
	if s.streams.events != nil {
		sub := s.streams.events.Subscribe(id) // before the first read: no lost wake-up
		defer sub.Close()
		wake, every = sub.C, streamHeartbeat
	}
	events, err := s.db.Events(ctx, id, last)
	if err != nil {
		return err
	}

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	res.WriteHeader(http.StatusOK)
	res.Flush()

	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, e := range events {
			if e.Seq <= last {
				continue
			}
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(res, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, data); err != nil {
				return nil // the client is gone
			}
			last = e.Seq
		}
		res.Flush()

		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.closing:
			return nil
		case <-wake:
		case <-tick.C:
			// Access may have ended (the order moved to another store, the
			// customer's token expired).
			if p := principal(c); !p.Expires.IsZero() && time.Now().After(p.Expires) {
				return nil
			}
			if _, err := s.access(c, id); err != nil {
				return nil
			}
			// Read again too: cheap, and a safety net under the notifications.
			if _, err := res.Write([]byte(": keepalive\n\n")); err != nil {
				return nil
			}
		}
		if events, err = s.db.Events(ctx, id, last); err != nil {
			if ctx.Err() == nil && s.log != nil {
				s.log.Warn("event stream: read events; closing the stream for the client to resume",
					"order_id", id, "after", last, "error", err)
			}
			return nil // the headers are sent: the client reconnects with Last-Event-ID
		}
	}
}

func errTooManyStreams() error {
	return order.Errorf(order.KindUnavailable, "too_many_streams",
		"this instance serves as many event streams as it can; retry shortly")
}

// resumePoint is the seq after which a stream starts: the Last-Event-ID a
// reconnecting client sends, else ?after=, else 0 (the whole timeline).
func resumePoint(c echo.Context) (int64, error) {
	if v := strings.TrimSpace(c.Request().Header.Get("Last-Event-ID")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, newBadRequest("bad_last_event_id", "Last-Event-ID must be the non-negative seq of an event")
		}
		return n, nil
	}
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, newBadRequest("bad_query", "after must be a non-negative integer",
				order.FieldError{Field: "after", Detail: "not a non-negative integer"})
		}
		return n, nil
	}
	return 0, nil
}
