package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// returnBody is lines of a collected order brought back to a store.
type returnBody struct {
	Lines []order.ReturnLine `json:"lines"`
}

// exchangeBody is lines brought back and new items taken at a store counter.
type exchangeBody struct {
	ReturnLines []order.ReturnLine   `json:"return_lines"`
	NewLines    []order.ExchangeLine `json:"new_lines"`
	Tender      *workflows.Tender    `json:"tender"`
}

// takeBack records a return in any store: resellable goods are restocked
// there, damaged ones written off, and the paid amount refunded.
// A retry with the same Idempotency-Key gets the same return and refund.
func (s *Server) takeBack(c echo.Context) error {
	var body returnBody
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdateReturn, keyRequired: true, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bind(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.ReturnRequest{Actor: actorFor(c, principal(c)), StoreID: storeID, Lines: body.Lines}
			var res workflows.TakeBackResult
			if err := s.runUpdateInto(c, id, updateID, workflows.UpdateReturn, req, &res); err != nil {
				return 0, nil, err
			}
			o := res.Order
			i := slices.IndexFunc(o.Returns, func(r order.Return) bool { return r.ID == res.ID })
			if i < 0 {
				return 0, nil, fmt.Errorf("return %s of order %s is not on the order", res.ID, id)
			}
			return http.StatusCreated, map[string]any{"return": o.Returns[i], "order": takenBackOrder(principal(c), o)}, nil
		},
	})
}

// exchange returns lines and sells new items from the store's stock in one go;
// the answer says the difference paid or refunded.
func (s *Server) exchange(c echo.Context) error {
	var body exchangeBody
	storeID, id := c.Param("store_id"), c.Param("id")
	return s.mutate(c, mutation{action: workflows.UpdateExchange, keyRequired: true, orderID: id, storeID: storeID, body: &body,
		read: func() error { return bind(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.ExchangeRequest{Actor: actorFor(c, principal(c)), StoreID: storeID,
				ReturnLines: body.ReturnLines, NewLines: body.NewLines, Tender: body.Tender}
			var res workflows.TakeBackResult
			if err := s.runUpdateInto(c, id, updateID, workflows.UpdateExchange, req, &res); err != nil {
				return 0, nil, err
			}
			o := res.Order
			i := slices.IndexFunc(o.Exchanges, func(x order.Exchange) bool { return x.ID == res.ID })
			if i < 0 {
				return 0, nil, fmt.Errorf("exchange %s of order %s is not on the order", res.ID, id)
			}
			return http.StatusCreated, map[string]any{"exchange": o.Exchanges[i], "order": takenBackOrder(principal(c), o)}, nil
		},
	})
}

// takenBackOrder is the order in the answer of a return or an exchange:
// without its pickup code for the staff of its store, and only what a return
// needs (order.ForReturn) for the staff of another store.
func takenBackOrder(p auth.Principal, o order.Order) any {
	if p.Role == auth.RoleStore && !p.WorksAt(o.Fulfilment.StoreID) {
		return o.ForReturn()
	}
	return o.WithoutPickupCode()
}

// checkReturnable answers from the read model what needs no workflow: an
// unknown store or order, an order nothing of which was handed over, and a
// closed return window. A retry of a return or exchange already answered or
// sent to the workflow (the same caller's Idempotency-Key) is let through to
// get its first answer, even after that return closed the order.
func (s *Server) checkReturnable(c echo.Context, storeID, orderID string) error {
	return s.unlessAnsweredBefore(c, orderID, s.returnRefusal(c, storeID, orderID))
}

func (s *Server) returnRefusal(c echo.Context, storeID, orderID string) error {
	ctx := c.Request().Context()
	if ok, err := s.db.StoreExists(ctx, storeID); err != nil {
		return err
	} else if !ok {
		return order.Errorf(order.KindNotFound, "store_not_found", "no store %q", storeID)
	}
	doc, a, err := s.db.OrderWithAccess(ctx, orderID)
	if err != nil {
		return err
	}
	if !canReturn(principal(c), orderID, a) {
		return order.Errorf(order.KindNotFound, "order_not_found", "no order %q", orderID)
	}
	var o order.Order
	if err := json.Unmarshal(doc, &o); err != nil {
		return err
	}
	// The same rule the order's workflow applies; answered here too because
	// the workflow of a closed order is no longer there to answer.
	if e := o.CheckReturnable(time.Now()); e != nil {
		return e
	}
	return nil
}
