package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// api is a tiny HTTP client for one Omni instance.
type api struct {
	t    *testing.T
	base string
}

func newAPI(t *testing.T) *api { return &api{t: t, base: baseURL} }

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

func (c *api) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+credentialFor(method, path, req.Header))
	} else if req.Header.Get("Authorization") == "none" {
		req.Header.Del("Authorization")
	}
	// Handovers, returns and exchanges require an Idempotency-Key: each test
	// request is its own action unless it names a key ("none" sends none).
	switch k := req.Header.Get("Idempotency-Key"); {
	case k == "none":
		req.Header.Del("Idempotency-Key")
	case k == "" && method == http.MethodPost && keyRequired(path):
		req.Header.Set("Idempotency-Key", unique("key"))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// The development credentials of omni.yaml, and a test key for every store.
const (
	checkoutKey  = "dev-checkout-key"
	supportKey   = "dev-support-key"
	adminKey     = "dev-admin-key"
	store1Key    = "dev-store-001-key"
	allStoresKey = "it-all-stores-key"
	// otherCheckoutKey is a second checkout service: it must not see the first one's orders.
	otherCheckoutKey = "it-other-checkout-key"
	store2Key        = "dev-store-002-key"
)

// credentialFor is who a test request acts as unless it says otherwise (an
// Authorization header; "none" sends none): the checkout places and reads its
// orders, store staff work the stores, the admin feeds stock, the contact
// centre extends pickups and cancels on its channel.
func credentialFor(method, path string, h http.Header) string {
	switch {
	case strings.HasPrefix(path, "/v1/stores/") && strings.Contains(path, "/stock/") && method == http.MethodPut:
		return adminKey
	case strings.HasPrefix(path, "/v1/admin/"):
		return adminKey
	case strings.HasPrefix(path, "/v1/stores/"):
		return allStoresKey
	case strings.HasSuffix(path, "/extend-pickup"),
		strings.HasSuffix(path, "/cancel") && h.Get("Omni-Channel") == "contact_centre":
		return supportKey
	}
	return checkoutKey
}

// keyRequired reports whether a POST to path must carry an Idempotency-Key.
func keyRequired(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return strings.HasPrefix(path, "/v1/stores/") && (strings.HasSuffix(path, "/collect") ||
		strings.HasSuffix(path, "/returns") || strings.HasSuffix(path, "/exchanges") ||
		strings.HasSuffix(path, "/ship") || strings.HasSuffix(path, "/receive") || strings.HasSuffix(path, "/orders"))
}

var seq atomic.Int64

// unique returns a name no other test uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

// orderBody is a valid order for sku at store.
func orderBody(id, store string, lines ...map[string]any) map[string]any {
	var total int64
	for _, l := range lines {
		total += l["quantity"].(int64) * l["unit_price"].(int64)
	}
	b := map[string]any{
		"channel":    "web",
		"customer":   map[string]any{"id": "c-1", "email": "ada@example.com", "phone": "+447700900001", "name": "Ada Lovelace"},
		"currency":   "GBP",
		"fulfilment": map[string]any{"type": "collect", "store_id": store},
		"lines":      lines,
		"payment":    map[string]any{"method": "card", "reference": "psp-" + id, "amount": total},
	}
	if id != "" {
		b["id"] = id
	}
	return b
}

func line(sku string, qty, price int64) map[string]any {
	return map[string]any{"sku": sku, "quantity": qty, "unit_price": price}
}

func (c *api) setStock(store, sku string, onHand int64) {
	c.t.Helper()
	r := c.do(http.MethodPut, "/v1/stores/"+store+"/stock/"+sku, map[string]any{"on_hand": onHand})
	require.Equal(c.t, http.StatusOK, r.Status, "set stock: %s", r.Body)
}

type stock struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

func (c *api) stock(store, sku string) stock {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/stores/"+store+"/stock/"+sku, nil)
	require.Equal(c.t, http.StatusOK, r.Status, "get stock: %s", r.Body)
	var s stock
	require.NoError(c.t, json.Unmarshal(r.Body, &s))
	require.Equal(c.t, s.OnHand-s.Reserved, s.Available, "available = on_hand - reserved")
	return s
}

// place places an order and returns its id.
func (c *api) place(body map[string]any) string {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v1/orders", body, "Idempotency-Key", unique("key"))
	require.Equal(c.t, http.StatusCreated, r.Status, "place: %s", r.Body)
	return r.json(c.t)["id"].(string)
}

type orderDoc struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Status string `json:"status"`
	Lines  []struct {
		SKU       string `json:"sku"`
		Quantity  int64  `json:"quantity"`
		Picked    int64  `json:"picked"`
		Collected int64  `json:"collected"`
	} `json:"lines"`
	Pickup struct {
		StoreID   string  `json:"store_id"`
		Code      string  `json:"code"`
		ReadyAt   *string `json:"ready_at"`
		ExpiresAt *string `json:"expires_at"`
	} `json:"pickup"`
	Payments []struct {
		Amount   int64 `json:"amount"`
		Captured int64 `json:"captured"`
		Voided   int64 `json:"voided"`
	} `json:"payments"`
	Version int64 `json:"version"`
}

func (c *api) order(id string) orderDoc {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil)
	require.Equal(c.t, http.StatusOK, r.Status, "get order: %s", r.Body)
	var o orderDoc
	require.NoError(c.t, json.Unmarshal(r.Body, &o))
	return o
}

// waitStatus polls the read model until the order reaches status.
func (c *api) waitStatus(id, status string) orderDoc {
	c.t.Helper()
	return c.waitStatusWithin(id, status, 20*time.Second)
}

// waitStatusWithin polls the read model until the order reaches status.
func (c *api) waitStatusWithin(id, status string, within time.Duration) orderDoc {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		o := c.order(id)
		if o.Status == status {
			return o
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("order %s is %s, waited for %s", id, o.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *api) eventTypes(id string) []string {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil)
	require.Equal(c.t, http.StatusOK, r.Status, "events: %s", r.Body)
	var body struct {
		Events []struct {
			Seq     int64  `json:"seq"`
			Type    string `json:"type"`
			Channel string `json:"channel"`
			Actor   string `json:"actor"`
		} `json:"events"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	types := make([]string, len(body.Events))
	for i, e := range body.Events {
		require.Equal(c.t, int64(i+1), e.Seq, "timeline seqs are contiguous from 1")
		require.NotEmpty(c.t, e.Channel, "event %s has a channel", e.Type)
		require.NotEmpty(c.t, e.Actor, "event %s has an actor", e.Type)
		types[i] = e.Type
	}
	return types
}

// problem checks a problem+json answer and returns its type.
func problem(t *testing.T, r response, status int) string {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.json(t)
	require.EqualValues(t, status, p["status"])
	require.NotEmpty(t, p["detail"])
	return strings.TrimPrefix(p["type"].(string), "urn:omni:problem:")
}

func countOrders(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, omni.DB().Pool().QueryRow(context.Background(), "select count(*) from orders where "+where, args...).Scan(&n))
	return n
}
