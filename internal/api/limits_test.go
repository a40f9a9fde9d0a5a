package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// placeBody is a valid order with one string left to fill in.
func placeBody(customerName, paymentMethod, nomineeName string) string {
	return `{"id": "web-1001", "channel": "web",
		"customer": {"id": "c-1", "email": "ada@example.com", "phone": "+447700900001", "name": ` + jsonString(customerName) + `},
		"currency": "GBP", "fulfilment": {"type": "collect", "store_id": "store-001"},
		"lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": 1999}],
		"payment": {"method": ` + jsonString(paymentMethod) + `, "reference": "psp-auth-123", "amount": 3998},
		"nominee": {"name": ` + jsonString(nomineeName) + `}}`
}

// repeatJSON is n copies of item as a JSON array.
func repeatJSON(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

// TestBodyFieldLimits sends every client string and list of every request
// body at its limit (accepted) and one over it (refused with a 4xx naming the
// field). Human text is filled with "é" (one character, two bytes).
func TestBodyFieldLimits(t *testing.T) {
	const human = "é"
	text := func(fill string) func(n int) string { return func(n int) string { return strings.Repeat(fill, n) } }
	line := `{"sku": "SKU-1", "quantity": 1}`
	returnLine := `{"sku": "SKU-1", "quantity": 1, "reason": "too_small", "condition": "resellable"}`
	tests := []struct {
		name  string
		field string
		limit int
		value func(n int) string // the field's value (or a list's items) of size n
		body  func(v string) string
		new   func() validated
	}{
		{"place: customer name", "customer.name", order.MaxNameLength, text(human),
			func(v string) string { return placeBody(v, "card", "Charles Babbage") }, func() validated { return &order.PlaceRequest{} }},
		{"place: payment method", "payment.method", order.MaxPaymentMethodLength, text(human),
			func(v string) string { return placeBody("Ada Lovelace", v, "Charles Babbage") }, func() validated { return &order.PlaceRequest{} }},
		{"place: nominee name", "nominee.name", order.MaxNameLength, text(human),
			func(v string) string { return placeBody("Ada Lovelace", "card", v) }, func() validated { return &order.PlaceRequest{} }},

		{"pick: sku", "lines[0].sku", order.MaxSKULength, text("S"),
			func(v string) string { return `{"lines": [{"sku": ` + jsonString(v) + `, "quantity": 1}]}` }, func() validated { return &pickBody{} }},
		{"pick: lines", "lines", order.MaxLines, func(n int) string { return repeatJSON(line, n) },
			func(v string) string { return `{"lines": ` + v + `}` }, func() validated { return &pickBody{} }},

		{"collect: pickup code", "pickup_code", order.MaxPickupCodeLength, text("K"),
			func(v string) string { return `{"pickup_code": ` + jsonString(v) + `}` }, func() validated { return &collectBody{} }},
		{"collect: collected_by name", "collected_by.name", order.MaxNameLength, text(human),
			func(v string) string {
				return `{"pickup_code": "K7M2Q9XP", "collected_by": {"name": ` + jsonString(v) + `, "relation": "nominee"}}`
			}, func() validated { return &collectBody{} }},
		{"collect: refused reason", "refused[0].reason", order.MaxReasonLength, text(human),
			func(v string) string {
				return `{"pickup_code": "K7M2Q9XP", "refused": [{"sku": "SKU-1", "quantity": 1, "reason": ` + jsonString(v) + `}]}`
			}, func() validated { return &collectBody{} }},
		{"collect: lines", "lines", order.MaxLines, func(n int) string { return repeatJSON(line, n) },
			func(v string) string { return `{"pickup_code": "K7M2Q9XP", "lines": ` + v + `}` }, func() validated { return &collectBody{} }},
		{"collect: refused", "refused", order.MaxLines, func(n int) string { return repeatJSON(line, n) },
			func(v string) string { return `{"pickup_code": "K7M2Q9XP", "refused": ` + v + `}` }, func() validated { return &collectBody{} }},

		{"reject: reason", "reason", order.MaxReasonLength, text(human),
			func(v string) string { return `{"reason": ` + jsonString(v) + `}` }, func() validated { return &rejectBody{} }},
		{"cancel: reason", "reason", order.MaxReasonLength, text(human),
			func(v string) string { return `{"reason": ` + jsonString(v) + `}` }, func() validated { return &cancelBody{} }},

		{"return: reason", "lines[0].reason", order.MaxReasonLength, text(human),
			func(v string) string {
				return `{"lines": [{"sku": "SKU-1", "quantity": 1, "reason": ` + jsonString(v) + `, "condition": "damaged"}]}`
			}, func() validated { return &returnBody{} }},
		{"return: lines", "lines", order.MaxLines, func(n int) string { return repeatJSON(returnLine, n) },
			func(v string) string { return `{"lines": ` + v + `}` }, func() validated { return &returnBody{} }},

		{"exchange: return reason", "return_lines[0].reason", order.MaxReasonLength, text(human),
			func(v string) string {
				return `{"return_lines": [{"sku": "SKU-1", "quantity": 1, "reason": ` + jsonString(v) + `, "condition": "resellable"}],
					"new_lines": [{"sku": "SKU-2", "quantity": 1}]}`
			}, func() validated { return &exchangeBody{} }},
		{"exchange: tender method", "tender.method", order.MaxPaymentMethodLength, text(human),
			func(v string) string {
				return `{"return_lines": [` + returnLine + `], "new_lines": [{"sku": "SKU-2", "quantity": 1}],
					"tender": {"method": ` + jsonString(v) + `, "reference": "pos-1"}}`
			}, func() validated { return &exchangeBody{} }},
		{"exchange: tender reference", "tender.reference", order.MaxPaymentReferenceLength, text(human),
			func(v string) string {
				return `{"return_lines": [` + returnLine + `], "new_lines": [{"sku": "SKU-2", "quantity": 1}],
					"tender": {"method": "card", "reference": ` + jsonString(v) + `}}`
			}, func() validated { return &exchangeBody{} }},
		{"exchange: new lines", "new_lines", order.MaxLines, func(n int) string { return repeatJSON(`{"sku": "SKU-2", "quantity": 1}`, n) },
			func(v string) string { return `{"return_lines": [` + returnLine + `], "new_lines": ` + v + `}` }, func() validated { return &exchangeBody{} }},

		{"webhook: url", "url", maxWebhookURLLength, func(n int) string { return "https://erp.example.com/" + strings.Repeat("a", n-24) },
			func(v string) string { return `{"url": ` + jsonString(v) + `}` }, func() validated { return &webhookBody{} }},
		{"webhook: event type", "event_types[0]", maxEventTypeLength, text("a"),
			func(v string) string {
				return `{"url": "https://erp.example.com/e", "event_types": [` + jsonString(v) + `]}`
			},
			func() validated { return &webhookBody{} }},
		{"webhook: event types", "event_types", maxWebhookEventTypes, func(n int) string { return repeatJSON(`"picked"`, n) },
			func(v string) string { return `{"url": "https://erp.example.com/e", "event_types": ` + v + `}` }, func() validated { return &webhookBody{} }},

		{"lookup: number", "number", maxOrderNumberLength, text("1"),
			func(v string) string { return `{"number": ` + jsonString(v) + `, "email": "ada@example.com"}` }, func() validated { return &lookupBody{} }},
		{"lookup: email", "email", order.MaxEmailLength, func(n int) string { return strings.Repeat("a", n-12) + "@example.com" },
			func(v string) string { return `{"number": "100001", "email": ` + jsonString(v) + `}` }, func() validated { return &lookupBody{} }},
		{"lookup: phone", "phone", order.MaxPhoneLength, func(n int) string { return "+447700900001" + strings.Repeat(" ", n-13) },
			func(v string) string { return `{"number": "100001", "phone": ` + jsonString(v) + `}` }, func() validated { return &lookupBody{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send := func(n int) (error, func() Problem) {
				body := tc.body(tc.value(n))
				c, rec := newRequestContext(request{method: http.MethodPost, target: "/", contentType: "application/json", body: []byte(body)})
				err := bind(c, tc.new())
				return err, func() Problem { return requireClientProblem(t, c, rec, err) }
			}
			err, _ := send(tc.limit)
			require.NoError(t, err, "%s at its limit of %d must be accepted", tc.field, tc.limit)

			err, problem := send(tc.limit + 1)
			require.Error(t, err, "%s over its limit of %d must be refused", tc.field, tc.limit)
			p := problem()
			require.Equal(t, http.StatusUnprocessableEntity, p.Status)
			require.Contains(t, fieldsOf(p), tc.field, "got fields %v", fieldsOf(p))
		})
	}
}

// TestQueryAndHeaderLimits: the strings a client sends outside bodies.
func TestQueryAndHeaderLimits(t *testing.T) {
	t.Run("deliveries order_id", func(t *testing.T) {
		target := fmt.Sprintf("/v1/admin/webhooks/wh_1/deliveries?order_id=%s", strings.Repeat("o", maxOrderIDLength+1))
		c, rec := newRequestContext(request{method: http.MethodGet, target: target})
		err := bareServer().webhookDeliveries(c) // refused before the database is asked
		p := requireClientProblem(t, c, rec, err)
		require.Equal(t, http.StatusBadRequest, p.Status)
		require.Equal(t, []string{"order_id"}, fieldsOf(p))
	})
	t.Run("Idempotency-Key", func(t *testing.T) {
		c, _ := newRequestContext(request{method: http.MethodPost, target: "/",
			header: http.Header{headerIdempotencyKey: {strings.Repeat("k", MaxIdempotencyKeyLength)}}})
		_, err := idempotencyKey(c, true)
		require.NoError(t, err)
		c, rec := newRequestContext(request{method: http.MethodPost, target: "/",
			header: http.Header{headerIdempotencyKey: {strings.Repeat("k", MaxIdempotencyKeyLength+1)}}})
		_, err = idempotencyKey(c, true)
		require.Equal(t, http.StatusBadRequest, requireClientProblem(t, c, rec, err).Status)
	})
}
