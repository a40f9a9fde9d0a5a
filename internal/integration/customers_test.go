package integration

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// customerOrder places an order for customer (a "customer" object) on channel
// as the checkout key (unless headers say otherwise), and waits for it to
// reach the store.
func (c *api) customerOrder(sku, channel string, customer map[string]any, headers ...string) string {
	c.t.Helper()
	body := orderBody("", store, line(sku, 1, 1250))
	body["channel"] = channel
	body["customer"] = customer
	r := c.do(http.MethodPost, "/v1/orders", body, append([]string{"Idempotency-Key", unique("key")}, headers...)...)
	require.Equal(c.t, http.StatusCreated, r.Status, "place: %s", r.Body)
	id := r.json(c.t)["id"].(string)
	if len(headers) == 0 { // another checkout's order: the test's client does not see it
		c.waitStatus(id, "awaiting_pick")
	}
	return id
}

func (c *api) asSupport(method, path string, body any, headers ...string) response {
	c.t.Helper()
	return c.do(method, path, body, append([]string{"Authorization", "Bearer " + supportKey}, headers...)...)
}

// timelineEntry is one entry of GET /v1/customers/{id}/timeline.
type timelineEntry struct {
	ID      string         `json:"id"`
	At      time.Time      `json:"at"`
	Kind    string         `json:"kind"`
	OrderID string         `json:"order_id"`
	Type    string         `json:"type"`
	Channel string         `json:"channel"`
	Actor   string         `json:"actor"`
	Data    map[string]any `json:"data"`
}

