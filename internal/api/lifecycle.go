package api

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

// cancelBody is the body of a cancellation.
type cancelBody struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelOrder(c echo.Context) error {
	var body cancelBody
	id, a, p := c.Param("id"), accessOf(c), principal(c)
	return s.mutate(c, mutation{action: workflows.UpdateCancel, orderID: id, body: &body,
		read: func() error { return bindOptional(c, &body) },
		check: func() error {
			if p.Role == auth.RoleCustomer && a.Status != order.StatusPlaced && a.Status != order.StatusAwaitingPick {
				return order.Errorf(order.KindConflict, "too_late_to_cancel",
					"the order is %s: the store has picked it; ask the contact centre or refuse it at the counter", a.Status)
			}
			return nil
		},
		run: func(updateID string) (int, any, error) {
			req := workflows.CancelRequest{Actor: actorFor(c, p), Reason: body.Reason}
			return s.updateFor(c, id, updateID, a, workflows.UpdateCancel, req)
		},
	})
}

func (s *Server) extendPickup(c echo.Context) error {
	id, a := c.Param("id"), accessOf(c)
	return s.mutate(c, mutation{action: workflows.UpdateExtendPickup, orderID: id, body: &struct{}{},
		run: func(updateID string) (int, any, error) {
			req := workflows.ExtendPickupRequest{Actor: actorFor(c, principal(c))}
			return s.updateFor(c, id, updateID, a, workflows.UpdateExtendPickup, req)
		},
	})
}

// updateFor runs an Update and answers with the order as the caller may see it.
func (s *Server) updateFor(c echo.Context, orderID, updateID string, a postgres.OrderAccess, name string, arg any) (int, any, error) {
	o, err := s.runUpdate(c, orderID, updateID, name, arg)
	if err != nil {
		return 0, nil, err
	}
	if !seesPickupCode(principal(c), orderID, a) {
		o = o.WithoutPickupCode()
	}
	return http.StatusOK, o, nil
}

// roleChannels are the channels each role acts through; the first is the default.
var roleChannels = map[auth.Role][]string{
	auth.RoleCheckout: {order.ChannelWeb, order.ChannelApp},
	auth.RoleStore:    {order.ChannelPOS, order.ChannelStoreConsole},
	auth.RoleSupport:  {order.ChannelContact},
	auth.RoleCustomer: {order.ChannelWeb, order.ChannelApp},
	auth.RoleAdmin:    {order.ChannelSystem},
}

// actorFor says who acts, for the timeline: the channel from the Omni-Channel
// header when the caller's role acts through it (else the role's usual one),
// and the person from Omni-Actor (else the client's name); and, for the
// workflow's own role rules, the caller's role.
func actorFor(c echo.Context, p auth.Principal) workflows.Actor {
	channels := roleChannels[p.Role]
	a := workflows.Actor{Channel: c.Request().Header.Get("Omni-Channel"), Actor: c.Request().Header.Get("Omni-Actor"),
		Role: string(p.Role)}
	if !slices.Contains(channels, a.Channel) {
		a.Channel = channels[0]
	}
	if a.Actor == "" || order.TooLong(a.Actor, MaxActorLength) {
		a.Actor = p.Name
	}
	return a
}

// arrivedBody is a curbside customer's "I'm here".
type arrivedBody struct {
	Bay     string `json:"bay"`
	Vehicle string `json:"vehicle"`
}

// arrived records a curbside customer waiting at the car park, from the
// customer's page, the app or the checkout serving it.
func (s *Server) arrived(c echo.Context) error {
	var body arrivedBody
	id, a := c.Param("id"), accessOf(c)
	return s.mutate(c, mutation{action: workflows.UpdateArrived, orderID: id, body: &body,
		read: func() error { return bindOptional(c, &body) },
		run: func(updateID string) (int, any, error) {
			req := workflows.ArrivedRequest{Actor: actorFor(c, principal(c)), Bay: body.Bay, Vehicle: body.Vehicle}
			return s.updateFor(c, id, updateID, a, workflows.UpdateArrived, req)
		},
	})
}
