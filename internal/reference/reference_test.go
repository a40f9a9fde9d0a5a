package reference_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/adapters/contract"
	"github.com/omni-retail/omni/internal/reference"
)

const token = "ref-token"

type client struct {
	t    *testing.T
	base string
}

func start(t *testing.T, failFirst bool) client {
	db := contract.FreshDB(t, "reference")
	srv := httptest.NewServer(reference.New(db, token, failFirst))
	t.Cleanup(srv.Close)
	return client{t: t, base: srv.URL}
}

// do sends one request; key "" sends no Idempotency-Key.
func (c client) do(method, path, key string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, &out), string(raw))
	}
	return resp.StatusCode, resp.Header, out
}

func (c client) ok(method, path, key string, body any, want int) map[string]any {
	c.t.Helper()
	status, _, out := c.do(method, path, key, body)
	require.Equal(c.t, want, status, "%s %s: %v", method, path, out)
	return out
}

func lines(kv ...any) []map[string]any {
	var out []map[string]any
	for i := 0; i < len(kv); i += 2 {
		out = append(out, map[string]any{"sku": kv[i], "quantity": kv[i+1]})
	}
	return out
}

func TestCommonRules(t *testing.T) {
	c := start(t, false)
	req, _ := http.NewRequest(http.MethodGet, c.base+"/availability?location_id=s1&sku=A", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token")
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a wrong token")

	status, hdr, out := c.do(http.MethodPost, "/reservations", "", map[string]any{"order_id": "o1", "location_id": "s1", "lines": lines("A", 1)})
	require.Equal(t, http.StatusBadRequest, status, "a POST without Idempotency-Key")
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	require.True(t, strings.HasSuffix(out["type"].(string), "/idempotency_key_required"), out)
	status, _, _ = c.do(http.MethodPost, "/reservations", strings.Repeat("k", 65), map[string]any{})
	require.Equal(t, http.StatusBadRequest, status, "a key over 64 characters")
	c.ok(http.MethodPost, "/reservations", "k-invalid", map[string]any{"order_id": "o1"}, http.StatusUnprocessableEntity)
}

// An order through every system: the books show each step once, with the
// right amounts, however often each call is repeated.
func TestBooksShowEachStepOnce(t *testing.T) {
	c := start(t, false)
	c.ok(http.MethodPut, "/admin/stock/s1/A", "", map[string]any{"on_hand": 5}, http.StatusOK)
	c.ok(http.MethodPut, "/admin/stock/s1/B", "", map[string]any{"on_hand": 1}, http.StatusOK)
	c.ok(http.MethodPut, "/admin/authorizations/pay-1", "", map[string]any{"order_id": "o1", "amount": 3000, "currency": "EUR"}, http.StatusOK)

	// Short: 409 insufficient_stock naming B, nothing held.
	status, hdr, out := c.do(http.MethodPost, "/reservations", "o1/reserve/s1", map[string]any{"order_id": "o1", "location_id": "s1", "lines": lines("A", 2, "B", 2)})
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	require.True(t, strings.HasSuffix(out["type"].(string), "/insufficient_stock"), out)
	require.Equal(t, []any{"B"}, out["short"])
	av := c.ok(http.MethodGet, "/availability?location_id=s1&sku=B", "", nil, http.StatusOK)
	require.Equal(t, map[string]any{"location_id": "s1", "sku": "B", "on_hand": 1.0, "reserved": 0.0, "available": 1.0}, av)

	body := map[string]any{"order_id": "o1", "location_id": "s1", "lines": lines("A", 2, "B", 1)}
	first := c.ok(http.MethodPost, "/reservations", "o1/reserve/s1b", body, http.StatusCreated)
	again := c.ok(http.MethodPost, "/reservations", "o1/reserve/s1b", body, http.StatusCreated)
	require.Equal(t, first, again, "a repeated key answers the same")
	rid := first["reservation_id"].(string)
	require.NotEmpty(t, rid)
	// The key with another body is refused, not taken for a retry.
	c.ok(http.MethodPost, "/reservations", "o1/reserve/s1b", map[string]any{"order_id": "o1", "location_id": "s1", "lines": lines("A", 1)}, http.StatusConflict)
	c.ok(http.MethodPost, "/reservations/res_nope/commit", "x", map[string]any{"lines": lines("A", 1)}, http.StatusNotFound)

	for range 2 {
		c.ok(http.MethodPost, "/reservations/"+rid+"/commit", "o1/commit", map[string]any{"lines": lines("A", 2)}, http.StatusOK)
		c.ok(http.MethodPost, "/reservations/"+rid+"/release", "o1/release", nil, http.StatusOK)
		c.ok(http.MethodPost, "/pick-tasks", "o1/pick", map[string]any{"order_id": "o1", "order_number": "100001", "location_id": "s1",
			"lines": lines("A", 2), "due_by": "2030-01-01T10:00:00Z"}, http.StatusCreated)
		c.ok(http.MethodPost, "/payments/pay-1/capture", "o1/capture", map[string]any{"order_id": "o1", "amount": 2000, "currency": "EUR"}, http.StatusOK)
		c.ok(http.MethodPost, "/payments/pay-1/void", "o1/void", map[string]any{"order_id": "o1", "amount": 1000, "currency": "EUR"}, http.StatusOK)
		res := c.ok(http.MethodPost, "/payments/pay-1/refunds", "o1/refund", map[string]any{"order_id": "o1", "amount": 1000, "currency": "EUR", "reason": "return"}, http.StatusOK)
		require.Equal(t, "succeeded", res["status"])
		require.NotEmpty(t, res["psp_reference"])
		c.ok(http.MethodPost, "/locations/s1/adjustments", "o1/restock/A", map[string]any{"order_id": "o1", "sku": "A", "quantity": 1, "reason": "return"}, http.StatusOK)
		c.ok(http.MethodPost, "/locations/s1/adjustments", "o1/writeoff/A", map[string]any{"order_id": "o1", "sku": "A", "quantity": 1, "reason": "write_off"}, http.StatusOK)
	}
	// Refused: more than captured and not refunded; a capture above what is still authorised.
	c.ok(http.MethodPost, "/payments/pay-1/refunds", "o1/refund/2", map[string]any{"order_id": "o1", "amount": 1001, "currency": "EUR"}, http.StatusConflict)
	c.ok(http.MethodPost, "/payments/pay-1/capture", "o1/capture/2", map[string]any{"order_id": "o1", "amount": 1, "currency": "EUR"}, http.StatusConflict)
	c.ok(http.MethodPost, "/pick-tasks/o1/cancel", "o1/pick-cancel", map[string]any{"reason": "cancelled"}, http.StatusOK)

	b := c.ok(http.MethodGet, "/books?order_id=o1", "", nil, http.StatusOK)
	raw, _ := json.Marshal(b)
	var books reference.Books
	require.NoError(t, json.Unmarshal(raw, &books))
	require.Len(t, books.Reservations, 2)
	require.Equal(t, reference.ReservationLine{ReservationID: rid, LocationID: "s1", SKU: "A", Reserved: 2, Committed: 2}, books.Reservations[0])
	require.Equal(t, reference.ReservationLine{ReservationID: rid, LocationID: "s1", SKU: "B", Reserved: 1, Released: 1}, books.Reservations[1])
	var kinds []string
	var amounts []int64
	for _, p := range books.Payments {
		kinds, amounts = append(kinds, p.Kind), append(amounts, p.Amount)
	}
	require.Equal(t, []string{"authorization", "capture", "void", "refund"}, kinds)
	require.Equal(t, []int64{3000, 2000, 1000, 1000}, amounts)
	require.Len(t, books.Adjustments, 2)
	require.Equal(t, []string{"return", "write_off"}, []string{books.Adjustments[0].Reason, books.Adjustments[1].Reason})
	require.Len(t, books.PickTasks, 1)
	require.Equal(t, "cancelled", books.PickTasks[0].Status)
	require.Equal(t, "100001", books.PickTasks[0].OrderNumber)
	// A: 5, 2 sold, 1 back: 4 on hand.
	av = c.ok(http.MethodGet, "/availability?location_id=s1&sku=A", "", nil, http.StatusOK)
	require.Equal(t, 4.0, av["on_hand"])
}

func TestPricesAndCarrier(t *testing.T) {
	c := start(t, false)
	c.ok(http.MethodPut, "/admin/prices/A", "", map[string]any{"currency": "EUR", "unit_price": 1999}, http.StatusOK)
	p := c.ok(http.MethodGet, "/prices/A?currency=EUR&location_id=s1", "", nil, http.StatusOK)
	require.Equal(t, map[string]any{"sku": "A", "currency": "EUR", "unit_price": 1999.0}, p)
	c.ok(http.MethodGet, "/prices/A?currency=GBP", "", nil, http.StatusNotFound)

	ship := map[string]any{"order_id": "o2", "fulfilment_id": "f1", "from_location_id": "s1", "service": "standard",
		"address": map[string]any{"name": "A B", "line1": "1 Road", "city": "Town", "postcode": "1000", "country": "BE"},
		"parcels": []any{map[string]any{"lines": lines("A", 1)}}}
	label := c.ok(http.MethodPost, "/shipments", "o2/ship", ship, http.StatusCreated)
	require.Equal(t, label, c.ok(http.MethodPost, "/shipments", "o2/ship", ship, http.StatusCreated))
	id := label["shipment_id"].(string)
	c.ok(http.MethodPost, "/shipments/"+id+"/cancel", "o2/ship-cancel", map[string]any{"reason": "cancelled"}, http.StatusOK)
	label2 := c.ok(http.MethodPost, "/shipments", "o2/ship2", ship, http.StatusCreated)
	c.ok(http.MethodPut, "/admin/shipments/"+label2["shipment_id"].(string)+"/status", "", map[string]any{"status": "in_transit"}, http.StatusOK)
	c.ok(http.MethodPost, "/shipments/"+label2["shipment_id"].(string)+"/cancel", "o2/ship2-cancel", map[string]any{}, http.StatusConflict)
}

func TestFailFirst(t *testing.T) {
	c := start(t, true)
	// Admin endpoints and books are never failed.
	c.ok(http.MethodPut, "/admin/stock/s1/A", "", map[string]any{"on_hand": 5}, http.StatusOK)
	body := map[string]any{"order_id": "o1", "location_id": "s1", "lines": lines("A", 1)}
	status, hdr, out := c.do(http.MethodPost, "/reservations", "k1", body)
	require.Equal(t, http.StatusServiceUnavailable, status, out)
	require.Contains(t, []string{"0", "1"}, hdr.Get("Retry-After"))
	av := c.ok(http.MethodGet, "/availability?location_id=s1&sku=A", "", nil, http.StatusServiceUnavailable)
	require.NotNil(t, av)
	require.Equal(t, 5.0, c.ok(http.MethodGet, "/availability?location_id=s1&sku=A", "", nil, http.StatusOK)["available"],
		"the 503 moved nothing")
	c.ok(http.MethodPost, "/reservations", "k1", body, http.StatusCreated)
	c.ok(http.MethodPost, "/reservations", "k1", body, http.StatusCreated)
	// Another key is another step: its first attempt fails too.
	c.ok(http.MethodPost, "/reservations", "k2", body, http.StatusServiceUnavailable)
	c.ok(http.MethodGet, "/books?order_id=o1", "", nil, http.StatusOK)
}

func TestMainNeedsAToken(t *testing.T) {
	t.Setenv("OMNI_REFERENCE_TOKEN", "")
	err := reference.Main([]string{"-addr", "127.0.0.1:0"})
	require.ErrorContains(t, err, "-token")
}
