package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/app"
)

// queueSnapshot is one message of a store's live queue.
type queueSnapshot struct {
	StoreID string `json:"store_id"`
	Orders  []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Overdue bool   `json:"overdue"`
		Pickup  struct {
			Code string `json:"code"`
		} `json:"pickup"`
	} `json:"orders"`
}

// openStoreStream opens GET /v1/stores/{store}/events/stream and sends each
// queue snapshot on the channel until the test ends.
func openStoreStream(t *testing.T, base, store, key string) <-chan queueSnapshot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/stores/"+store+"/events/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	out := make(chan queueSnapshot, 64)
	go func() {
		defer res.Body.Close()
		defer close(out)
		s := bufio.NewScanner(res.Body)
		s.Buffer(make([]byte, 64*1024), 8*1024*1024)
		event := ""
		for s.Scan() {
			line := s.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "queue":
				var snap queueSnapshot
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &snap) == nil {
					select {
					case out <- snap:
					case <-ctx.Done():
						return
					}
				}
			case line == "":
				event = ""
			}
		}
	}()
	return out
}

// waitQueue reads snapshots until one shows the order as want says.
func waitQueue(t *testing.T, snaps <-chan queueSnapshot, within time.Duration, what string, want func(q queueSnapshot) bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case q, ok := <-snaps:
			require.True(t, ok, "the stream ended before %s", what)
			if want(q) {
				return
			}
		case <-deadline:
			t.Fatalf("no queue snapshot showed %s within %s", what, within)
		}
	}
}

func orderIn(q queueSnapshot, id, status string, overdue bool) bool {
	for _, o := range q.Orders {
		if o.ID == id {
			if o.Pickup.Code != "" {
				panic("a store's queue showed a pickup code")
			}
			return o.Status == status && o.Overdue == overdue
		}
	}
	return false
}

func absent(q queueSnapshot, id string) bool {
	for _, o := range q.Orders {
		if o.ID == id {
			return false
		}
	}
	return true
}

// TestStoreQueueStream: a store's live queue shows a new order at once, then
// its changes, and drops it once it no longer needs the store.
func TestStoreQueueStream(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	const store = "store-002"
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	snaps := openStoreStream(t, baseURL, store, store2Key)
	first := <-snaps
	require.Equal(t, store, first.StoreID, "a snapshot is sent at once")

	id := c.place(orderBody("", store, line(sku, 1, 500)))
	waitQueue(t, snaps, 10*time.Second, "the new order awaiting pick", func(q queueSnapshot) bool { return orderIn(q, id, "awaiting_pick", false) })
	c.pickOK(store, id, qty(sku, 1))
	waitQueue(t, snaps, 10*time.Second, "the order ready", func(q queueSnapshot) bool { return orderIn(q, id, "ready_for_collection", false) })
	code := c.order(id).Pickup.Code
	c.collectOK(store, id, map[string]any{"pickup_code": code, "collected_by": map[string]any{"name": "Ada", "relation": "customer"}})
	waitQueue(t, snaps, 10*time.Second, "the collected order gone", func(q queueSnapshot) bool { return absent(q, id) })

	// Only the store's own staff.
	for _, key := range []string{store1Key, checkoutKey, adminKey} {
		r := c.do(http.MethodGet, "/v1/stores/"+store+"/events/stream", nil, "Authorization", "Bearer "+key)
		require.Equal(t, "forbidden", problem(t, r, http.StatusForbidden), "key %s", key)
	}
}

// TestStoreQueueStreamOverdue: an order its store has not picked by the pick
// deadline shows as overdue (the Omni with clocks in seconds: deadline 2 s).
func TestStoreQueueStreamOverdue(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: clocksURL}
	const store = "store-003"
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	snaps := openStoreStream(t, clocksURL, store, "dev-store-003-key")
	id := c.place(orderBody("", store, line(sku, 1, 500)))
	waitQueue(t, snaps, 10*time.Second, "the order awaiting pick, not yet overdue", func(q queueSnapshot) bool { return orderIn(q, id, "awaiting_pick", false) })
	// Escalation (6 s) moves it on; overdue shows from 2 s.
	waitQueue(t, snaps, 5*time.Second, "the order overdue", func(q queueSnapshot) bool { return orderIn(q, id, "awaiting_pick", true) })
}

