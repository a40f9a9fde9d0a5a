package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

// The customer in the read model (issue 14): the contact centre's view of a
// customer across every channel (support), and the orders a checkout or app
// placed for a customer it serves (checkout).

// Limits of the customer routes.
const (
	// MaxSearchLength bounds q of GET /v1/customers.
	MaxSearchLength = 200
	// MaxSummaryLength and MaxOutcomeLength bound an interaction's texts.
	MaxSummaryLength = 2000
	MaxOutcomeLength = 200
	// MaxCursorLength bounds a timeline cursor.
	MaxCursorLength = 400
	// customerSearchLimit is how many customers a search answers at most.
	customerSearchLimit = 50
	// customerOrdersLimit and customerInteractionsLimit bound the customer view.
	customerOrdersLimit       = 500
	customerInteractionsLimit = 200
	// Timeline pages.
	defaultTimelineLimit = 50
	maxTimelineLimit     = 200
	// timelineGrace is how far back a live timeline reads again on each
	// wake-up: an entry can be committed a little after the time it carries
	// (a workflow's event is projected after it happened).
	timelineGrace = 5 * time.Minute
)

// Interaction channels: how the customer got in touch.
var interactionChannels = []string{"phone", "chat", "email", "social", "store"}

// searchPhone is a phone typed any way, in E.164: what order.NormalPhone
// accepts, and an international prefix "00" for "+".
func searchPhone(typed string) (string, bool) {
	p := strings.TrimSpace(typed)
	if rest, ok := strings.CutPrefix(p, "00"); ok {
		p = "+" + rest
	}
	return order.NormalPhone(p)
}

// searchCustomers serves GET /v1/customers?email=…|phone=…|q=….
func (s *Server) searchCustomers(c echo.Context) error {
	email, phone, q := strings.TrimSpace(c.QueryParam("email")), strings.TrimSpace(c.QueryParam("phone")),
		strings.TrimSpace(c.QueryParam("q"))
	var f fieldErrors
	f.text("email", email, false, order.MaxEmailLength)
	f.text("phone", phone, false, order.MaxPhoneLength)
	f.text("q", q, false, MaxSearchLength)
	query := postgres.CustomerQuery{Email: email, Q: q}
	if phone != "" && len(f) == 0 {
		normal, ok := searchPhone(phone)
		if !ok {
			f.add("phone", order.PhoneDetail)
		}
		query.Phone = normal
	}
	if email == "" && phone == "" && q == "" {
		f.add("q", "give email, phone or q")
	}
	if len(f) > 0 {
		return newBadRequest("bad_query", "the search is not valid", f...)
	}
	if normal, ok := searchPhone(q); ok {
		query.QPhone = normal
	}
	found, err := s.db.SearchCustomers(c.Request().Context(), query, customerSearchLimit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"customers": found})
}

// customerView is GET /v1/customers/{customer_id}.
type customerView struct {
	Customer     postgres.Customer        `json:"customer"`
	Orders       []postgres.CustomerOrder `json:"orders"`
	Interactions []postgres.Interaction   `json:"interactions"`
}

// getCustomer serves GET /v1/customers/{customer_id}: the customer, every
// order with its status, store and pickup window, and the interactions.
func (s *Server) getCustomer(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("customer_id")
	cust, err := s.db.Customer(ctx, id)
	if err != nil {
		return err
	}
	orders, err := s.db.CustomerOrders(ctx, id, "", customerOrdersLimit)
	if err != nil {
		return err
	}
	interactions, err := s.db.CustomerInteractions(ctx, id, customerInteractionsLimit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, customerView{Customer: cust, Orders: orders, Interactions: interactions})
}

// customerOrders serves GET /v1/customers/{customer_id}/orders: support sees
// every order; a checkout only the orders it placed, and a customer it
// placed none for does not exist for it (404).
func (s *Server) customerOrders(c echo.Context) error {
	ctx, id, p := c.Request().Context(), c.Param("customer_id"), principal(c)
	placedBy := ""
	if p.Role != auth.RoleSupport {
		placedBy = p.Name
	}
	orders, err := s.db.CustomerOrders(ctx, id, placedBy, customerOrdersLimit)
	if err != nil {
		return err
	}
	if len(orders) == 0 {
		if _, err := s.db.Customer(ctx, id); err != nil || placedBy != "" {
			return order.Errorf(order.KindNotFound, "customer_not_found", "no customer %q", id)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"customer_id": id, "orders": orders})
}

