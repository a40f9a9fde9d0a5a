package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/console"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

// The routes behind the store console (/console/) and the customer's order
// page (/o/{token}): the pages themselves, which are public HTML whose data
// calls carry the credential, and the few reads they need that the rest of
// the API does not give.
func (s *Server) consoleRoutes(e *echo.Echo, v1, stores *echo.Group) {
	pages := echo.WrapHandler(console.Handler())
	e.GET("/console", pages)
	e.GET("/console/*", pages)
	e.GET("/support", pages)
	e.GET("/support/*", pages)
	e.GET("/o/:token", pages)

	v1.GET("/me", s.me, allow(auth.RoleCheckout, auth.RoleStore, auth.RoleSupport, auth.RoleCustomer, auth.RoleAdmin))
	v1.GET("/customer/order", s.customerOrder, allow(auth.RoleCustomer))
	staff := allow(auth.RoleStore)
	stores.GET("/events/stream", s.streamStore, staff)
	stores.GET("/orders/by-number/:number", s.storeOrderByNumber, staff)
}

// storeStreamPoll is how often a store's live queue reads the store's open
// orders; the stream sends a new snapshot only when something changed.
var storeStreamPoll = time.Second

// storeQueueLimit bounds the orders of one live queue snapshot.
const storeQueueLimit = 500

// meBody says who a credential is.
type meBody struct {
	Role   auth.Role        `json:"role"`
	Name   string           `json:"name"`
	Stores []postgres.Store `json:"stores,omitempty"`
	// AllStores names every store, for store staff to see where an order
	// went and for the contact centre to see where a customer's orders are.
	AllStores []postgres.Store `json:"all_stores,omitempty"`
	// OrderID is the order a customer token opens.
	OrderID string `json:"order_id,omitempty"`
}

// me serves GET /v1/me: the caller's role, name and stores, so that a console
// signed in with a key knows which stores it may work for.
func (s *Server) me(c echo.Context) error {
	p := principal(c)
	body := meBody{Role: p.Role, Name: p.Name, OrderID: p.OrderID}
	if len(p.Stores) > 0 {
		known, err := s.db.StoreNames(c.Request().Context(), p.Stores)
		if err != nil {
			return err
		}
		body.Stores = known
	}
	if len(p.Stores) > 0 || p.Role == auth.RoleSupport {
		// Store staff see where an order went; the contact centre, where the customer's orders are.
		var err error
		if body.AllStores, err = s.db.AllStores(c.Request().Context()); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, body)
}

// customerOrder serves GET /v1/customer/order: the order a customer token
// opens, with its pickup code and the store where it is to be collected. The
// customer's page reads it without having to know the order's id.
func (s *Server) customerOrder(c echo.Context) error {
	ctx := c.Request().Context()
	id := principal(c).OrderID
	o, err := s.db.Order(ctx, id)
	if err != nil {
		return err
	}
	store := postgres.Store{ID: o.Fulfilment.StoreID}
	if known, err := s.db.StoreNames(ctx, []string{store.ID}); err != nil {
		return err
	} else if len(known) == 1 {
		store = known[0]
	}
	others, err := s.otherOpenOrders(c, o.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"order": o, "store": store, "other_orders": others})
}

