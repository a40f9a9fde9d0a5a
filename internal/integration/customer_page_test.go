package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/app"
)

// The customer's page links to the customer's other open orders, each
// opening its own page.
func TestCustomerPageLinksOtherOpenOrders(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	customer := map[string]any{"id": unique("cust"), "email": "grace@example.com", "name": "Grace Hopper"}
	first := orderBody("", store, line(sku, 1, 500))
	first["customer"] = customer
	second := orderBody("", store, line(sku, 1, 700))
	second["customer"] = customer
	a, b := c.place(first), c.place(second)
	c.waitStatus(b, "awaiting_pick")

	token, _ := app.AuthOf(testConfig(t.TempDir(), "", "")).CustomerToken(a, time.Now())
	r := c.do(http.MethodGet, "/v1/customer/order", nil, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page struct {
		Others []struct {
			Number string `json:"number"`
			Link   string `json:"link"`
		} `json:"other_orders"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Others, 1, "the customer's other open order, not this one")
	require.Equal(t, c.order(b).Number, page.Others[0].Number)
	other := strings.TrimPrefix(page.Others[0].Link, "/o/")
	r = c.do(http.MethodGet, "/v1/customer/order", nil, "Authorization", "Bearer "+other)
	require.Equal(t, http.StatusOK, r.Status, "the link opens the other order")
	require.Contains(t, string(r.Body), `"number":"`+c.order(b).Number+`"`)
}
