package order_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// The order for a return keeps the goods, their prices and what came back,
// and drops everything about the customer and the payment but its method.
func TestForReturnKeepsOnlyWhatAReturnNeeds(t *testing.T) {
	until := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	o := order.Order{
		ID: "web-1", Number: "100042", Status: order.StatusPartiallyReturned, Channel: "web", Currency: "GBP",
		Customer:   order.Customer{ID: "c-1", Email: "ada@example.com", Phone: "+447700900001", Name: "Ada Lovelace", PushToken: "tok"},
		Fulfilment: order.Fulfilment{Type: "collect", StoreID: "store-001"},
		Lines: []order.Line{{SKU: "A", Quantity: 2, UnitPrice: 1000, Picked: 2, Collected: 2, Returned: 1, Refunded: 1000},
			{SKU: "B", Quantity: 1, UnitPrice: 500, Picked: 1, Refused: 1}},
		Pickup: order.Pickup{StoreID: "store-001", Code: "K7M2Q9XP", Nominee: &order.Nominee{Name: "Charles Babbage", Phone: "+447700900002"}},
		Payments: []order.Payment{{Method: "card", Reference: "psp-secret", Authorized: 2500, Captured: 2000, Voided: 500, Refunded: 1000},
			{Method: "cash", Reference: "till-secret", Authorized: 200, Captured: 200}},
		Returns: []order.Return{{ID: "web-1-r1", StoreID: "store-002", Lines: []order.ReturnLine{{SKU: "A", Quantity: 1, Reason: "too small", Condition: "resellable"}}, Refund: 1000}},
		Exchanges: []order.Exchange{{ID: "web-1-x2", StoreID: "store-002", Difference: 200, Charged: 200, Tender: "till-secret",
			NewLines: []order.ExchangeLine{{SKU: "C", Quantity: 1, UnitPrice: 1200}}}},
		ReturnableUntil: &until, Version: 9,
	}
	raw, err := json.Marshal(o.ForReturn())
	require.NoError(t, err)
	for _, secret := range []string{"ada@example.com", "+447700900001", "Ada Lovelace", "tok", "K7M2Q9XP", "Charles Babbage",
		"+447700900002", "psp-secret", "till-secret", "store-001", `"customer"`, `"pickup"`, `"amount"`, `"captured"`} {
		require.NotContains(t, string(raw), secret)
	}
	var got order.ForReturn
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, order.ForReturn{
		ID: "web-1", Number: "100042", Status: order.StatusPartiallyReturned, Currency: "GBP",
		Lines: []order.LineForReturn{{SKU: "A", Quantity: 2, UnitPrice: 1000, Collected: 2, Returned: 1, Refunded: 1000},
			{SKU: "B", Quantity: 1, UnitPrice: 500}},
		Payments: []order.PaymentMethod{{Method: "card"}, {Method: "cash"}},
		Returns:  o.Returns,
		Exchanges: []order.ExchangeForReturn{{ID: "web-1-x2", StoreID: "store-002", Difference: 200, Charged: 200,
			NewLines: []order.ExchangeLine{{SKU: "C", Quantity: 1, UnitPrice: 1200}}}},
		ReturnableUntil: &until, Version: 9,
	}, got)

	// No returns or exchanges yet: empty lists, as in the full order.
	raw, err = json.Marshal(order.Order{ID: "web-2"}.ForReturn())
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"web-2","number":"","status":"","currency":"","lines":[],"payments":[],"returns":[],"exchanges":[],"version":0}`, string(raw))
}
