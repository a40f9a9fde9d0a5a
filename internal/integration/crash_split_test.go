package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A process killed with SIGKILL half-way through shipping the second parcel
// of a split order finishes the shipment after a restart, with no client
// retrying it: one label per parcel, each shipment captured once, each
// location's stock committed once; the store's retry with its key gets the
// first answer.
func TestCrashMidSplit(t *testing.T) {
	t.Parallel()
	cc := newCrashChild(t)
	c := cc.api
	a, b := unique("SKU"), unique("SKU")
	c.setStock(store, a, 4)
	c.setStock(manchester, b, 4)
	id := c.place(shipOrderBody(line(a, 1, 1000), line(b, 2, 1500)))
	c.waitStatus(id, "awaiting_pick")
	require.Len(t, c.fulfilled(id).Fulfilments, 2, "split across London and Manchester")
	c.pickOK(store, id, qty(a, 1))
	c.pickOK(manchester, id, qty(b, 2))
	r := c.ship(store, id)
	require.Equal(t, http.StatusOK, r.Status, "ship London: %s", r.Body)

	// Manchester's capture will hang inside PostgreSQL; its ship request with it.
	blocked := cc.blockInserts("payments", "when (new.kind = 'capture')")
	key := unique("ship")
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/stores/"+manchester+"/orders/"+id+"/ship", nil)
		req.Header.Set("Authorization", "Bearer "+allStoresKey)
		req.Header.Set("Idempotency-Key", key)
		hc := &http.Client{Timeout: 2 * time.Minute}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	blocked.waitBlocked()
	// The label exists, the capture is in flight: the kill lands between them.
	require.Equal(t, "2", cc.queryString("select count(*)::text from carrier_shipments where request->>'order_id' = $1", id))
	cc.kill()
	<-done
	blocked.release()

	start := time.Now()
	cc.restart()
	o := c.waitStatusWithin(id, "shipped", 60*time.Second)
	t.Logf("the shipment finished %s after restart", time.Since(start).Round(time.Millisecond))

	// The store's retry gets the first answer and repeats nothing. The dead
	// request's claim on the key holds until its lease ends (409 with
	// Retry-After meanwhile, as a client is told).
	deadline := time.Now().Add(30 * time.Second)
	for r = c.ship(manchester, id, "Idempotency-Key", key); r.Status == http.StatusConflict && time.Now().Before(deadline); {
		require.Equal(t, "1", r.Header.Get("Retry-After"))
		time.Sleep(time.Second)
		r = c.ship(manchester, id, "Idempotency-Key", key)
	}
	require.Equal(t, http.StatusOK, r.Status, "retry: %s", r.Body)
	require.Equal(t, "2", cc.queryString("select count(*)::text from carrier_shipments where request->>'order_id' = $1", id),
		"one label per parcel")
	require.Equal(t, []string{"authorization 4000", "capture 1000", "capture 3000"}, cc.ledger(id), "each shipment captured once")
	require.EqualValues(t, 4000, o.Payments[0].Captured)
	require.Equal(t, stock{OnHand: 3, Available: 3}, c.stock(store, a))
	require.Equal(t, stock{OnHand: 2, Available: 2}, c.stock(manchester, b), "committed once")
	f := c.fulfilled(id)
	for _, loc := range []string{store, manchester} {
		require.Equal(t, "shipped", f.at(t, loc).Status)
		require.NotEmpty(t, f.at(t, loc).Shipment.TrackingNumber)
	}
	require.Equal(t, 2, count(c.eventTypes(id), "shipped"))
}