// A contact-centre agent finds a customer by a phone typed any way, sees
// every order across web, app and a guest checkout, logs a call about one
// order, and sees it on the customer's timeline (live too) and on the order's.
func TestCustomerAcrossChannels(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 10)
	cid := unique("cust")
	email := strings.ToLower(cid) + "@example.com"
	registered := map[string]any{"id": cid, "email": email, "phone": "+447700900001", "name": "Ada " + cid}
	web := c.customerOrder(sku, "web", registered)
	app := c.customerOrder(sku, "app", registered)
	// A guest order with the same email, typed differently, joins the customer.
	guest := c.customerOrder(sku, "web", map[string]any{"email": strings.ToUpper(email), "name": "Ada"})
	// Another checkout's order for the same customer: support sees it, the first checkout does not.
	foreign := c.customerOrder(sku, "app", registered, "Authorization", "Bearer "+otherCheckoutKey)

	// Search: a phone typed any way, an email in any case, a name, an order number.
	ids := func(query string) []string {
		t.Helper()
		r := c.asSupport(http.MethodGet, "/v1/customers?"+query, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", query, r.Body)
		var body struct {
			Customers []struct{ ID string } `json:"customers"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		var out []string
		for _, cu := range body.Customers {
			out = append(out, cu.ID)
		}
		return out
	}
	for _, typed := range []string{"+44 7700-900 001", "0044 (7700) 900.001", "+447700900001"} {
		require.Contains(t, ids("phone="+url.QueryEscape(typed)), cid, "phone typed %q", typed)
	}
	require.Equal(t, []string{cid}, ids("email="+url.QueryEscape(strings.ToUpper(email))))
	require.Equal(t, []string{cid}, ids("q="+url.QueryEscape(strings.ToUpper(cid))), "by name, any case")
	require.Equal(t, []string{cid}, ids("q="+c.order(guest).Number), "by order number")
	require.Equal(t, "bad_query", problem(t, c.asSupport(http.MethodGet, "/v1/customers?phone=not-a-phone", nil), http.StatusBadRequest))
	require.Equal(t, "bad_query", problem(t, c.asSupport(http.MethodGet, "/v1/customers", nil), http.StatusBadRequest))

	// The customer view lists every order, newest first, with status, store and pickup window.
	r := c.asSupport(http.MethodGet, "/v1/customers/"+cid, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var view struct {
		Customer struct {
			ID, Email, Phone string
			OrderCount       int `json:"order_count"`
			OpenOrderCount   int `json:"open_order_count"`
		} `json:"customer"`
		Orders []struct {
			ID, Status, Channel string
			StoreID             string `json:"store_id"`
			Total               int64
			Pickup              map[string]any `json:"pickup"`
		} `json:"orders"`
		Interactions []map[string]any `json:"interactions"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &view))
	require.Equal(t, email, view.Customer.Email)
	require.Equal(t, "+447700900001", view.Customer.Phone)
	require.Equal(t, 4, view.Customer.OrderCount)
	require.Equal(t, 4, view.Customer.OpenOrderCount)
	require.Len(t, view.Orders, 4)
	require.Equal(t, []string{foreign, guest, app, web},
		[]string{view.Orders[0].ID, view.Orders[1].ID, view.Orders[2].ID, view.Orders[3].ID})
	require.Equal(t, "app", view.Orders[2].Channel)
	require.Equal(t, "awaiting_pick", view.Orders[3].Status)
	require.Equal(t, store, view.Orders[3].StoreID)
	require.Equal(t, int64(1250), view.Orders[3].Total)
	require.Contains(t, view.Orders[3].Pickup, "expires_at")
	require.NotContains(t, string(r.Body), `"code"`, "no pickup code in the customer view")
	require.Empty(t, view.Interactions)

	// The checkout's "my orders": only its own.
	mine := c.do(http.MethodGet, "/v1/customers/"+cid+"/orders", nil)
	require.Equal(t, http.StatusOK, mine.Status, "%s", mine.Body)
	require.Len(t, mine.json(t)["orders"], 3)
	theirs := c.do(http.MethodGet, "/v1/customers/"+cid+"/orders", nil, "Authorization", "Bearer "+otherCheckoutKey)
	require.Equal(t, http.StatusOK, theirs.Status)
	require.Len(t, theirs.json(t)["orders"], 1)
	require.Equal(t, "customer_not_found", problem(t,
		c.do(http.MethodGet, "/v1/customers/"+unique("nobody")+"/orders", nil), http.StatusNotFound))

	// The timeline is live: open it, then log the call.
	stream := openCustomerStream(t, cid)

	// Validation: 422 with the fields; an order of another customer's is refused.
	bad := c.asSupport(http.MethodPost, "/v1/customers/"+cid+"/interactions",
		map[string]any{"channel": "fax", "summary": strings.Repeat("x", 2001)})
	require.Equal(t, "validation", problem(t, bad, http.StatusUnprocessableEntity))
	require.Contains(t, string(bad.Body), `"channel"`)
	require.Contains(t, string(bad.Body), `"summary"`)
	someoneElses := c.place(orderBody("", store, line(sku, 1, 1250)))
	bad = c.asSupport(http.MethodPost, "/v1/customers/"+cid+"/interactions",
		map[string]any{"channel": "phone", "summary": "x", "order_id": someoneElses})
	require.Equal(t, "validation", problem(t, bad, http.StatusUnprocessableEntity))
	require.Contains(t, string(bad.Body), `"order_id"`)

	call := map[string]any{"channel": "phone", "summary": "Asked where the app order is; told it is being picked.",
		"order_id": app, "outcome": "resolved"}
	key := unique("call")
	logged := c.asSupport(http.MethodPost, "/v1/customers/"+cid+"/interactions", call,
		"Idempotency-Key", key, "Omni-Actor", "agent-7")
	require.Equal(t, http.StatusCreated, logged.Status, "%s", logged.Body)
	in := logged.json(t)
	require.Equal(t, "agent-7", in["actor"])
	require.Equal(t, "contact_centre", in["actor_channel"])
	again := c.asSupport(http.MethodPost, "/v1/customers/"+cid+"/interactions", call,
		"Idempotency-Key", key, "Omni-Actor", "agent-7")
	require.Equal(t, http.StatusCreated, again.Status)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(logged.Body), string(again.Body), "a retry stores nothing twice")

	// On the customer's timeline: newest first, the call on top, every order's placement below.
	tl := c.asSupport(http.MethodGet, "/v1/customers/"+cid+"/timeline", nil)
	require.Equal(t, http.StatusOK, tl.Status, "%s", tl.Body)
	var page struct {
		Entries []timelineEntry `json:"entries"`
		Next    string          `json:"next"`
	}
	require.NoError(t, json.Unmarshal(tl.Body, &page))
	require.Equal(t, "interaction", page.Entries[0].Kind)
	require.Equal(t, app, page.Entries[0].OrderID)
	require.Equal(t, "phone", page.Entries[0].Channel)
	require.Equal(t, "agent-7", page.Entries[0].Actor)
	require.Equal(t, in["id"], page.Entries[0].Data["interaction_id"])
	placed := map[string]bool{}
	for i, e := range page.Entries {
		if i > 0 {
			require.False(t, e.At.After(page.Entries[i-1].At), "newest first")
		}
		if e.Kind == "order_event" && e.Type == "placed" {
			placed[e.OrderID] = true
		}
	}
	require.Equal(t, map[string]bool{web: true, app: true, guest: true, foreign: true}, placed)
	require.Empty(t, page.Next)

	// Pages of one, cursor by cursor, are the same entries.
	var paged []string
	for before, n := "", 0; ; n++ {
		require.Less(t, n, 200)
		r := c.asSupport(http.MethodGet, "/v1/customers/"+cid+"/timeline?limit=1&before="+url.QueryEscape(before), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var p struct {
			Entries []timelineEntry `json:"entries"`
			Next    string          `json:"next"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &p))
		for _, e := range p.Entries {
			paged = append(paged, e.ID)
		}
		if p.Next == "" {
			break
		}
		before = p.Next
	}
	require.GreaterOrEqual(t, len(paged), len(page.Entries))
	for i, e := range page.Entries {
		require.Equal(t, e.ID, paged[i])
	}

	// Live: the stream showed the call.
	require.Equal(t, in["id"], stream.waitInteraction(t, in["id"].(string)).Data["interaction_id"])

	// And on the order's own timeline, once its workflow has recorded it.
	evs, _ := c.waitEvents(app, "customer_contacted", 1)
	require.Equal(t, in["id"], evs[0].Data["interaction_id"])
	require.Equal(t, "phone", evs[0].Data["contact_channel"])
	require.Equal(t, "contact_centre", evs[0].Channel)
	require.Equal(t, "agent-7", evs[0].Actor)

	// The customer view shows the call.
	r = c.asSupport(http.MethodGet, "/v1/customers/"+cid, nil)
	require.NoError(t, json.Unmarshal(r.Body, &view))
	require.Len(t, view.Interactions, 1)
	require.Equal(t, in["id"], view.Interactions[0]["id"])
}

// Every customer route × role: support only, but for a checkout's own orders
// of a customer; an unknown customer is 404.
func TestCustomerRoutesRoles(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	cid := unique("cust-roles")
	id := c.customerOrder(sku, "web", map[string]any{"id": cid, "email": cid + "@example.com"})
	principals := []struct{ name, key string }{
		{"checkout", checkoutKey}, {"other checkout", otherCheckoutKey}, {"store-001", store1Key},
		{"support", supportKey}, {"admin", adminKey}, {"customer", customerToken(id)}, {"nobody", ""},
	}
	cu, unknown := "/v1/customers/"+cid, "/v1/customers/"+unique("nobody")
	tests := []struct {
		method, path string
		body         any
		want         []int
	}{
		{"GET", "/v1/customers?q=" + cid, nil, []int{403, 403, 403, 200, 403, 403, 401}},
		{"GET", cu, nil, []int{403, 403, 403, 200, 403, 403, 401}},
		{"GET", unknown, nil, []int{403, 403, 403, 404, 403, 403, 401}},
		{"GET", cu + "/orders", nil, []int{200, 404, 403, 200, 403, 403, 401}},
		{"GET", unknown + "/orders", nil, []int{404, 404, 403, 404, 403, 403, 401}},
		{"GET", cu + "/timeline", nil, []int{403, 403, 403, 200, 403, 403, 401}},
		{"GET", unknown + "/timeline", nil, []int{403, 403, 403, 404, 403, 403, 401}},
		{"GET", cu + "/timeline/stream", nil, []int{403, 403, 403, 0, 403, 403, 401}},
		{"GET", unknown + "/timeline/stream", nil, []int{403, 403, 403, 404, 403, 403, 401}},
		{"POST", cu + "/interactions", map[string]any{}, []int{403, 403, 403, 422, 403, 403, 401}},
		{"POST", unknown + "/interactions", map[string]any{"channel": "chat", "summary": "hi"},
			[]int{403, 403, 403, 404, 403, 403, 401}},
	}
	for _, tc := range tests {
		for i, p := range principals {
			if tc.want[i] == 0 {
				continue // allowed, but a stream never ends: TestCustomerAcrossChannels reads it
			}
			auth := "none"
			if p.key != "" {
				auth = "Bearer " + p.key
			}
			r := c.do(tc.method, tc.path, tc.body, "Authorization", auth, "Idempotency-Key", unique("key"))
			require.Equal(t, tc.want[i], r.Status, "%s %s as %s: %s", tc.method, tc.path, p.name, r.Body)
			if r.Status >= 400 {
				require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "%s %s as %s", tc.method, tc.path, p.name)
			}
			if r.Status == http.StatusNotFound && strings.HasPrefix(tc.path, cu) {
				require.Equal(t, strings.ReplaceAll(string(c.do(tc.method, unknown+strings.TrimPrefix(tc.path, cu), tc.body,
					"Authorization", auth).Body), strings.TrimPrefix(unknown, "/v1/customers/"), cid), string(r.Body),
					"a customer the caller may not know reads as an unknown one")
			}
		}
	}
}

// customerStream is an open GET /v1/customers/{id}/timeline/stream.
type customerStream struct {
	entries chan timelineEntry
}

func openCustomerStream(t *testing.T, cid string) *customerStream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, baseURL+"/v1/customers/"+cid+"/timeline/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+supportKey)
	resp, err := streamClient.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("open customer stream: %d %s", resp.StatusCode, body)
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	t.Cleanup(func() { resp.Body.Close() })
	s := &customerStream{entries: make(chan timelineEntry, 100)}
	go func() {
		defer close(s.entries)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e timelineEntry
			if json.Unmarshal([]byte(data), &e) == nil {
				s.entries <- e
			}
		}
	}()
	return s
}

// waitInteraction waits for the interaction's entry on the stream.
func (s *customerStream) waitInteraction(t *testing.T, id string) timelineEntry {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-s.entries:
			require.True(t, ok, "the stream ended before the interaction came")
			if e.Kind == "interaction" && e.Data["interaction_id"] == id {
				return e
			}
		case <-timeout:
			t.Fatalf("interaction %s not on the live timeline", id)
		}
	}
}