// timelinePage is GET /v1/customers/{customer_id}/timeline.
type timelinePage struct {
	Entries []postgres.TimelineEntry `json:"entries"`
	// Next is the cursor of the next (older) page; absent on the last page.
	Next string `json:"next,omitempty"`
}

// customerTimeline serves GET /v1/customers/{customer_id}/timeline?before=&limit=:
// newest first, a page at a time.
func (s *Server) customerTimeline(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("customer_id")
	limit, err := queryLimit(c, defaultTimelineLimit, maxTimelineLimit)
	if err != nil {
		return err
	}
	var before *postgres.Cursor
	if v := c.QueryParam("before"); v != "" {
		cur, err := parseCursor(v, "before")
		if err != nil {
			return err
		}
		before = &cur
	}
	if _, err := s.db.Customer(ctx, id); err != nil {
		return err
	}
	entries, next, err := s.db.CustomerTimeline(ctx, id, before, limit)
	if err != nil {
		return err
	}
	page := timelinePage{Entries: entries}
	if next != nil {
		page.Next = next.String()
	}
	return c.JSON(http.StatusOK, page)
}

func queryLimit(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, newBadRequest("bad_query", fmt.Sprintf("limit must be an integer from 1 to %d", max),
			order.FieldError{Field: "limit", Detail: fmt.Sprintf("not an integer from 1 to %d", max)})
	}
	return n, nil
}

func parseCursor(v, field string) (postgres.Cursor, error) {
	if len(v) > MaxCursorLength {
		return postgres.Cursor{}, newBadRequest("bad_cursor", field+" is not a timeline cursor",
			order.FieldError{Field: field, Detail: "too long"})
	}
	cur, err := postgres.ParseCursor(v)
	if err != nil {
		return postgres.Cursor{}, newBadRequest("bad_cursor", field+" is not a timeline cursor",
			order.FieldError{Field: field, Detail: "use the next or id of an earlier answer"})
	}
	return cur, nil
}

// streamCustomerTimeline serves GET /v1/customers/{customer_id}/timeline/stream:
// the customer's timeline as Server-Sent Events, oldest first: the latest
// entries (?limit=, default 50) or those after Last-Event-ID (or ?after=),
// then every new entry as it is committed, until the client goes away. Each
// message's id is the entry's cursor.
//
// It is woken like the order stream (stream.go): the transactions that
// place or project an order of the customer's, or log an interaction,
// notify postgres.CustomerNotifyPrefix + the customer's id. Entries can be
// committed a little after the time they carry, so each read goes back
// timelineGrace behind the newest entry sent and skips those already sent.
// Notifications sent to the customer do not wake it: they show at the next
// heartbeat read.
func (s *Server) streamCustomerTimeline(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("customer_id")
	var resume *postgres.Cursor
	if v := strings.TrimSpace(c.Request().Header.Get("Last-Event-ID")); v != "" {
		cur, err := parseCursor(v, "Last-Event-ID")
		if err != nil {
			return err
		}
		resume = &cur
	} else if v := c.QueryParam("after"); v != "" {
		cur, err := parseCursor(v, "after")
		if err != nil {
			return err
		}
		resume = &cur
	}
	limit, err := queryLimit(c, defaultTimelineLimit, maxTimelineLimit)
	if err != nil {
		return err
	}
	if _, err := s.db.Customer(ctx, id); err != nil {
		return err
	}
	if !s.streams.acquire() {
		return errTooManyStreams()
	}
	defer s.streams.release()

	var wake <-chan struct{}
	every := streamPoll
	if s.streams.events != nil {
		sub := s.streams.events.Subscribe(postgres.CustomerNotifyPrefix + id) // before the first read
		defer sub.Close()
		wake, every = sub.C, streamHeartbeat
	}
	var first []postgres.TimelineEntry
	if resume != nil {
		first, err = s.db.CustomerTimelineSince(ctx, id, *resume, maxTimelineLimit)
	} else {
		first, _, err = s.db.CustomerTimeline(ctx, id, nil, limit)
		for i, j := 0, len(first)-1; i < j; i, j = i+1, j-1 {
			first[i], first[j] = first[j], first[i] // oldest first
		}
	}
	if err != nil {
		return err
	}

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)
	res.Flush()

	seen := map[string]time.Time{}
	var newest time.Time
	if resume != nil {
		newest = resume.At
	}
	entries := first
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, e := range entries {
			if _, dup := seen[e.ID]; dup || (resume != nil && !after(e.Cursor(), *resume)) {
				continue
			}
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(res, "id: %s\nevent: %s\ndata: %s\n\n", e.Cursor().String(), e.Kind, data); err != nil {
				return nil // the client is gone
			}
			seen[e.ID] = e.At
			if e.At.After(newest) {
				newest = e.At
			}
		}
		res.Flush()
		low := time.Unix(0, 0)
		if !newest.IsZero() {
			low = newest.Add(-timelineGrace)
		}
		for k, at := range seen {
			if at.Before(low) {
				delete(seen, k)
			}
		}

		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.closing:
			return nil
		case <-wake:
		case <-tick.C:
			if p := principal(c); !p.Expires.IsZero() && time.Now().After(p.Expires) {
				return nil
			}
			if _, err := res.Write([]byte(": keepalive\n\n")); err != nil {
				return nil
			}
		}
		if entries, err = s.db.CustomerTimelineSince(ctx, id, postgres.Cursor{At: low}, 1000); err != nil {
			if ctx.Err() == nil && s.log != nil {
				s.log.Warn("customer timeline stream: read; closing the stream for the client to resume",
					"customer_id", id, "error", err)
			}
			return nil
		}
	}
}

