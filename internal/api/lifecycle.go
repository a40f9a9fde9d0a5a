package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// cancelBody is the body of a cancellation.
type cancelBody struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelOrder(c echo.Context) error {
	var body cancelBody
	if c.Request().ContentLength != 0 {
		if err := decode(c, &body); err != nil {
			return err
		}
	}
	if len(body.Reason) > workflows.MaxReasonLength {
		return &order.Error{Kind: order.KindInvalid, Code: "validation", Detail: "the cancellation is not valid",
			Fields: []order.FieldError{{Field: "reason", Detail: "at most " + itoa(workflows.MaxReasonLength) + " characters"}}}
	}
	id := c.Param("id")
	if _, err := s.db.Order(c.Request().Context(), id); err != nil {
		return err
	}
	req := workflows.CancelRequest{Actor: channelActor(c, order.ChannelWeb, "customer"), Reason: body.Reason}
	return s.updateFull(c, id, workflows.UpdateCancel, req)
}

func (s *Server) extendPickup(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.db.Order(c.Request().Context(), id); err != nil {
		return err
	}
	req := workflows.ExtendPickupRequest{Actor: channelActor(c, order.ChannelContact, "contact_centre")}
	return s.updateFull(c, id, workflows.UpdateExtendPickup, req)
}

// updateFull runs an Update and answers with the order as its owner sees it.
func (s *Server) updateFull(c echo.Context, orderID, name string, arg any) error {
	o, err := s.runUpdate(c, orderID, name, arg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// channelActor reads the Omni-Channel and Omni-Actor headers with defaults.
func channelActor(c echo.Context, channel, actor string) workflows.Actor {
	a := workflows.Actor{Channel: c.Request().Header.Get("Omni-Channel"), Actor: c.Request().Header.Get("Omni-Actor")}
	if !order.ValidChannel(a.Channel) {
		a.Channel = channel
	}
	if a.Actor == "" || len(a.Actor) > 100 {
		a.Actor = actor
	}
	return a
}
