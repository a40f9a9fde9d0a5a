package order_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

// TestPlaceRequestFieldLimits sends each string of an order one character
// over its limit (and exactly at it): over is refused naming the field, at
// the limit is accepted. Human text counts characters, not bytes.
func TestPlaceRequestFieldLimits(t *testing.T) {
	tests := []struct {
		field string
		limit int
		set   func(r *order.PlaceRequest, v string)
		fill  string // repeated to the length; "é" is two bytes, one character
	}{
		{"customer.name", order.MaxNameLength, func(r *order.PlaceRequest, v string) { r.Customer.Name = v }, "é"},
		{"customer.id", order.MaxCustomerIDLength, func(r *order.PlaceRequest, v string) { r.Customer.ID = v }, "é"},
		{"customer.email", order.MaxEmailLength, func(r *order.PlaceRequest, v string) {
			r.Customer.Email = strings.Repeat("a", len(v)-len("@example.com")) + "@example.com"
		}, "a"},
		{"customer.phone", order.MaxPhoneLength, func(r *order.PlaceRequest, v string) {
			r.Customer.Phone = "+447700900001" + strings.Repeat(" ", len(v)-len("+447700900001"))
		}, " "},
		{"customer.push_token", order.MaxPushTokenLength, func(r *order.PlaceRequest, v string) { r.Customer.PushToken = v }, "x"},
		{"fulfilment.store_id", order.MaxStoreIDLength, func(r *order.PlaceRequest, v string) { r.Fulfilment.StoreID = v }, "s"},
		{"payment.method", order.MaxPaymentMethodLength, func(r *order.PlaceRequest, v string) { r.Payment.Method = v }, "é"},
		{"payment.reference", order.MaxPaymentReferenceLength, func(r *order.PlaceRequest, v string) { r.Payment.Reference = v }, "é"},
		{"nominee.name", order.MaxNameLength, func(r *order.PlaceRequest, v string) { r.Nominee = &order.Nominee{Name: v} }, "é"},
		{"nominee.phone", order.MaxPhoneLength, func(r *order.PlaceRequest, v string) {
			r.Nominee = &order.Nominee{Name: "Charles Babbage", Phone: "+447700900002" + strings.Repeat(".", len(v)-len("+447700900002"))}
		}, "."},
		{"id", order.MaxIDLength, func(r *order.PlaceRequest, v string) { r.ID = v }, "i"},
		{"lines[0].sku", order.MaxSKULength, func(r *order.PlaceRequest, v string) { r.Lines[0].SKU = v }, "S"},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			r := validRequest()
			tc.set(&r, strings.Repeat(tc.fill, tc.limit))
			require.NoError(t, r.Validate(), "%s of exactly %d characters must be accepted", tc.field, tc.limit)

			r = validRequest()
			tc.set(&r, strings.Repeat(tc.fill, tc.limit+1))
			err := r.Validate()
			de, ok := order.AsError(err)
			require.True(t, ok, "%s of %d characters: got %v, want a validation error", tc.field, tc.limit+1, err)
			require.Equal(t, order.KindInvalid, de.Kind)
			var fields []string
			for _, f := range de.Fields {
				fields = append(fields, f.Field)
			}
			require.Equal(t, []string{tc.field}, fields, "got fields %v, want only %s", fields, tc.field)
		})
	}
}

func TestTooLongCountsCharacters(t *testing.T) {
	require.False(t, order.TooLong("Zoë", 3), "three characters, four bytes")
	require.True(t, order.TooLong("Zoëy", 3))
	require.False(t, order.TooLong("", 0))
	require.True(t, order.TooLong("a", 0))
}
