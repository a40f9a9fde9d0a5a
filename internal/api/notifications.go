package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// resendMarker separates a notification's key from the number of its resend.
const resendMarker = "/resend/"

// listNotifications lists every attempt to notify the order's customer, sent
// or failed with the provider's error, oldest first. Template data (pickup
// codes, links) is not shown.
func (s *Server) listNotifications(c echo.Context) error {
	id := c.Param("id")
	attempts, err := s.db.NotificationAttempts(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"order_id": id, "notifications": attempts})
}

// resendNotification sends the order's last notification again, under a new
// key, on the channel and in the language the customer prefers now.
func (s *Server) resendNotification(c echo.Context) error {
	if s.notifier == nil {
		return order.Errorf(order.KindUnavailable, "notifications_unavailable", "this process cannot send notifications")
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	last, err := s.db.LastNotification(ctx, id)
	if err != nil {
		return err
	}
	o, err := s.db.Order(ctx, id)
	if err != nil {
		return err
	}
	base, _, _ := strings.Cut(last.Key, resendMarker)
	n, err := s.db.CountNotificationKeys(ctx, id, base+resendMarker)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s%s%d", base, resendMarker, n+1)
	if err := s.notifier.Notify(ctx, activities.Notification{Key: key, OrderID: id, Template: last.Template,
		Channel: "email", Recipient: o.Customer.Email, Data: last.Data}); err != nil {
		s.log.Warn("notification resend failed", "order_id", id, "key", key, "error", err)
		return &badRequest{code: "notification_failed", status: http.StatusBadGateway,
			detail: "the notification provider did not take the message; the failed attempt is listed under GET /v1/orders/" +
				id + "/notifications"}
	}
	attempts, err := s.db.NotificationAttempts(ctx, id)
	if err != nil {
		return err
	}
	for i := len(attempts) - 1; i >= 0; i-- {
		if attempts[i].Key == key && attempts[i].Status == "sent" {
			return c.JSON(http.StatusAccepted, attempts[i])
		}
	}
	return fmt.Errorf("resent notification %s is not in the ledger", key)
}
