package order_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

func validRequest() order.PlaceRequest {
	return order.PlaceRequest{
		Customer:   order.Customer{Email: "ada@example.com", Phone: "+447700900001", Name: "Ada Lovelace"},
		Currency:   "GBP",
		Fulfilment: order.Fulfilment{Type: "collect", StoreID: "store-001"},
		Lines:      []order.PlaceLine{{SKU: "SKU-1", Quantity: 2, UnitPrice: 1999}},
		Payment:    order.PaymentRequest{Method: "card", Reference: "psp-1", Amount: 3998},
	}
}

func TestPlaceRequestValidate(t *testing.T) {
	many := make([]order.PlaceLine, order.MaxLines+1)
	for i := range many {
		many[i] = order.PlaceLine{SKU: fmt.Sprintf("S-%d", i), Quantity: 1, UnitPrice: 1}
	}
	tests := []struct {
		name  string
		edit  func(r *order.PlaceRequest)
		field string // "" means valid
	}{
		{"valid", func(*order.PlaceRequest) {}, ""},
		{"missing email", func(r *order.PlaceRequest) { r.Customer.Email = "" }, "customer.email"},
		{"bad email", func(r *order.PlaceRequest) { r.Customer.Email = "ada at example" }, "customer.email"},
		{"bad currency", func(r *order.PlaceRequest) { r.Currency = "gbp" }, "currency"},
		{"unsupported fulfilment", func(r *order.PlaceRequest) { r.Fulfilment.Type = "drone" }, "fulfilment.type"},
		{"missing store", func(r *order.PlaceRequest) { r.Fulfilment.StoreID = "" }, "fulfilment.store_id"},
		{"no lines", func(r *order.PlaceRequest) { r.Lines = nil }, "lines"},
		{"too many lines", func(r *order.PlaceRequest) { r.Lines = many }, "lines"},
		{"duplicate sku", func(r *order.PlaceRequest) {
			r.Lines = append(r.Lines, r.Lines[0])
			r.Payment.Amount *= 2
		}, "lines[1].sku"},
		{"zero quantity", func(r *order.PlaceRequest) { r.Lines[0].Quantity = 0 }, "lines[0].quantity"},
		{"negative quantity", func(r *order.PlaceRequest) { r.Lines[0].Quantity = -2 }, "lines[0].quantity"},
		{"zero price", func(r *order.PlaceRequest) { r.Lines[0].UnitPrice = 0 }, "lines[0].unit_price"},
		{"negative price", func(r *order.PlaceRequest) { r.Lines[0].UnitPrice = -1 }, "lines[0].unit_price"},
		{"amount differs from total", func(r *order.PlaceRequest) { r.Payment.Amount = 3997 }, "payment.amount"},
		{"missing payment reference", func(r *order.PlaceRequest) { r.Payment.Reference = "" }, "payment.reference"},
		{"unknown channel", func(r *order.PlaceRequest) { r.Channel = "fax" }, "channel"},
		{"bad id", func(r *order.PlaceRequest) { r.ID = "has space" }, "id"},
		{"sms preference", func(r *order.PlaceRequest) { r.Customer.Notify, r.Customer.Language = "sms", "fr-CA" }, ""},
		{"push preference", func(r *order.PlaceRequest) { r.Customer.Notify, r.Customer.PushToken = "push", "fcm:abc-123_XYZ" }, ""},
		{"unknown notify channel", func(r *order.PlaceRequest) { r.Customer.Notify = "fax" }, "customer.notify"},
		{"sms without phone", func(r *order.PlaceRequest) { r.Customer.Notify, r.Customer.Phone = "sms", "" }, "customer.phone"},
		{"push without token", func(r *order.PlaceRequest) { r.Customer.Notify = "push" }, "customer.push_token"},
		{"bad language", func(r *order.PlaceRequest) { r.Customer.Language = "french!" }, "customer.language"},
		{"push token with spaces", func(r *order.PlaceRequest) { r.Customer.PushToken = "a b" }, "customer.push_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRequest()
			tc.edit(&r)
			err := r.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			de, ok := order.AsError(err)
			require.True(t, ok, "got %v, want a domain error", err)
			require.Equal(t, order.KindInvalid, de.Kind)
			var fields []string
			for _, f := range de.Fields {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tc.field, "got fields %v", fields)
		})
	}
}

