package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIdempotencyKeyRules(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 10)
	body := orderBody("", store, line(sku, 1, 1500))
	body["customer"].(map[string]any)["email"] = unique("idem") + "@example.com"
	email := body["customer"].(map[string]any)["email"]

	require.Equal(t, "idempotency_key_missing", problem(t, c.do(http.MethodPost, "/v1/orders", body), http.StatusBadRequest))

	key := unique("key")
	first := c.do(http.MethodPost, "/v1/orders", body, "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, first.Status, "place: %s", first.Body)
	again := c.do(http.MethodPost, "/v1/orders", body, "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, again.Status)
	require.JSONEq(t, string(first.Body), string(again.Body), "the same response again")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, 1, countOrders(t, "customer_email = $1", email), "no second order")

	other := orderBody("", store, line(sku, 2, 1500))
	require.Equal(t, "idempotency_key_reused", problem(t, c.do(http.MethodPost, "/v1/orders", other, "Idempotency-Key", key),
		http.StatusUnprocessableEntity))

	// Racing duplicates: one order, every answer a 201 with it or a 409 "in progress".
	key2 := unique("key")
	body2 := orderBody("", store, line(sku, 1, 1500))
	body2["customer"].(map[string]any)["email"] = unique("race") + "@example.com"
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	ids := make([]string, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.do(http.MethodPost, "/v1/orders", body2, "Idempotency-Key", key2)
			statuses[i] = r.Status
			if r.Status == http.StatusCreated {
				var o struct{ ID string }
				_ = json.Unmarshal(r.Body, &o)
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	var created string
	for i, s := range statuses {
		require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, s)
		if s == http.StatusCreated {
			if created == "" {
				created = ids[i]
			}
			require.Equal(t, created, ids[i], "every 201 names the same order")
		}
	}
	require.NotEmpty(t, created)
	require.Equal(t, 1, countOrders(t, "customer_email = $1", body2["customer"].(map[string]any)["email"]))
	c.waitStatus(created, "awaiting_pick")

	// A client-chosen id is the order's id, and cannot be taken twice.
	id := unique("web")
	require.Equal(t, id, c.place(orderBody(id, store, line(sku, 1, 1500))))
	require.Equal(t, "order_exists", problem(t, c.do(http.MethodPost, "/v1/orders", orderBody(id, store, line(sku, 1, 1500)),
		"Idempotency-Key", unique("key")), http.StatusConflict))
}

// TestOrderIDsAreEachCheckoutsOwn: a checkout cannot learn which order ids
// another checkout used. The web checkout (no prefix) and the app checkout
// ("app-") choose ids in namespaces that cannot meet, so asking for another
// checkout's id is refused for its spelling alone, exactly as for an id that
// nobody used, and "order_exists" only ever names the caller's own order.
func TestOrderIDsAreEachCheckoutsOwn(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	const store, sku = "store-003", "SKU-NAMESPACE"
	c.setStock(store, sku, 50)
	app := func(id, key string) response {
		return c.do(http.MethodPost, "/v1/orders", orderBody(id, store, line(sku, 1, 1500)),
			"Idempotency-Key", key, "Authorization", "Bearer "+otherCheckoutKey)
	}

	webID := c.place(orderBody(unique("web"), store, line(sku, 1, 1500)))
	taken, unused := app(webID, unique("key")), app(unique("web"), unique("key"))
	require.Equal(t, "order_id_outside_namespace", problem(t, taken, http.StatusUnprocessableEntity),
		"another checkout's id: %s", taken.Body)
	problem(t, unused, http.StatusUnprocessableEntity)
	require.Equal(t, string(unused.Body), string(taken.Body), "a taken id and an unused one get the same answer")

	appID := unique("app")
	r := app(appID, unique("key"))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, "order_exists", problem(t, app(appID, unique("key")), http.StatusConflict), "its own order")
	require.Equal(t, "order_id_outside_namespace", problem(t, c.do(http.MethodPost, "/v1/orders",
		orderBody(appID, store, line(sku, 1, 1500)), "Idempotency-Key", unique("key")), http.StatusUnprocessableEntity),
		"the web checkout may not choose ids in the app's namespace")
	require.Equal(t, "order_id_outside_namespace", problem(t, c.do(http.MethodPost, "/v1/orders",
		orderBody("ord_"+unique("x"), store, line(sku, 1, 1500)), "Idempotency-Key", unique("key")), http.StatusUnprocessableEntity),
		"ids Omni draws are Omni's")
}

