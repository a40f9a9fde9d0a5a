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
// key, on the channel and in the language the customer prefers now. With an
// Idempotency-Key the notification's key derives from it, so a retry sends
// nothing new (the notifier is idempotent on the key) and gets the first
// answer; without one it is the next resend's number.
func (s *Server) resendNotification(c echo.Context) error {
	if s.notifier == nil {
		return order.Errorf(order.KindUnavailable, "notifications_unavailable", "this process cannot send notifications")
	}
	id := c.Param("id")
	return s.mutate(c, mutation{action: "resend_notification", orderID: id, body: &struct{}{},
		run: func(requestID string) (int, any, error) {
			keyed := c.Request().Header.Get(headerIdempotencyKey) != ""
			return s.resend(c, id, requestID, keyed)
		},
	})
}

// resend sends the order's last notification again; requestID names the
// resend when the request has an Idempotency-Key (keyed).
func (s *Server) resend(c echo.Context, id, requestID string, keyed bool) (int, any, error) {
	ctx := c.Request().Context()
	last, err := s.db.LastNotification(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	o, err := s.db.Order(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	base, _, _ := strings.Cut(last.Key, resendMarker)
	key := base + resendMarker + requestID
	if !keyed {
		n, err := s.db.CountNotificationKeys(ctx, id, base+resendMarker)
		if err != nil {
			return 0, nil, err
		}
		key = fmt.Sprintf("%s%s%d", base, resendMarker, n+1)
	}
	if err := s.notifier.Notify(ctx, activities.Notification{Key: key, OrderID: id, Template: last.Template,
		Channel: "email", Recipient: o.Customer.Email, Data: last.Data}); err != nil {
		s.log.Warn("notification resend failed", "order_id", id, "key", key, "error", err)
		return 0, nil, &badRequest{code: "notification_failed", status: http.StatusBadGateway,
			detail: "the notification provider did not take the message; the failed attempt is listed under GET /v1/orders/" +
				id + "/notifications"}
	}
	attempts, err := s.db.NotificationAttempts(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	for i := len(attempts) - 1; i >= 0; i-- {
		if attempts[i].Key == key && attempts[i].Status == "sent" {
			return http.StatusAccepted, attempts[i], nil
		}
	}
	return 0, nil, fmt.Errorf("resent notification %s is not in the ledger", key)
}