func TestNewOrder(t *testing.T) {
	r := validRequest()
	o := r.NewOrder("o-1", "100001")
	require.Equal(t, order.StatusPlaced, o.Status)
	require.EqualValues(t, 1, o.Version)
	require.Equal(t, "web", o.Channel, "channel defaults to web")
	require.EqualValues(t, 3998, o.Total())
	require.EqualValues(t, 3998, o.Payments[0].Authorized)
	require.Equal(t, "store-001", o.Pickup.StoreID)
	require.NotNil(t, o.Returns)
	require.NotNil(t, o.Exchanges)
}

func TestErrorTypeRoundTrip(t *testing.T) {
	e := order.Errorf(order.KindForbidden, "wrong_pickup_code", "nope")
	kind, code, ok := order.ParseType(e.Type())
	require.True(t, ok)
	require.Equal(t, order.KindForbidden, kind)
	require.Equal(t, "wrong_pickup_code", code)
	_, _, ok = order.ParseType("SomeOtherError")
	require.False(t, ok)
}

func TestPhoneNumbers(t *testing.T) {
	tests := []struct {
		phone string
		want  string // "" means refused
	}{
		{"+447700900001", "+447700900001"},
		{"+44 7700 900001", "+447700900001"},
		{"+44 (7700) 900-001", "+447700900001"},
		{"+1.415.555.0100", "+14155550100"},
		{"+33612345678", "+33612345678"},
		{"+12345678", "+12345678"},               // 8 digits
		{"+123456789012345", "+123456789012345"}, // 15 digits
		{"+1234567", ""},                         // 7 digits
		{"+1234567890123456", ""},                // 16 digits
		{"07700900001", ""},                      // national, no country code
		{"447700900001", ""},                     // no +
		{"+07700900001", ""},                     // country code starting with 0
		{"+44 7700 900001 ext 2", ""},
		{"+44_7700_900001", ""},
		{"++447700900001", ""},
		{"+", ""},
	}
	for _, tc := range tests {
		t.Run(tc.phone, func(t *testing.T) {
			for _, field := range []string{"customer.phone", "nominee.phone"} {
				r := validRequest()
				r.Customer.Phone = "+447700900009"
				r.Nominee = &order.Nominee{Name: "Charles Babbage"}
				if field == "customer.phone" {
					r.Customer.Phone = tc.phone
				} else {
					r.Nominee.Phone = tc.phone
				}
				err := r.Validate()
				if tc.want == "" {
					de, ok := order.AsError(err)
					require.True(t, ok, "%s %q: got %v, want a validation error", field, tc.phone, err)
					require.Equal(t, order.KindInvalid, de.Kind)
					require.Equal(t, "validation", de.Code)
					require.Equal(t, []order.FieldError{{Field: field,
						Detail: "must be an international number like +447700900001"}}, de.Fields)
					continue
				}
				require.NoError(t, err, "%s %q", field, tc.phone)
				o := r.NewOrder("o-1", "100001")
				if field == "customer.phone" {
					require.Equal(t, tc.want, o.Customer.Phone, "stored in normal form")
				} else {
					require.Equal(t, tc.want, o.Pickup.Nominee.Phone, "stored in normal form")
					require.Equal(t, tc.phone, r.Nominee.Phone, "the request is left as sent")
				}
			}
		})
	}
}

func TestPhoneIsReportedWithTheOtherFields(t *testing.T) {
	r := validRequest()
	r.Customer.Phone = "07700 900001"
	r.Currency = "gbp"
	de, ok := order.AsError(r.Validate())
	require.True(t, ok)
	require.Equal(t, []order.FieldError{
		{Field: "customer.phone", Detail: "must be an international number like +447700900001"},
		{Field: "currency", Detail: "must be an ISO 4217 code such as GBP"},
	}, de.Fields)
}
