package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
)

// Limits of a webhook subscription.
const (
	maxWebhookURLLength  = 2048
	maxWebhookEventTypes = 50
	// defaultDeliveries and maxDeliveries bound a page of deliveries.
	defaultDeliveries = 100
	maxDeliveries     = 1000
)

var eventTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

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
	if err := decode(c, &body); err != nil {
		return err
	}
	var fields []order.FieldError
	if u, err := url.Parse(body.URL); body.URL == "" || len(body.URL) > maxWebhookURLLength || err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		fields = append(fields, order.FieldError{Field: "url",
			Detail: "is required: an absolute http or https URL without a fragment, at most " + itoa(maxWebhookURLLength) + " characters"})
	}
	if len(body.EventTypes) > maxWebhookEventTypes {
		fields = append(fields, order.FieldError{Field: "event_types", Detail: "at most " + itoa(maxWebhookEventTypes) + " types"})
	}
	types := make([]string, 0, len(body.EventTypes))
	seen := map[string]bool{}
	for i, t := range body.EventTypes {
		if !eventTypePattern.MatchString(t) {
			fields = append(fields, order.FieldError{Field: "event_types[" + itoa(i) + "]",
				Detail: "is not an event type (lower case letters, digits and _)"})
		}
		if !seen[t] {
			types = append(types, t)
			seen[t] = true
		}
	}
	if len(fields) > 0 {
		return &order.Error{Kind: order.KindInvalid, Code: "validation", Detail: "the subscription is not valid", Fields: fields}
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
