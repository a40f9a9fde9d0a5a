package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$`)

// MaxOnHand bounds one stock figure.
const MaxOnHand = 1_000_000_000

func (s *Server) storeQueue(c echo.Context) error {
	storeID := c.Param("store_id")
	status := order.Status(c.QueryParam("status"))
	if status == "" {
		status = order.StatusAwaitingPick
	}
	if !status.Valid() {
		return newBadRequest("bad_query", "unknown status", order.FieldError{Field: "status", Detail: "not an order status"})
	}
	ctx := c.Request().Context()
	if ok, err := s.db.StoreExists(ctx, storeID); err != nil {
		return err
	} else if !ok {
		return order.Errorf(order.KindNotFound, "store_not_found", "no store %q", storeID)
	}
	orders, err := s.db.StoreQueue(ctx, storeID, status, 500)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"store_id": storeID, "status": status, "orders": orders})
}

// pickBody is the body of a pick report.
type pickBody struct {
	Lines *[]order.LineQty `json:"lines"`
}

func (s *Server) pick(c echo.Context) error {
	var body pickBody
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdatePick, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bind(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.PickRequest{Actor: actorFor(c, principal(c)), StoreID: storeID, Lines: *body.Lines}
			return s.storeUpdate(c, id, updateID, workflows.UpdatePick, req)
		},
	})
}

// collectBody is the body of a handover.
type collectBody struct {
	PickupCode  string                  `json:"pickup_code"`
	Lines       []order.LineQty         `json:"lines"`
	CollectedBy workflows.CollectedBy   `json:"collected_by"`
	Refused     []workflows.RefusedLine `json:"refused"`
}

func (s *Server) collect(c echo.Context) error {
	var body collectBody
	storeID, id := c.Param("store_id"), c.Param("id")
	ctx := c.Request().Context()
	return s.mutate(c, mutation{action: workflows.UpdateCollect, keyRequired: true, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bind(c, &body) },
		check: func() error {
			until, err := s.db.PickupCodeLockedUntil(ctx, id, PickupCodeAttempts, PickupCodeLockout)
			if err != nil {
				return err
			}
			if wait := time.Until(until); wait > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				return &badRequest{code: "pickup_code_locked", status: http.StatusTooManyRequests,
					detail: "too many wrong pickup codes for this order; handover is refused until " + until.UTC().Format(time.RFC3339)}
			}
			return nil
		},
		run: func(updateID string) (int, any, error) {
			return s.handOver(c, id, updateID, workflows.CollectRequest{Actor: actorFor(c, principal(c)), StoreID: storeID,
				PickupCode: body.PickupCode, Lines: body.Lines, CollectedBy: body.CollectedBy, Refused: body.Refused})
		},
	})
}

// handOver runs a handover Update and counts a wrong pickup code towards the
// order's lockout.
func (s *Server) handOver(c echo.Context, id, updateID string, req workflows.CollectRequest) (int, any, error) {
	ctx := c.Request().Context()
	actor, storeID := req.Actor, req.StoreID
	status, o, err := s.storeUpdate(c, id, updateID, workflows.UpdateCollect, req)
	if de, ok := order.AsError(asDomain(err)); ok && de.Code == "wrong_pickup_code" {
		n, recErr := s.db.RecordPickupCodeFailure(ctx, id, storeID, PickupCodeLockout)
		if recErr != nil {
			s.log.Error("record wrong pickup code", "order_id", id, "error", recErr)
		} else if n == PickupCodeAttempts {
			// Put the lockout on the order's timeline, where every channel sees it.
			if sigErr := s.temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalPickupCodeLocked,
				workflows.PickupCodeLocked{Actor: actor, Attempts: n, Until: time.Now().Add(PickupCodeLockout).UTC()}); sigErr != nil {
				s.log.Warn("record pickup code lockout on the timeline", "order_id", id, "error", sigErr)
			}
		}
	}
	return status, o, err
}

// rejectBody is a store's reason for turning an order down.
type rejectBody struct {
	Reason string `json:"reason"`
}

// reject turns an order down at a store that cannot fulfil it; Omni offers it
// to the next store with stock, or rejects it when there is none.
func (s *Server) reject(c echo.Context) error {
	var body rejectBody
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdateReject, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bind(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.RejectRequest{Actor: actorFor(c, principal(c)), StoreID: storeID, Reason: body.Reason}
			return s.storeUpdate(c, id, updateID, workflows.UpdateReject, req)
		},
	})
}

// Pickup-code guessing limits: PickupCodeAttempts wrong codes within
// PickupCodeLockout refuse further handovers until the oldest leaves the window.
const (
	PickupCodeAttempts = 5
	PickupCodeLockout  = 15 * time.Minute
)

// asDomain returns the domain error carried by err, from the API or from a
// workflow's application error.
func asDomain(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if kind, code, ok := order.ParseType(appErr.Type()); ok {
			return &order.Error{Kind: kind, Code: code, Detail: appErr.Message()}
		}
	}
	return err
}

// checkOrderStore answers from the read model, before Temporal is asked:
// unknown orders are 404 and another store's orders are 409. A retry of a
// request already answered or sent to the workflow (the same caller's
// Idempotency-Key) is let through to get its first answer, even when that
// request moved the order to another store.
func (s *Server) checkOrderStore(c echo.Context, storeID, orderID string) error {
	return s.unlessAnsweredBefore(c, orderID, s.orderStoreRefusal(c, storeID, orderID))
}

func (s *Server) orderStoreRefusal(c echo.Context, storeID, orderID string) error {
	a, err := s.db.Access(c.Request().Context(), orderID)
	if err != nil {
		return err
	}
	if !canSee(principal(c), orderID, a) {
		// Another store's order: its existence is not this store's business.
		return order.Errorf(order.KindNotFound, "order_not_found", "no order %q", orderID)
	}
	if !a.At(storeID) && a.StoreID != storeID {
		return order.Errorf(order.KindConflict, "wrong_store", "order %s has nothing to do at %s", orderID, storeID)
	}
	return nil
}

// storeUpdate runs an Update on the order's workflow and answers with the
// order as the store may see it (without the pickup code).
func (s *Server) storeUpdate(c echo.Context, orderID, updateID, name string, arg any) (int, any, error) {
	o, err := s.runUpdate(c, orderID, updateID, name, arg)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, o.WithoutPickupCode(), nil
}

// runUpdate runs an Update on the order's workflow and waits for its result,
// which the workflow returns only after the projection is written.
func (s *Server) runUpdate(c echo.Context, orderID, updateID, name string, arg any) (order.Order, error) {
	var o order.Order
	err := s.runUpdateInto(c, orderID, updateID, name, arg, &o)
	return o, err
}

// runUpdateInto runs an Update under updateID and decodes its result into
// out. Temporal runs an Update ID once per workflow run: a second call with it
// (a retry after a timeout) waits for the first Update and gets its outcome.
func (s *Server) runUpdateInto(c echo.Context, orderID, updateID, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.timeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(orderID),
		UpdateID:     updateID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	var closed *serviceerror.NotFound
	if errors.As(err, &closed) {
		// The workflow has ended: say in which state the order ended.
		if stored, lookupErr := s.db.Order(c.Request().Context(), orderID); lookupErr == nil {
			if stored.Status == order.StatusPlaced {
				// Recorded, but its workflow is not running yet: the reconciler starts it.
				return order.Errorf(order.KindUnavailable, "not_started", "the order is still being set up; try again in a few seconds")
			}
			return order.Errorf(order.KindConflict, "order_closed", "the order is %s; it can no longer be changed", stored.Status)
		}
	}
	return err
}

type stockBody struct {
	OnHand *int64 `json:"on_hand"`
}

func (s *Server) setStock(c echo.Context) error {
	sku := c.Param("sku")
	if !skuPattern.MatchString(sku) {
		return newBadRequest("bad_sku", "the SKU in the path is not valid", order.FieldError{Field: "sku", Detail: "not a SKU"})
	}
	if s.stock.owned(c.Param("store_id")) {
		return order.Errorf(order.KindConflict, "stock_external",
			"the retailer's inventory owns this store's stock (inventory.url): set it there")
	}
	var body stockBody
	if err := bind(c, &body); err != nil {
		return err
	}
	st, err := s.db.SetStock(c.Request().Context(), c.Param("store_id"), sku, *body.OnHand)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) getStock(c echo.Context) error {
	sku := c.Param("sku")
	if !skuPattern.MatchString(sku) {
		return newBadRequest("bad_sku", "the SKU in the path is not valid", order.FieldError{Field: "sku", Detail: "not a SKU"})
	}
	ctx, storeID := c.Request().Context(), c.Param("store_id")
	if s.stock.owned(storeID) {
		// The retailer's inventory answers, for a store Omni knows.
		if ok, err := s.db.StoreExists(ctx, storeID); err != nil {
			return err
		} else if !ok {
			return order.Errorf(order.KindNotFound, "store_not_found", "no store %q", storeID)
		}
		st, err := s.stock.Read(ctx, storeID, sku)
		if err != nil {
			s.log.Warn("read stock from the retailer's inventory", "store_id", storeID, "sku", sku, "error", err)
			return stockUnavailable(err)
		}
		return c.JSON(http.StatusOK, st)
	}
	st, err := s.db.GetStock(ctx, storeID, sku)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// StockOptions says which stores' stock the retailer's inventory owns
// (ADAPTERS.md, "Inventory"): their stock is not set through Omni (PUT
// answers 409 stock_external) and is read through the inventory's
// availability (GET).
type StockOptions struct {
	// External reports whether the retailer's inventory owns a store's
	// stock; nil: Omni's ledger owns every store's.
	External func(storeID string) bool
	// Read reads a store's stock of a SKU from the retailer's inventory.
	Read func(ctx context.Context, storeID, sku string) (postgres.Stock, error)
}

func (o StockOptions) owned(storeID string) bool {
	return o.External != nil && o.Read != nil && o.External(storeID)
}

// stockUnavailable is the answer when the retailer's inventory does not:
// its refusals as they are, anything else 503.
func stockUnavailable(err error) error {
	if _, ok := order.AsError(err); ok {
		return err
	}
	return order.Errorf(order.KindUnavailable, "inventory_unavailable",
		"the retailer's inventory did not answer; try again shortly")
}

func itoa(n int) string { return strconv.Itoa(n) }

// shipBody is the body of a ship report: optional parcels.
type shipBody struct {
	Parcels []activities.Parcel `json:"parcels"`
}

// ship reports a store's (or warehouse's) fulfilment packed and handed to
// the carrier; the answer carries the shipment's tracking. For a transfer to
// a collection store it reports the transfer on its way.
func (s *Server) ship(c echo.Context) error {
	var body shipBody
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdateShip, keyRequired: true, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bindOptional(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.ShipRequest{Actor: actorFor(c, principal(c)), StoreID: storeID, Parcels: body.Parcels}
			return s.storeUpdate(c, id, updateID, workflows.UpdateShip, req)
		},
	})
}

// receive reports the transfers on their way to the collection store arrived.
func (s *Server) receive(c echo.Context) error {
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdateReceive, keyRequired: true, orderID: id, storeID: storeID,
		body: &struct{}{},
		run: func(updateID string) (int, any, error) {
			req := workflows.ReceiveRequest{Actor: actorFor(c, principal(c)), StoreID: storeID}
			return s.storeUpdate(c, id, updateID, workflows.UpdateReceive, req)
		},
	})
}
