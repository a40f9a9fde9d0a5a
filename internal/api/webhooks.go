package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/netguard"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
)

// Limits of a page of deliveries (a subscription's own are in validate.go).
const (
	// defaultDeliveries and maxDeliveries bound a page of deliveries.
	defaultDeliveries = 100
	maxDeliveries     = 1000
)

var eventTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// webhookURLPolicy says which subscription URLs Omni will deliver to.
type webhookURLPolicy struct {
	// allowPrivate accepts any host (webhooks.allow_private_networks).
	allowPrivate bool
	// resolver looks hosts up; nil is the system's.
	resolver netguard.Resolver
}

// resolveTimeout bounds the look-up of a subscription's host.
const resolveTimeout = 5 * time.Second

// check refuses, with 422 url_not_allowed, a URL whose host is or resolves to
// an address that is not public (netguard.CheckURL), unless private networks
// are allowed. The dispatcher checks again at each connection: a name can
// resolve elsewhere by then.
func (p webhookURLPolicy) check(ctx context.Context, rawURL string) error {
	if p.allowPrivate {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var refused *netguard.URLError
	if err := netguard.CheckURL(ctx, rawURL, p.resolver); errors.As(err, &refused) {
		return &order.Error{Kind: order.KindInvalid, Code: "url_not_allowed",
			Detail: "webhooks are delivered to public addresses only: " + refused.Reason,
			Fields: []order.FieldError{{Field: "url", Detail: refused.Reason}}}
	} else if err != nil {
		return err
	}
	return nil
}

// webhookBody is the body of a new subscription.
type webhookBody struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
}

// newWebhook is a created subscription: the only answer that shows its secret.
type newWebhook struct {
	postgres.WebhookSubscription
	Secret string `json:"secret"`
}

// createWebhook subscribes another system to order events. Omni makes the
// signing secret and shows it in this answer only.
func (s *Server) createWebhook(c echo.Context) error {
	var body webhookBody
	if err := bind(c, &body); err != nil {
		return err
	}
	types := body.eventTypes()
	if err := s.webhookURLs.check(c.Request().Context(), body.URL); err != nil {
		return err
	}
	sub, err := s.db.CreateWebhook(c.Request().Context(), webhooks.NewSubscriptionID(), body.URL, webhooks.NewSecret(), types)
	if err != nil {
		return err
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	c.Response().Header().Set(echo.HeaderLocation, "/v1/admin/webhooks/"+sub.ID)
	return c.JSON(http.StatusCreated, newWebhook{WebhookSubscription: sub, Secret: sub.Secret})
}

// listWebhooks lists the subscriptions, without their secrets.
func (s *Server) listWebhooks(c echo.Context) error {
	subs, err := s.db.Webhooks(c.Request().Context())
	if err != nil {
		return err
	}
	for i := range subs {
		subs[i].CreatedAt = subs[i].CreatedAt.UTC()
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": subs})
}

// deleteWebhook deactivates a subscription; its pending deliveries fail.
func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.db.DeactivateWebhook(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// webhookDeliveries shows a subscription's deliveries and their attempts,
// newest event first.
func (s *Server) webhookDeliveries(c echo.Context) error {
	status := c.QueryParam("status")
	switch status {
	case "", postgres.DeliveryPending, postgres.DeliveryDelivered, postgres.DeliveryFailed:
	default:
		return newBadRequest("bad_query", "unknown delivery status",
			order.FieldError{Field: "status", Detail: "want pending, delivered or failed"})
	}
	limit := defaultDeliveries
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeliveries {
			return newBadRequest("bad_query", "limit is not valid",
				order.FieldError{Field: "limit", Detail: "want 1 to " + itoa(maxDeliveries)})
		}
		limit = n
	}
	orderID := c.QueryParam("order_id")
	if len(orderID) > maxOrderIDLength {
		return newBadRequest("bad_query", "order_id is not valid",
			order.FieldError{Field: "order_id", Detail: "at most " + itoa(maxOrderIDLength) + " characters"})
	}
	id := c.Param("id")
	ds, err := s.db.WebhookDeliveries(c.Request().Context(), id, status, orderID, limit)
	if err != nil {
		return err
	}
	for i := range ds {
		utc(ds[i].NextAttemptAt, ds[i].FirstAttemptAt, ds[i].LastAttemptAt, ds[i].DeliveredAt)
		ds[i].CreatedAt = ds[i].CreatedAt.UTC()
	}
	return c.JSON(http.StatusOK, map[string]any{"subscription_id": id, "deliveries": ds})
}

// utc sets the times that are there to UTC, as the API writes every time.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		if t != nil {
			*t = t.UTC()
		}
	}
}
