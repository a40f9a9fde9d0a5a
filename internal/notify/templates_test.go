package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/order"
)

var expiresAt = time.Date(2030, 3, 4, 17, 30, 0, 0, time.UTC)

// workflowData is, for every template the order and return workflows send,
// data shaped as they send it (workflows/order.go, lifecycle.go, reassign.go,
// returns.go), plus what the Notifier adds (store names, link, name).
var workflowData = map[string]map[string]any{
	"ready":     {"pickup_code": "K7P2QX9M", "store_id": "store-001", "expires_at": expiresAt},
	"reminder":  {"store_id": "store-001", "expires_at": &expiresAt},
	"expired":   {},
	"cancelled": {"reason": "customer changed their mind"},
	"rejected":  {"reason": "damaged stock"},
	"collected": {"amount": int64(3998), "refused": []order.LineQty{{SKU: "SKU-2", Quantity: 1}}},
	"short_picked": {"missing": []order.LineQty{{SKU: "SKU-9", Quantity: 2}}, "total": int64(1999), "currency": "GBP",
		"choices": []string{"collect", "cancel"}},
	"store_changed":   {"store_id": "store-002", "previous_store_id": "store-001", "reason": "no stock"},
	"pickup_extended": {"expires_at": expiresAt},
	"refunded":        {"id": "r-1", "store_id": "store-003", "refunded": int64(1999), "charged": int64(0), "currency": "GBP"},
	"exchange":        {"id": "x-1", "store_id": "store-003", "refunded": int64(0), "charged": int64(500), "currency": "GBP"},
	// workflows/shipment.go and transfer.go
	"shipped": {"fulfilment_id": "f1", "store_id": "wh-north", "shipment_id": "shp_1", "tracking_number": "OMNI123",
		"tracking_url": "https://track.example/OMNI123", "parcels": 1, "lines": []order.LineQty{{SKU: "SKU-1", Quantity: 1}}},
	"delivered": {"fulfilment_id": "f1", "shipment_id": "shp_1", "tracking_number": "OMNI123", "status": "delivered",
		"at": expiresAt, "lines": []order.LineQty{{SKU: "SKU-1", Quantity: 1}}},
	"delivery_failed": {"fulfilment_id": "f1", "shipment_id": "shp_1", "tracking_number": "OMNI123",
		"status": "failed_attempt", "at": expiresAt},
	"returned_to_sender": {"fulfilment_id": "f1", "shipment_id": "shp_1", "tracking_number": "OMNI123",
		"status": "returned_to_sender", "at": expiresAt, "refund": int64(1999)},
	"transfer_scheduled": {"store_id": "store-001", "expected_at": expiresAt},
}

// render renders as the Notifier does: data through JSON, then its fields.
func render(t *testing.T, lang, event string) Rendered {
	t.Helper()
	data, err := normalize(workflowData[event])
	require.NoError(t, err)
	data["order_number"] = "1042"
	data["customer_name"] = "Ada"
	data["currency"] = "GBP"
	data["link"] = "https://shop.example/o/ct1.token"
	for _, prefix := range []string{"", "previous_"} {
		if id, ok := data[prefix+"store_id"].(string); ok {
			data[prefix+"store_name"] = "Store " + id
		}
	}
	r, err := Render(lang, event, data)
	require.NoError(t, err)
	return r
}

func checkRendered(t *testing.T, name string, r Rendered) {
	t.Helper()
	require.NotEmpty(t, r.Subject, "%s: subject", name)
	require.Contains(t, r.Subject, "1042", "%s: the subject names the order", name)
	require.Contains(t, r.Body, "1042", "%s: the body names the order", name)
	require.Contains(t, r.Body, "https://shop.example/o/ct1.token", "%s: the body links to the order", name)
	for _, bad := range []string{"<no value>", "%!", "map[", "<nil>"} {
		require.NotContains(t, r.Subject+r.Body, bad, "%s renders a missing or raw value:\n%s\n%s", name, r.Subject, r.Body)
	}
	require.NotContains(t, r.Subject, "\n")
}

func TestEveryWorkflowTemplateRendersInEnglish(t *testing.T) {
	for event := range workflowData {
		t.Run(event, func(t *testing.T) {
			require.True(t, HasTemplate("en", event), "templates/en/%s.txt is missing", event)
			r := render(t, "en", event)
			require.Equal(t, "en", r.Language)
			checkRendered(t, event, r)
		})
	}
}

func TestEveryTemplateOfEveryLanguageRenders(t *testing.T) {
	for lang, events := range catalog {
		for event := range events {
			if event == genericTemplate {
				continue
			}
			t.Run(lang+"/"+event, func(t *testing.T) {
				require.True(t, HasTemplate("en", event), "%s/%s has no English original", lang, event)
				require.Contains(t, workflowData, event, "%s/%s is not a template the workflows send", lang, event)
				r := render(t, lang, event)
				require.Equal(t, lang, r.Language)
				checkRendered(t, lang+"/"+event, r)
			})
		}
	}
}