// otherOrder is another open order of the same customer, as the customer's
// page links to it: a fresh customer token for it in the link.
type otherOrder struct {
	Number    string       `json:"number"`
	Status    order.Status `json:"status"`
	StoreID   string       `json:"store_id,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Link      string       `json:"link"`
}

// otherOpenOrders lists the open orders of the customer who holds the token
// of orderID, but that one, newest first.
func (s *Server) otherOpenOrders(c echo.Context, orderID string) ([]otherOrder, error) {
	ctx := c.Request().Context()
	customerID, err := s.db.OrderCustomer(ctx, orderID)
	if err != nil || customerID == "" {
		return []otherOrder{}, err
	}
	orders, err := s.db.CustomerOrders(ctx, customerID, "", 50)
	if err != nil {
		return nil, err
	}
	out := []otherOrder{}
	for _, o := range orders {
		if o.ID == orderID || !o.Open {
			continue
		}
		token, _ := s.auth.CustomerToken(o.ID, time.Now())
		out = append(out, otherOrder{Number: o.Number, Status: o.Status, StoreID: o.StoreID, CreatedAt: o.CreatedAt,
			Link: "/o/" + token})
	}
	return out, nil
}

// storeOrderByNumber serves GET /v1/stores/{store_id}/orders/by-number/{number}:
// the order with the number on the customer's receipt, for store staff. An
// order of a store the key works for comes whole (but its pickup code).
// Another store's order is found only for a return — its goods handed over,
// its return window open — and only what a return needs of it
// (order.ForReturn); the read is put on the order's timeline
// (looked_up_for_return) before it is answered. Any other number answers as
// an unknown one, so walking the sequential numbers finds nothing else.
func (s *Server) storeOrderByNumber(c echo.Context) error {
	ctx := c.Request().Context()
	number := c.Param("number")
	unknown := order.Errorf(order.KindNotFound, "order_not_found", "no order number %q", number)
	if number == "" || len(number) > maxOrderNumberLength {
		return unknown
	}
	id, err := s.db.OrderIDByNumber(ctx, number)
	if err != nil {
		return err
	}
	doc, a, err := s.db.OrderWithAccess(ctx, id)
	if err != nil {
		return err
	}
	p := principal(c)
	if !canReturn(p, id, a) {
		return unknown
	}
	var o order.Order
	if err := json.Unmarshal(doc, &o); err != nil {
		return err
	}
	if canSee(p, id, a) {
		return s.respondOrder(c, http.StatusOK, id, o, a)
	}
	if o.CheckReturnable(time.Now()) != nil {
		return unknown // nothing of it can be taken back: no reason to read it
	}
	if err := s.recordLookUp(c, id, workflows.LookedUpForReturn{Actor: actorFor(c, p), StoreID: c.Param("store_id")}); err != nil {
		if errors.As(err, new(*serviceerror.NotFound)) {
			return unknown // its lifecycle has ended: it can no longer be returned
		}
		s.log.Error("record a look-up for a return on the timeline", "order_id", id, "error", err)
		return order.Errorf(order.KindUnavailable, "timeline_unavailable",
			"the look-up could not be recorded on the order's timeline; try again")
	}
	return c.JSON(http.StatusOK, o.ForReturn())
}

// recordLookUp asks the order's workflow to put a read for a return on the
// timeline. Temporal has the signal in the order's history when this
// returns; the workflow records it in the order's turn.
func (s *Server) recordLookUp(c echo.Context, orderID string, sig workflows.LookedUpForReturn) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.timeout)
	defer cancel()
	return s.temporal.SignalWorkflow(ctx, workflows.WorkflowID(orderID), "", workflows.SignalLookedUpForReturn, sig)
}

// streamStore serves GET /v1/stores/{store_id}/events/stream: the store's live
// queue as Server-Sent Events. Each `queue` event carries the whole list of
// the store's open orders (awaiting pick, ready, partially collected; with
// `overdue`); one is sent at once and another whenever the list changes. A
// reconnecting client gets a fresh snapshot, so there is nothing to resume.
func (s *Server) streamStore(c echo.Context) error {
	storeID := c.Param("store_id")
	ctx := c.Request().Context()
	if ok, err := s.db.StoreExists(ctx, storeID); err != nil {
		return err
	} else if !ok {
		return order.Errorf(order.KindNotFound, "store_not_found", "no store %q", storeID)
	}
	if !s.streams.acquire() {
		return errTooManyStreams()
	}
	defer s.streams.release()

	snapshot := func() ([]byte, error) {
		orders, err := s.db.OpenStoreOrders(ctx, storeID, s.policy.PickDeadline, storeQueueLimit)
		if err != nil {
			return nil, err
		}
		if orders == nil {
			orders = []postgres.OpenOrder{}
		}
		return json.Marshal(map[string]any{"store_id": storeID, "orders": orders})
	}
	data, err := snapshot()
	if err != nil {
		return err
	}

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)

	var sent []byte
	poll := time.NewTicker(storeStreamPoll)
	defer poll.Stop()
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	for {
		if !bytes.Equal(data, sent) {
			if _, err := fmt.Fprintf(res, "event: queue\ndata: %s\n\n", data); err != nil {
				return nil // the client is gone
			}
			sent = data
		}
		res.Flush()

		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.closing:
			return nil
		case <-heartbeat.C:
			if _, err := res.Write([]byte(": keepalive\n\n")); err != nil {
				return nil
			}
			continue
		case <-poll.C:
		}
		if data, err = snapshot(); err != nil {
			if ctx.Err() == nil && s.log != nil {
				s.log.Warn("store stream: read the queue; closing the stream for the client to reconnect",
					"store_id", storeID, "error", err)
			}
			return nil
		}
	}
}
