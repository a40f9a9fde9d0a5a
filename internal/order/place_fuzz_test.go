package order_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/order"
)

// FuzzPlaceRequestValidate: Validate never panics; a refusal is a validation
// error naming fields; an accepted order keeps every limit, becomes an order,
// and re-marshals and re-validates to itself.
func FuzzPlaceRequestValidate(f *testing.F) {
	type seed struct {
		id, channel, email, phone, name, notify, language, pushToken, currency, storeID, sku string
		qty, price                                                                           int64
		method, reference                                                                    string
		amount                                                                               int64
		nomineeName, nomineePhone                                                            string
	}
	for _, s := range []seed{
		{"web-1001", "web", "ada@example.com", "+447700900001", "Ada Lovelace", "", "", "", "GBP", "store-001", "SKU-1", 2, 1999, "card", "psp-auth-123", 3998, "Charles Babbage", "+447700900002"},
		{"", "", "ada@example.com", "+44 7700 900001", "", "sms", "fr-CA", "", "GBP", "store-001", "SKU-1", 1, 1, "CARD", "psp-1", 1, "", ""},
		{"", "app", "ada@example.com", "", "Zoë", "push", "", "fcm:abc-123_XYZ", "EUR", "store-002", "a/b:c.d_e-f", 10000, 100000000, "card", "r", 1_000_000_000_000, "", ""},
		{"has space", "fax", "ada at example", "0", "", "fax", "french!", "a b", "gbp", "", "", 0, 0, "", "", 0, " ", "123"},
	} {
		f.Add(s.id, s.channel, s.email, s.phone, s.name, s.notify, s.language, s.pushToken, s.currency, s.storeID, s.sku,
			s.qty, s.price, s.method, s.reference, s.amount, s.nomineeName, s.nomineePhone)
	}
	f.Fuzz(func(t *testing.T, id, channel, email, phone, name, notify, language, pushToken, currency, storeID, sku string,
		qty, price int64, method, reference string, amount int64, nomineeName, nomineePhone string) {
		// Requests arrive as JSON, whose strings are valid UTF-8.
		for _, s := range []*string{&id, &channel, &email, &phone, &name, &notify, &language, &pushToken, &currency, &storeID, &sku,
			&method, &reference, &nomineeName, &nomineePhone} {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
		r := order.PlaceRequest{
			ID: id, Channel: channel,
			Customer: order.Customer{Email: email, Phone: phone, Name: name, Notify: notify, Language: language, PushToken: pushToken},
			Currency: currency, Fulfilment: order.Fulfilment{Type: order.FulfilmentCollect, StoreID: storeID},
			Lines:   []order.PlaceLine{{SKU: sku, Quantity: qty, UnitPrice: price}},
			Payment: order.PaymentRequest{Method: method, Reference: reference, Amount: amount},
		}
		if nomineeName != "" || nomineePhone != "" {
			r.Nominee = &order.Nominee{Name: nomineeName, Phone: nomineePhone}
		}
		err := r.Validate()
		if err != nil {
			de, ok := order.AsError(err)
			if !ok || de.Kind != order.KindInvalid || de.Code != "validation" || len(de.Fields) == 0 {
				t.Fatalf("Validate refused with %#v, want a validation error naming fields", err)
			}
			for _, fe := range de.Fields {
				if fe.Field == "" || fe.Detail == "" {
					t.Fatalf("a field error without its field or detail: %+v", fe)
				}
			}
			return
		}
		// Every limit holds, checked here on its own.
		for _, c := range []struct {
			field, value string
			limit        int
		}{
			{"id", id, order.MaxIDLength}, {"customer.email", email, order.MaxEmailLength},
			{"customer.phone", phone, order.MaxPhoneLength}, {"customer.name", name, order.MaxNameLength},
			{"customer.language", language, order.MaxLanguageLength}, {"customer.push_token", pushToken, order.MaxPushTokenLength},
			{"fulfilment.store_id", storeID, order.MaxStoreIDLength}, {"lines[0].sku", sku, order.MaxSKULength},
			{"payment.method", method, order.MaxPaymentMethodLength}, {"payment.reference", reference, order.MaxPaymentReferenceLength},
			{"nominee.name", nomineeName, order.MaxNameLength}, {"nominee.phone", nomineePhone, order.MaxPhoneLength},
		} {
			if order.TooLong(c.value, c.limit) {
				t.Fatalf("accepted %s of more than %d characters: %q", c.field, c.limit, c.value)
			}
		}
		o := r.NewOrder("ord_1", "100001")
		if o.Total() != amount {
			t.Fatalf("accepted an order whose total %d is not the amount authorised %d", o.Total(), amount)
		}
		if normal, ok := order.NormalPhone(o.Customer.Phone); phone != "" && (!ok || normal != o.Customer.Phone) {
			t.Fatalf("the stored phone %q is not in normal form", o.Customer.Phone)
		}
		// The canonical JSON (the request hash's input) is the same request.
		canonical, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again order.PlaceRequest
		dec := json.NewDecoder(bytes.NewReader(canonical))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&again); err != nil {
			t.Fatalf("%s does not decode: %v", canonical, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("%s is refused once re-marshalled: %v", canonical, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("%s decodes to %+v, not %+v", canonical, again, r)
		}
	})
}
