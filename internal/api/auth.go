package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

const principalKey = "omni.principal"

// authenticate resolves the caller's bearer credential; requests without a
// valid one are refused with 401.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.bearer(c)
		if err != nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="omni"`)
			return &badRequest{code: "unauthenticated", status: http.StatusUnauthorized,
				detail: "send Authorization: Bearer with an API key or a customer token"}
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// bearer is the principal of the request's Authorization: Bearer credential
// (auth.ErrUnauthenticated without a valid one).
func (s *Server) bearer(c echo.Context) (auth.Principal, error) {
	cred, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok {
		cred = ""
	}
	return s.auth.Authenticate(strings.TrimSpace(cred), time.Now())
}

// allow refuses (403) every role but roles: access is denied by default.
func allow(roles ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !slices.Contains(roles, principal(c).Role) {
				return forbidden("this credential may not do that")
			}
			return next(c)
		}
	}
}

// storeStaff lets store staff act only for the stores in their key; admin,
// when allowed, acts for any store.
func storeStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		if p.Role == auth.RoleStore && !p.WorksAt(c.Param("store_id")) {
			return forbidden("this key does not work for store " + c.Param("store_id"))
		}
		return next(c)
	}
}

func forbidden(detail string) error {
	return &badRequest{code: "forbidden", status: http.StatusForbidden, detail: detail}
}

func principal(c echo.Context) auth.Principal {
	p, _ := c.Get(principalKey).(auth.Principal)
	return p
}

// handedOver are the statuses in which goods have left a store, so that any
// store may take a return and find the order for it (canReturn).
var handedOver = []order.Status{order.StatusPartiallyCollected, order.StatusCollected,
	order.StatusPartiallyReturned, order.StatusReturned, order.StatusDelivered, order.StatusShipped,
	order.StatusPartiallyShipped}

// canSee reports whether p may know that the order exists at all.
func canSee(p auth.Principal, orderID string, a postgres.OrderAccess) bool {
	switch p.Role {
	case auth.RoleSupport:
		return true
	case auth.RoleCheckout:
		return a.PlacedBy == p.Name
	case auth.RoleCustomer:
		return p.OrderID == orderID
	case auth.RoleStore:
		// Its stores' orders (collected there, or sent or received there),
		// and the orders its staff placed for customers in the store (endless
		// aisle). Another store's order only for a return: canReturn.
		if a.PlacedBy == p.Name {
			return true
		}
		for _, l := range a.Locations {
			if p.WorksAt(l) {
				return true
			}
		}
		return p.WorksAt(a.StoreID)
	}
	return false
}

// canReturn reports whether p may take goods of the order back, and find the
// order for that: whoever may see it, and the staff of any store once its
// goods have been handed over (who see only what a return needs of it).
func canReturn(p auth.Principal, orderID string, a postgres.OrderAccess) bool {
	return canSee(p, orderID, a) || (p.Role == auth.RoleStore && slices.Contains(handedOver, a.Status))
}

// seesPickupCode reports whether p may see the order's pickup code: only the
// customer and the service that placed the order.
func seesPickupCode(p auth.Principal, orderID string, a postgres.OrderAccess) bool {
	return (p.Role == auth.RoleCheckout && a.PlacedBy == p.Name) || (p.Role == auth.RoleCustomer && p.OrderID == orderID)
}

// access reads what deciding on the order needs, answering 404 to a caller
// who may not know the order exists, exactly as for an unknown order.
func (s *Server) access(c echo.Context, orderID string) (postgres.OrderAccess, error) {
	a, err := s.db.Access(c.Request().Context(), orderID)
	if err != nil {
		return a, err
	}
	if !canSee(principal(c), orderID, a) {
		return a, order.Errorf(order.KindNotFound, "order_not_found", "no order %q", orderID)
	}
	return a, nil
}

const accessKey = "omni.access"

// visibleOrder lets a request about an order through only to a caller who may
// know the order exists (else 404, as for an unknown order), before its body
// is even read.
func (s *Server) visibleOrder(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := s.access(c, c.Param("id"))
		if err != nil {
			return err
		}
		c.Set(accessKey, a)
		return next(c)
	}
}

// accessOf is what visibleOrder read.
func accessOf(c echo.Context) postgres.OrderAccess {
	a, _ := c.Get(accessKey).(postgres.OrderAccess)
	return a
}

// storeOrder lets store staff act on an order of a store they work for only.
func (s *Server) storeOrder(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.checkOrderStore(c, c.Param("store_id"), c.Param("id")); err != nil {
			return err
		}
		return next(c)
	}
}

// returnableOrder lets a return or exchange through only for an order whose
// goods any store may take back.
func (s *Server) returnableOrder(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.checkReturnable(c, c.Param("store_id"), c.Param("id")); err != nil {
			return err
		}
		return next(c)
	}
}

// respondOrder answers with the order as the caller may see it.
func (s *Server) respondOrder(c echo.Context, status int, orderID string, o order.Order, a postgres.OrderAccess) error {
	if !seesPickupCode(principal(c), orderID, a) {
		o = o.WithoutPickupCode()
	}
	return c.JSON(status, o)
}