// TestConsoleReads: who a key is, the customer's own order by token, and an
// order found by its number at a store counter.
func TestConsoleReads(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	const store = "store-001"
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody("", store, line(sku, 2, 700)))
	o := c.waitStatus(id, "awaiting_pick")

	var me struct {
		Role   string `json:"role"`
		Name   string `json:"name"`
		Stores []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"stores"`
		OrderID string `json:"order_id"`
	}
	r := c.do(http.MethodGet, "/v1/me", nil, "Authorization", "Bearer "+store1Key)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &me))
	require.Equal(t, "store", me.Role)
	require.Len(t, me.Stores, 1)
	require.Equal(t, "London Oxford Street", me.Stores[0].Name)
	r = c.do(http.MethodGet, "/v1/me", nil, "Authorization", "Bearer "+allStoresKey)
	require.NoError(t, json.Unmarshal(r.Body, &me))
	require.Len(t, me.Stores, 4, "every store and warehouse of the key, in its order")
	require.Equal(t, "store-003", me.Stores[2].ID)
	require.Equal(t, "unauthenticated", problem(t, c.do(http.MethodGet, "/v1/me", nil, "Authorization", "none"), http.StatusUnauthorized))

	token, _ := app.AuthOf(testConfig(t.TempDir(), "", "")).CustomerToken(id, time.Now())
	customer := "Bearer " + token
	r = c.do(http.MethodGet, "/v1/me", nil, "Authorization", customer)
	require.NoError(t, json.Unmarshal(r.Body, &me))
	require.Equal(t, "customer", me.Role)
	require.Equal(t, id, me.OrderID)

	var mine struct {
		Order orderDoc `json:"order"`
		Store struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"store"`
	}
	r = c.do(http.MethodGet, "/v1/customer/order", nil, "Authorization", customer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &mine))
	require.Equal(t, id, mine.Order.ID)
	require.Equal(t, "London Oxford Street", mine.Store.Name)
	require.Empty(t, mine.Order.Pickup.Code, "no code before the pick")
	c.pickOK(store, id, qty(sku, 2))
	r = c.do(http.MethodGet, "/v1/customer/order", nil, "Authorization", customer)
	require.NoError(t, json.Unmarshal(r.Body, &mine))
	require.Len(t, mine.Order.Pickup.Code, 8, "the customer sees the pickup code")
	require.Equal(t, "forbidden", problem(t, c.do(http.MethodGet, "/v1/customer/order", nil, "Authorization", "Bearer "+store1Key), http.StatusForbidden))

	byNumber := func(at, key string) response {
		return c.do(http.MethodGet, "/v1/stores/"+at+"/orders/by-number/"+o.Number, nil, "Authorization", "Bearer "+key)
	}
	r = byNumber(store, store1Key)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var found orderDoc
	require.NoError(t, json.Unmarshal(r.Body, &found))
	require.Equal(t, id, found.ID)
	require.Empty(t, found.Pickup.Code, "store staff never see the code")
	require.Equal(t, "order_not_found", problem(t, byNumber("store-002", store2Key), http.StatusNotFound),
		"another store may not know of an order not yet handed over")
	require.Equal(t, "forbidden", problem(t, byNumber("store-002", store1Key), http.StatusForbidden))
	require.Equal(t, "order_not_found", problem(t,
		c.do(http.MethodGet, "/v1/stores/store-001/orders/by-number/99999999", nil, "Authorization", "Bearer "+store1Key), http.StatusNotFound))
	c.collectOK(store, id, map[string]any{"pickup_code": mine.Order.Pickup.Code, "collected_by": map[string]any{"name": "Ada", "relation": "customer"}})
	require.Equal(t, http.StatusOK, byNumber("store-002", store2Key).Status, "any store finds a handed-over order, for a return")
}

// TestConsolePages: the console and the customer's page are served by Omni
// itself with a strict Content-Security-Policy, and their assets too.
func TestConsolePages(t *testing.T) {
	t.Parallel()
	get := func(path string) *http.Response {
		res, err := http.Get(baseURL + path)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for _, path := range []string{"/console", "/console/", "/o/ct1.anything.sig"} {
		res := get(path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), path)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
		require.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), path)
	}
	require.Equal(t, "no-store", get("/o/ct1.x.y").Header.Get("Cache-Control"), "the token's page is not cached")
	for _, asset := range []string{"console.js", "order.js", "api.js", "qr.js", "style.css", "icon.svg"} {
		require.Equal(t, http.StatusOK, get("/console/assets/"+asset).StatusCode, asset)
	}
	require.Equal(t, http.StatusNotFound, get("/console/assets/console.html").StatusCode)
	require.Equal(t, http.StatusNotFound, get("/console/nope").StatusCode)
}