func TestBadOrdersCreateNothing(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	email := unique("bad") + "@example.com"
	valid := func() map[string]any {
		b := orderBody("", store, line("SKU-BAD", 1, 1000))
		b["customer"].(map[string]any)["email"] = email
		return b
	}
	with := func(f func(b map[string]any)) map[string]any { b := valid(); f(b); return b }
	manyLines := make([]map[string]any, 101)
	for i := range manyLines {
		manyLines[i] = line(fmt.Sprintf("SKU-%d", i), 1, 100)
	}
	huge := `{"channel":"web","customer":{"email":"` + email + `","name":"` + strings.Repeat("x", 1<<20+10) + `"}}`

	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		typ    string
		field  string
	}{
		{"malformed JSON", `{"channel": "web",`, "", 400, "malformed_json", ""},
		{"not an object", `[1,2,3]`, "", 400, "wrong_type", ""},
		{"wrong type", with(func(b map[string]any) {
			b["lines"] = []any{map[string]any{"sku": "A", "quantity": "two", "unit_price": 1}}
		}), "", 400, "wrong_type", "lines.quantity"},
		{"unknown field", with(func(b map[string]any) { b["coupon"] = "FREE" }), "", 400, "unknown_field", "coupon"},
		{"zero quantity", with(func(b map[string]any) { b["lines"] = []any{line("A", 0, 1000)} }), "", 422, "validation", "lines[0].quantity"},
		{"negative quantity", with(func(b map[string]any) { b["lines"] = []any{line("A", -1, 1000)} }), "", 422, "validation", "lines[0].quantity"},
		{"zero price", with(func(b map[string]any) { b["lines"] = []any{line("A", 1, 0)} }), "", 422, "validation", "lines[0].unit_price"},
		{"negative price", with(func(b map[string]any) { b["lines"] = []any{line("A", 1, -5)} }), "", 422, "validation", "lines[0].unit_price"},
		{"empty lines", with(func(b map[string]any) { b["lines"] = []any{} }), "", 422, "validation", "lines"},
		{"too many lines", with(func(b map[string]any) { b["lines"] = manyLines }), "", 422, "validation", "lines"},
		{"unknown store", with(func(b map[string]any) { b["fulfilment"] = map[string]any{"type": "collect", "store_id": "store-999"} }), "", 422, "unknown_store", "fulfilment.store_id"},
		{"amount mismatch", with(func(b map[string]any) { b["payment"].(map[string]any)["amount"] = 1 }), "", 422, "validation", "payment.amount"},
		{"bad email", with(func(b map[string]any) { b["customer"].(map[string]any)["email"] = "not-an-email" }), "", 422, "validation", "customer.email"},
		{"bad currency", with(func(b map[string]any) { b["currency"] = "pounds" }), "", 422, "validation", "currency"},
		{"oversize body", huge, "", 413, "body_too_large", ""},
		{"wrong content type", "channel=web", "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"empty body", "", "", 400, "empty_body", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Idempotency-Key", unique("key")}
			if tc.ctype != "" {
				headers = append(headers, "Content-Type", tc.ctype)
			}
			body := tc.body
			if s, ok := body.(string); ok && s == "" {
				body = []byte{}
			}
			r := c.do(http.MethodPost, "/v1/orders", body, headers...)
			got := problem(t, r, tc.status)
			require.Equal(t, tc.typ, got, "problem type; body: %s", r.Body)
			if tc.field != "" {
				require.Contains(t, string(r.Body), `"field":"`+tc.field+`"`, "names the offending field")
			}
		})
	}
	require.Equal(t, 0, countOrders(t, "customer_email = $1", email), "no bad request created an order")
}
