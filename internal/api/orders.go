package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

func (s *Server) placeOrder(c echo.Context) error {
	var req order.PlaceRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.ID != "" && !s.auth.MayChooseOrderID(principal(c), req.ID) {
		return orderIDOutsideNamespace(principal(c))
	}
	return s.place(c, req, "", "")
}

// placeStoreOrder is the endless aisle: store staff place an order for a
// customer standing in the store, for home delivery or collection at
// another store, when the store lacks the item. The checkout's rules apply
// (Idempotency-Key, the till's payment reference); the order's channel is
// store and its actor the associate (Omni-Actor).
func (s *Server) placeStoreOrder(c echo.Context) error {
	storeID := c.Param("store_id")
	var req order.PlaceRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.ID != "" {
		return validation("the order is not valid", []order.FieldError{{Field: "id",
			Detail: "store staff do not choose order ids; leave id out and Omni makes one"}})
	}
	req.Channel = order.ChannelStore
	return s.place(c, req, storeID, actorFor(c, principal(c)).Actor)
}

// place records an order and starts its workflow, once per caller and
// Idempotency-Key. placedAt is the store whose staff placed it (endless
// aisle), actor who did (default: the client).
func (s *Server) place(c echo.Context, req order.PlaceRequest, placedAt, actor string) error {
	key, err := idempotencyKey(c, true)
	if err != nil {
		return err
	}
	canonical, err := json.Marshal(struct {
		order.PlaceRequest
		PlacedAt string `json:"placed_at,omitempty"`
	}{req, placedAt})
	if err != nil {
		return err
	}
	hash := sha256.Sum256(canonical)
	id := req.ID
	if id == "" {
		id = newOrderID()
	}

	ctx := c.Request().Context()
	var placed order.Order
	// Keys are the client's own: two checkouts using the same key never see each other's orders.
	by := principal(c).Name
	p, err := s.db.PlaceOrder(ctx, by, actor, strconv.Itoa(len(by))+":"+by+":"+key, hash[:], req.Fulfilment.StoreID, id, func(number string) (order.Order, error) {
		placed = req.NewOrder(id, number)
		placed.PlacedAt = placedAt
		placed.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
		placed.UpdatedAt = placed.CreatedAt
		return placed, nil
	})
	if err != nil {
		return err
	}
	if !p.WorkflowStarted {
		if p.Replayed {
			if placed, err = s.db.Order(ctx, p.OrderID); err != nil {
				return err
			}
		}
		// The order is safely recorded. Should the start fail, the reconciler
		// starts the workflow later, so the order is accepted either way.
		if err := s.StartWorkflow(ctx, placed); err != nil {
			s.log.Warn("order recorded, workflow start deferred to the reconciler", "order_id", placed.ID, "error", err)
		}
	}
	if p.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/orders/"+p.OrderID)
	return c.JSONBlob(p.StatusCode, p.Response)
}

// StartWorkflow starts the order's workflow, or finds it already started, and
// records that it runs.
func (s *Server) StartWorkflow(ctx context.Context, o order.Order) error {
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(o.ID),
		TaskQueue:                s.taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// Where this process also runs a worker (omni dev), the order's first
		// workflow task (reserve, open the pick task, project) comes back in
		// the start's answer instead of through matching; elsewhere the
		// request is ignored.
		EnableEagerStart: true,
	}, workflows.OrderWorkflow, workflows.OrderInput{Order: o, Policy: s.policyFor(o.Fulfilment.StoreID), Rules: workflows.CurrentRules})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return err
	}
	return s.db.MarkWorkflowStarted(ctx, o.ID)
}

// policyFor is the policy of an order collected at storeID.
func (s *Server) policyFor(storeID string) workflows.Policy {
	p := s.policy
	if s.reassign != nil {
		p.Reassign = s.reassign(storeID)
	}
	return p
}

// Reconcile starts the workflows of orders whose start was never confirmed
// (the process stopped between recording an order and starting it). It runs
// until ctx ends.
func (s *Server) Reconcile(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		orders, err := s.db.UnstartedOrders(ctx, every, 100)
		if err != nil {
			s.log.Warn("reconciler: list unstarted orders", "error", err)
			continue
		}
		for _, o := range orders {
			if err := s.StartWorkflow(ctx, o); err != nil {
				s.log.Warn("reconciler: start order workflow", "order_id", o.ID, "error", err)
			} else {
				s.log.Info("reconciler: started order workflow", "order_id", o.ID)
			}
		}
	}
}

func newOrderID() string {
	return auth.GeneratedOrderIDPrefix + rand.Text()[:20]
}

// orderIDOutsideNamespace refuses an id the checkout may not choose (see
// auth.Authenticator.MayChooseOrderID). It says which ids the caller may use,
// never whether the id it sent exists.
func orderIDOutsideNamespace(p auth.Principal) error {
	want := "must not start with another checkout's prefix or with " + auth.GeneratedOrderIDPrefix
	if p.OrderIDPrefix != "" {
		want = "must start with " + p.OrderIDPrefix
	}
	return &order.Error{Kind: order.KindInvalid, Code: "order_id_outside_namespace",
		Detail: "this checkout may not choose that order id: each checkout chooses ids in its own namespace",
		Fields: []order.FieldError{{Field: "id", Detail: want}}}
}

func (s *Server) getOrder(c echo.Context) error {
	id, p := c.Param("id"), principal(c)
	doc, a, err := s.db.OrderWithAccess(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !canSee(p, id, a) {
		return order.Errorf(order.KindNotFound, "order_not_found", "no order %q", id)
	}
	current := bytes.Contains(doc, []byte(`"fulfilments":`))
	if current && seesPickupCode(p, id, a) {
		return c.JSONBlob(http.StatusOK, doc) // the stored snapshot, byte for byte
	}
	var o order.Order
	if err := json.Unmarshal(doc, &o); err != nil {
		return err
	}
	o.SyncCollect() // a snapshot written before fulfilments shows its one collect fulfilment
	if !seesPickupCode(p, id, a) {
		o = o.WithoutPickupCode()
	}
	return c.JSON(http.StatusOK, o)
}

func (s *Server) getEvents(c echo.Context) error {
	var after int64
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return newBadRequest("bad_query", "after must be a non-negative integer",
				order.FieldError{Field: "after", Detail: "not a non-negative integer"})
		}
		after = n
	}
	id := c.Param("id")
	events, err := s.db.Events(c.Request().Context(), id, after)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"order_id": id, "events": events})
}
