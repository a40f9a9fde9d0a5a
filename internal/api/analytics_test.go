package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

func TestStoreAnalyticsAPI(t *testing.T) {
	db := shipmentsDB(t)
	ctx := context.Background()
	require.NoError(t, db.UpsertStores(ctx, []postgres.Store{{ID: "store-001", Name: "One"}}))
	at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	var o order.Order
	_, err := db.PlaceOrder(ctx, "web", "", "k1", []byte("h1"), "store-001", "o1", func(number string) (order.Order, error) {
		o = order.Order{ID: "o1", Number: number, Status: order.StatusPlaced, Channel: order.ChannelWeb,
			Customer: order.Customer{Email: "ada@example.com"}, Currency: "GBP",
			Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: "store-001"},
			Lines:      []order.Line{{SKU: "A", Quantity: 1, UnitPrice: 100}},
			Payments:   []order.Payment{{Method: "card", Reference: "psp-1", Authorized: 100}},
			Version:    1, CreatedAt: at, UpdatedAt: at}
		return o, nil
	})
	require.NoError(t, err)
	o.Version, o.Status = 2, order.StatusReadyForCollection
	_, _, err = db.Project(ctx, o, []order.Event{{Seq: 2, Type: order.EventReadyForCollection, At: at.Add(20 * time.Minute),
		Channel: "store_console", Actor: "till-1", Data: map[string]any{"store_id": "store-001"}}}, 0)
	require.NoError(t, err)

	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	authn := auth.New([]auth.Client{
		{Name: "ops", Role: auth.RoleAdmin, Key: "analytics-admin-key"},
		{Name: "cc", Role: auth.RoleSupport, Key: "analytics-support-key"},
		{Name: "till-1", Role: auth.RoleStore, Key: "analytics-store-key", Stores: []string{"store-001"}},
		{Name: "web", Role: auth.RoleCheckout, Key: "analytics-checkout-key"},
	}, "analytics-token-secret-0123456789", time.Hour)
	s := api.New(api.Options{DB: db, Temporal: tc, Logger: slog.New(slog.DiscardHandler), RequestTimeout: time.Second, Auth: authn})
	get := func(key, query, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/analytics/stores"+query, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	const period = "?from=2030-01-02&to=2030-01-03T00:00:00Z"

	// Roles: support and admin only.
	require.Equal(t, http.StatusUnauthorized, get("", period, "").Code)
	for _, key := range []string{"analytics-store-key", "analytics-checkout-key"} {
		rec := get(key, period, "")
		require.Equal(t, http.StatusForbidden, rec.Code, "%s: %s", key, rec.Body)
	}
	customer, _ := authn.CustomerToken("o1", time.Now())
	require.Equal(t, http.StatusForbidden, get(customer, period, "").Code, "a customer token")

	for _, key := range []string{"analytics-admin-key", "analytics-support-key"} {
		rec := get(key, period, "")
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", key, rec.Body)
		var body struct {
			From, To time.Time
			Stores   []postgres.StoreAnalytics
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Equal(t, time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), body.From)
		require.Equal(t, time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC), body.To)
		require.Len(t, body.Stores, 1)
		got := body.Stores[0]
		require.Equal(t, "store-001", got.StoreID)
		require.Equal(t, "web", got.Channel)
		require.Equal(t, int64(1), got.Orders)
		require.Equal(t, int64(1), got.Ready)
		require.Equal(t, 1200.0, *got.ReadySecondsP50)
		require.Equal(t, 0.0, *got.CollectionRate)
		require.Nil(t, got.ReturnRate, "no order was collected")
	}

	// CSV with a header row, the same figures.
	rec := get("analytics-support-key", period, "text/csv")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv"), rec.Header().Get("Content-Type"))
	records, err := csv.NewReader(rec.Body).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 2)
	require.Equal(t, []string{"store_id", "channel", "currency", "orders", "ready", "ready_seconds_p50", "ready_seconds_p90",
		"pick_deadline_breaches", "escalations", "reassignments", "expired", "no_show_rate", "collected", "collection_rate",
		"returned", "return_rate", "refunded", "exchanges"}, records[0])
	require.Equal(t, []string{"store-001", "web", "GBP", "1", "1", "1200", "1200", "0", "0", "0", "0", "0", "0", "0",
		"0", "", "0", "0"}, records[1])
	require.True(t, strings.HasPrefix(get("analytics-admin-key", period, "application/json").Header().Get("Content-Type"),
		"application/json"))

	// A missing, unreadable, reversed or too long period is refused with the fields named.
	for query, fields := range map[string][]string{
		"":                                   {"from", "to"},
		"?from=2030-01-02":                   {"to"},
		"?from=yesterday&to=2030-01-03":      {"from"},
		"?from=2030-01-02&to=2030-13-01":     {"to"},
		"?from=2030-01-03&to=2030-01-02":     {"to"},
		"?from=2030-01-02&to=2030-01-02":     {"to"},
		"?from=2029-01-01&to=2030-01-03":     {"to"},
		"?from=2030-01-02T10:00:00&to=2031-": {"from", "to"},
	} {
		rec := get("analytics-support-key", query, "")
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, "%q: %s", query, rec.Body)
		var p api.Problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		require.Equal(t, "urn:omni:problem:validation", p.Type)
		var named []string
		for _, f := range p.Errors {
			named = append(named, f.Field)
		}
		require.Equal(t, fields, named, "%q", query)
	}
	// 366 days is allowed.
	require.Equal(t, http.StatusOK, get("analytics-admin-key", "?from=2030-01-02&to=2031-01-03", "").Code)
}