// after reports whether a comes after b in the timeline's order.
func after(a, b postgres.Cursor) bool {
	return a.At.After(b.At) || (a.At.Equal(b.At) && a.ID > b.ID)
}

// interactionBody is POST /v1/customers/{customer_id}/interactions.
type interactionBody struct {
	Channel string `json:"channel"`
	Summary string `json:"summary"`
	OrderID string `json:"order_id,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

func (b *interactionBody) Validate() error {
	var f fieldErrors
	b.Summary, b.Outcome, b.OrderID = strings.TrimSpace(b.Summary), strings.TrimSpace(b.Outcome), strings.TrimSpace(b.OrderID)
	if !containsString(interactionChannels, b.Channel) {
		f.add("channel", "must be one of %s", strings.Join(interactionChannels, ", "))
	}
	f.text("summary", b.Summary, true, MaxSummaryLength)
	f.text("outcome", b.Outcome, false, MaxOutcomeLength)
	f.text("order_id", b.OrderID, false, order.MaxIDLength)
	return validation("the interaction is not valid", f)
}

func containsString(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// addInteraction serves POST /v1/customers/{customer_id}/interactions: a
// call, chat, email, social message or store visit logged against the
// customer, by the caller (actorFor), once per Idempotency-Key. One about an
// order is signalled to the order's workflow, which puts it on the order's
// timeline (customer_contacted); an order whose workflow has ended keeps the
// interaction on the customer's timeline only.
func (s *Server) addInteraction(c echo.Context) error {
	var body interactionBody
	id, p := c.Param("customer_id"), principal(c)
	ctx := c.Request().Context()
	return s.mutate(c, mutation{action: "customer_interaction", orderID: postgres.CustomerNotifyPrefix + id, body: &body,
		read: func() error {
			if err := bind(c, &body); err != nil {
				return err
			}
			_, err := s.db.Customer(ctx, id)
			return err
		},
		run: func(updateID string) (int, any, error) {
			actor := actorFor(c, p)
			in, err := s.db.AddInteraction(ctx, postgres.Interaction{ID: "ci-" + strings.TrimPrefix(updateID, "req-"),
				CustomerID: id, OrderID: body.OrderID, Channel: body.Channel, Summary: body.Summary, Outcome: body.Outcome,
				Actor: actor.Actor, ActorChannel: actor.Channel})
			if err != nil {
				return 0, nil, err
			}
			if in.OrderID != "" {
				s.signalContacted(c, in, actor)
			}
			return http.StatusCreated, in, nil
		},
	})
}

// signalContacted tells the order's workflow of the interaction. The
// interaction is stored whatever happens: a workflow that has ended (a closed
// order) cannot be told, and an outage is logged.
func (s *Server) signalContacted(c echo.Context, in postgres.Interaction, actor workflows.Actor) {
	if s.temporal == nil {
		return
	}
	err := s.temporal.SignalWorkflow(c.Request().Context(), workflows.WorkflowID(in.OrderID), "",
		workflows.SignalCustomerContacted, workflows.CustomerContacted{Actor: actor, InteractionID: in.ID,
			ContactChannel: in.Channel, Summary: in.Summary, Outcome: in.Outcome})
	if err == nil || s.log == nil {
		return
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		s.log.Info("interaction about an order whose workflow has ended: on the customer's timeline only",
			"order_id", in.OrderID, "interaction_id", in.ID)
		return
	}
	s.log.Warn("signal an interaction to the order's workflow", "order_id", in.OrderID,
		"interaction_id", in.ID, "error", err)
}
