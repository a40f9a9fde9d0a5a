package integration

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// receiver is another system's webhook endpoint. It checks every delivery's
// signature itself (not with Omni's code), answers 503 until it is up, and
// remembers what it acknowledged.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	ready   chan struct{} // closed once the secrets are known
	mu      sync.Mutex
	secrets map[string]string // by path
	upAt    time.Time
	// Per path, every request with a valid signature, in arrival order.
	got map[string][]delivery
	// Requests whose signature did not verify.
	bad []string
}

type delivery struct {
	id    string
	body  []byte
	at    time.Time
	acked bool
	event struct {
		OrderID string `json:"order_id"`
		Seq     int64  `json:"seq"`
		Type    string `json:"type"`
	}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, ready: make(chan struct{}), secrets: map[string]string{}, got: map[string][]delivery{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// start lets deliveries in; the receiver is down (503) for downFor.
func (r *receiver) start(downFor time.Duration) {
	r.mu.Lock()
	r.upAt = time.Now().Add(downFor)
	r.mu.Unlock()
	close(r.ready)
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	<-r.ready
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := verifySignature(r.secrets[req.URL.Path], req.Header, body, time.Now()); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s %s: %v", req.URL.Path, req.Header.Get("webhook-id"), err))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	now := time.Now()
	d := delivery{id: req.Header.Get("webhook-id"), body: body, at: now, acked: now.After(r.upAt)}
	if err := json.Unmarshal(body, &d.event); err != nil || req.Header.Get("Content-Type") != "application/json" {
		r.bad = append(r.bad, fmt.Sprintf("%s %s: not a JSON event: %s", req.URL.Path, d.id, body))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.got[req.URL.Path] = append(r.got[req.URL.Path], d)
	if !d.acked {
		w.WriteHeader(http.StatusServiceUnavailable) // down for a while
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forOrder returns the deliveries of one order's events to path.
func (r *receiver) forOrder(path, orderID string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got[path] {
		if d.event.OrderID == orderID {
			out = append(out, d)
		}
	}
	return out
}

// verifySignature checks a delivery as the README tells receivers to: the
// key is the base64 after "whsec_"; the signature is base64(HMAC-SHA256(key,
// id + "." + timestamp + "." + body)) after "v1,"; the timestamp is recent.
func verifySignature(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return fmt.Errorf("no usable secret %q", secret)
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("bad webhook-id %q or webhook-timestamp %q", id, ts)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s off", ts, d)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("signature %q does not match", h.Get("webhook-signature"))
}

type subscription struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Active     bool     `json:"active"`
	Secret     string   `json:"secret"`
	CreatedAt  string   `json:"created_at"`
}

// subscribe creates a subscription through the admin API, and deletes it when
// the test ends so that other tests' events stop going to it.
func (c *api) subscribe(url string, eventTypes []string) subscription {
	c.t.Helper()
	body := map[string]any{"url": url}
	if eventTypes != nil {
		body["event_types"] = eventTypes
	}
	r := c.do(http.MethodPost, "/v1/admin/webhooks", body)
	require.Equal(c.t, http.StatusCreated, r.Status, "subscribe: %s", r.Body)
	var s subscription
	require.NoError(c.t, json.Unmarshal(r.Body, &s))
	require.Equal(c.t, "/v1/admin/webhooks/"+s.ID, r.Header.Get("Location"))
	c.t.Cleanup(func() { c.do(http.MethodDelete, "/v1/admin/webhooks/"+s.ID, nil) })
	return s
}

type deliveryView struct {
	EventID       string  `json:"event_id"`
	OrderID       string  `json:"order_id"`
	Seq           int64   `json:"seq"`
	Type          string  `json:"type"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	LastStatus    *int    `json:"last_status"`
	LastError     *string `json:"last_error"`
	NextAttemptAt *string `json:"next_attempt_at"`
	DeliveredAt   *string `json:"delivered_at"`
}

func (c *api) deliveries(subID, query string) []deliveryView {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/admin/webhooks/"+subID+"/deliveries"+query, nil)
	require.Equal(c.t, http.StatusOK, r.Status, "deliveries: %s", r.Body)
	var body struct {
		SubscriptionID string         `json:"subscription_id"`
		Deliveries     []deliveryView `json:"deliveries"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	require.Equal(c.t, subID, body.SubscriptionID)
	return body.Deliveries
}

func (c *api) timelineEvents(orderID string) []map[string]any {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+orderID+"/events", nil)
	require.Equal(c.t, http.StatusOK, r.Status, "events: %s", r.Body)
	var body struct {
		Events []map[string]any `json:"events"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	return body.Events
}

func eventID(orderID string, seq any) string {
	return fmt.Sprintf("evt_%s_%v", orderID, seq)
}

// TestWebhooksReceiverDownForAWhile: a receiver that answers 503 for its
// first seconds still ends up with every event of an order exactly once
// after de-duplication by webhook-id, every delivery correctly signed, and the
// admin sees the retries.
func TestWebhooksReceiverDownForAWhile(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	rec := newReceiver(t)
	all := c.subscribe(rec.srv.URL+"/all", nil)
	collected := c.subscribe(rec.srv.URL+"/collected", []string{"collected"})
	require.Empty(t, all.EventTypes)
	require.Equal(t, []string{"collected"}, collected.EventTypes)
	require.NotEqual(t, all.Secret, collected.Secret)
	rec.secrets["/all"], rec.secrets["/collected"] = all.Secret, collected.Secret
	const downFor = 3 * time.Second
	rec.start(downFor)

	sku := unique("SKU")
	c.setStock(store, sku, 5)
	id := c.place(orderBody(unique("wh"), store, line(sku, 2, 750)))
	c.waitStatus(id, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick",
		map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	code := c.order(id).Pickup.Code
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)

	// Wait until the receiver has acknowledged every event of the timeline.
	acked := func(ds []delivery) map[string]bool {
		ids := map[string]bool{}
		for _, d := range ds {
			if d.acked {
				ids[d.id] = true
			}
		}
		return ids
	}
	var events []map[string]any
	want := map[string]bool{}
	deadline := time.Now().Add(45 * time.Second)
	for {
		events = c.timelineEvents(id)
		clear(want)
		for _, e := range events {
			want[eventID(id, e["seq"])] = true
		}
		got := acked(rec.forOrder("/all", id))
		if maps.Equal(got, want) && len(want) >= 7 { // placed … payment_captured
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 45s the receiver acknowledged %d of the order's %d events: %v", len(got), len(want), got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	rec.mu.Lock()
	require.Empty(t, rec.bad, "every delivery is signed with its subscription's secret")
	rec.mu.Unlock()

	// Exactly once after de-duplication: the acknowledged ids are the
	// timeline's, and every copy of an id carries the same body, which is the
	// timeline event with its order id.
	ds := rec.forOrder("/all", id)
	require.Equal(t, want, acked(ds), "every event of the order, and nothing else")
	bodies := map[string][]byte{}
	firstSeen := map[string]time.Time{}
	for _, d := range ds {
		if prev, ok := bodies[d.id]; ok {
			require.True(t, bytes.Equal(prev, d.body), "%s: every attempt sends the same bytes:\n%s\n%s", d.id, prev, d.body)
		} else {
			bodies[d.id], firstSeen[d.id] = d.body, d.at
		}
		require.Equal(t, eventID(id, d.event.Seq), d.id, "webhook-id is evt_<order>_<seq>")
	}
	for _, e := range events {
		var body map[string]any
		require.NoError(t, json.Unmarshal(bodies[eventID(id, e["seq"])], &body))
		require.Equal(t, id, body["order_id"])
		for _, k := range []string{"seq", "type", "channel", "actor", "data"} {
			require.Equal(t, e[k], body[k], "%s of event %v: the delivered event is the timeline's", k, e["seq"])
		}
		sent, err := time.Parse(time.RFC3339Nano, body["at"].(string))
		require.NoError(t, err)
		read, err := time.Parse(time.RFC3339Nano, e["at"].(string))
		require.NoError(t, err)
		require.WithinDuration(t, read, sent, time.Microsecond, "at of event %v", e["seq"])
	}

	// The filtered subscription gets the collected event only.
	require.Eventually(t, func() bool { return len(acked(rec.forOrder("/collected", id))) > 0 },
		20*time.Second, 100*time.Millisecond, "the collected event reaches the filtered subscription")
	for _, d := range rec.forOrder("/collected", id) {
		require.Equal(t, "collected", d.event.Type, "%s", d.id)
	}
	require.Len(t, acked(rec.forOrder("/collected", id)), 1)

	// The admin sees each delivery, and the retries of those attempted while
	// the receiver was down.
	views := c.deliveries(all.ID, "?order_id="+id)
	require.Len(t, views, len(events))
	retried := 0
	for _, v := range views {
		require.Equal(t, "delivered", v.Status, "%s", v.EventID)
		require.True(t, want[v.EventID], "%s is one of the order's events", v.EventID)
		require.Equal(t, eventID(id, v.Seq), v.EventID)
		require.NotNil(t, v.DeliveredAt)
		require.Nil(t, v.NextAttemptAt, "nothing more is due")
		require.NotNil(t, v.LastStatus)
		require.Equal(t, http.StatusNoContent, *v.LastStatus)
		require.GreaterOrEqual(t, v.Attempts, 1)
		if firstSeen[v.EventID].Before(rec.upAt) {
			require.Greater(t, v.Attempts, 1, "%s was first tried while the receiver was down", v.EventID)
			retried++
		}
	}
	require.Positive(t, retried, "the order's first events were tried while the receiver was down")
	placed := c.deliveries(all.ID, "?order_id="+id+"&status=delivered&limit=1000")
	require.Len(t, placed, len(events))
	require.Empty(t, c.deliveries(all.ID, "?order_id="+id+"&status=pending"))
	require.Len(t, c.deliveries(collected.ID, "?order_id="+id), 1)

	// Failed attempts and the backlog are exported to Prometheus.
	m := c.do(http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, m.Status)
	require.Regexp(t, `(?m)^omni_webhook_backlog \d+$`, string(m.Body))
	require.Regexp(t, `(?m)^omni_webhook_failures_total \d+$`, string(m.Body))
}

// TestWebhookAdminAPI: only admins manage subscriptions; input is checked;
// the secret is shown once.
func TestWebhookAdminAPI(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sub := c.subscribe("https://erp.example.invalid/omni/events", []string{"collected", "expired", "collected"})
	require.Regexp(t, `^whsec_[A-Za-z0-9+/]{32}$`, sub.Secret)
	require.Equal(t, []string{"collected", "expired"}, sub.EventTypes, "repeated types count once")
	require.True(t, sub.Active)
	_, err := time.Parse(time.RFC3339, sub.CreatedAt)
	require.NoError(t, err)

	base := "/v1/admin/webhooks"
	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, base, map[string]any{"url": "https://example.com/hook"}},
		{http.MethodGet, base, nil},
		{http.MethodDelete, base + "/" + sub.ID, nil},
		{http.MethodGet, base + "/" + sub.ID + "/deliveries", nil},
	}
	for _, rt := range routes {
		for _, key := range []string{checkoutKey, store1Key, allStoresKey, supportKey} {
			require.Equal(t, "forbidden", problem(t, c.do(rt.method, rt.path, rt.body, "Authorization", "Bearer "+key),
				http.StatusForbidden), "%s %s with %s", rt.method, rt.path, key)
		}
		problem(t, c.do(rt.method, rt.path, rt.body, "Authorization", "none"), http.StatusUnauthorized)
	}

	// The list shows the subscription, never a secret.
	r := c.do(http.MethodGet, base, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, string(r.Body), "whsec_")
	require.NotContains(t, string(r.Body), `"secret"`)
	var list struct {
		Webhooks []subscription `json:"webhooks"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &list))
	i := slices.IndexFunc(list.Webhooks, func(s subscription) bool { return s.ID == sub.ID })
	require.GreaterOrEqual(t, i, 0, "the new subscription is listed")
	require.Equal(t, "https://erp.example.invalid/omni/events", list.Webhooks[i].URL)

	// Bad input.
	invalid := []struct {
		body  any
		field string
	}{
		{map[string]any{}, "url"},
		{map[string]any{"url": "ftp://example.com/x"}, "url"},
		{map[string]any{"url": "/relative"}, "url"},
		{map[string]any{"url": "https://example.com/" + strings.Repeat("x", 2048)}, "url"},
		{map[string]any{"url": "https://example.com/x", "event_types": []string{"Collected"}}, "event_types[0]"},
	}
	for _, tc := range invalid {
		r := c.do(http.MethodPost, base, tc.body)
		require.Equal(t, "validation", problem(t, r, http.StatusUnprocessableEntity), "%v", tc.body)
		require.Contains(t, string(r.Body), `"field":"`+tc.field+`"`, "%v", tc.body)
	}
	require.Equal(t, "unknown_field", problem(t, c.do(http.MethodPost, base,
		map[string]any{"url": "https://example.com/x", "secret": "mine"}), http.StatusBadRequest))
	require.Equal(t, "bad_query", problem(t, c.do(http.MethodGet, base+"/"+sub.ID+"/deliveries?status=lost", nil), http.StatusBadRequest))
	require.Equal(t, "bad_query", problem(t, c.do(http.MethodGet, base+"/"+sub.ID+"/deliveries?limit=0", nil), http.StatusBadRequest))
	require.Equal(t, "webhook_not_found", problem(t, c.do(http.MethodGet, base+"/wh_nope/deliveries", nil), http.StatusNotFound))
	require.Equal(t, "webhook_not_found", problem(t, c.do(http.MethodDelete, base+"/wh_nope", nil), http.StatusNotFound))

	// Deleting deactivates: it stays listed, inactive, with nothing pending.
	require.Equal(t, http.StatusNoContent, c.do(http.MethodDelete, base+"/"+sub.ID, nil).Status)
	require.Equal(t, http.StatusNoContent, c.do(http.MethodDelete, base+"/"+sub.ID, nil).Status, "again: no change")
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, base, nil).Body, &list))
	i = slices.IndexFunc(list.Webhooks, func(s subscription) bool { return s.ID == sub.ID })
	require.GreaterOrEqual(t, i, 0)
	require.False(t, list.Webhooks[i].Active)
	require.Empty(t, c.deliveries(sub.ID, "?status=pending"))
}