func TestTemplateContents(t *testing.T) {
	ready := render(t, "en", "ready")
	require.Equal(t, "Your order 1042 is ready to collect", ready.Subject)
	require.Contains(t, ready.Body, "Hello Ada,")
	require.Contains(t, ready.Body, "Your pickup code: K7P2QX9M")
	require.Contains(t, ready.Body, "at Store store-001")
	require.Contains(t, ready.Body, "until Mon 4 Mar 2030, 17:30 UTC")

	fr := render(t, "fr", "ready")
	require.Equal(t, "Votre commande 1042 est prête à être retirée", fr.Subject)
	require.Contains(t, fr.Body, "Votre code de retrait : K7P2QX9M")
	require.Contains(t, fr.Body, "jusqu'au 04/03/2030 à 17:30 UTC")

	require.Contains(t, render(t, "en", "short_picked").Body, "- SKU-9 x 2")
	require.Contains(t, render(t, "en", "short_picked").Body, "Your new total is GBP 19.99")
	require.Contains(t, render(t, "fr", "refunded").Body, "19,99 GBP vous sont remboursés")
	require.Contains(t, render(t, "en", "exchange").Body, "You paid GBP 5.00 for the difference.")
	require.NotContains(t, render(t, "en", "exchange").Body, "refunded", "nothing refunded, nothing said")
	require.Contains(t, render(t, "en", "collected").Body, "You paid GBP 39.98.")
	require.Contains(t, render(t, "en", "store_changed").Body, "Store store-001 cannot prepare your order")
	for _, event := range []string{"cancelled", "rejected"} {
		require.NotContains(t, render(t, "en", event).Body, workflowData[event]["reason"],
			"staff's free-text reasons are not for customers")
	}
}

func TestLanguageFallback(t *testing.T) {
	tests := []struct {
		lang, event, want string
	}{
		{"", "ready", "en"},
		{"fr", "ready", "fr"},
		{"FR", "ready", "fr"},
		{"fr-CA", "ready", "fr"},
		{"fr_BE", "expired", "fr"},
		{"de", "ready", "de"},
		{"de-AT", "rejected", "en"}, // no German template for it
		{"xx", "ready", "en"},
		{"pt-BR", "cancelled", "en"},
	}
	for _, tc := range tests {
		r := render(t, tc.lang, tc.event)
		require.Equal(t, tc.want, r.Language, "language %q, template %s", tc.lang, tc.event)
	}
	// Templates the issue asks to have in another language than English.
	for _, event := range []string{"ready", "reminder", "expired", "cancelled", "refunded", "exchange"} {
		require.True(t, HasTemplate("fr", event), "fr/%s", event)
		require.True(t, HasTemplate("de", event), "de/%s", event)
	}
	require.True(t, slices.Contains(Languages(), "fr"))
}

func TestUnknownEventGetsTheGenericTemplate(t *testing.T) {
	r, err := Render("fr", "teleported", map[string]any{"order_number": "7"})
	require.NoError(t, err)
	require.Equal(t, "fr", r.Language)
	require.Equal(t, "Du nouveau pour votre commande 7", r.Subject)
	require.Contains(t, r.Body, "(teleported)")
	require.False(t, strings.Contains(r.Body, "<no value>"))
}

func TestMoney(t *testing.T) {
	en, fr := funcsFor("en")["money"].(func(any, any) string), funcsFor("fr")["money"].(func(any, any) string)
	require.Equal(t, "GBP 19.99", en(float64(1999), "GBP"))
	require.Equal(t, "GBP 0.05", en(int64(5), "GBP"))
	require.Equal(t, "GBP -1.50", en(-150, "GBP"))
	require.Equal(t, "JPY 1999", en(float64(1999), "JPY"))
	require.Equal(t, "KWD 1.999", en(float64(1999), "KWD"))
	require.Equal(t, "19,99 EUR", fr(float64(1999), "EUR"))
}

func TestMessagesNameProductsNotSKUs(t *testing.T) {
	data, err := normalize(workflowData["short_picked"])
	require.NoError(t, err)
	data["order_number"], data["link"] = "1042", "https://shop.example/o/ct1.token"
	data["products"] = map[string]any{"SKU-9": "Linen shirt (Navy, M)"}
	r, err := Render("en", "short_picked", data)
	require.NoError(t, err)
	require.Contains(t, r.Body, "Linen shirt (Navy, M) x 2")
	require.NotContains(t, r.Body, "SKU-9")
}
