package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/app"
)

// TestBrowser drives the store console (/console/) and the customer's order
// page (/o/{token}) in Debian's Chromium, through playwright-core
// (e2e/run.mjs), against this package's Omni: a store associate signs in, sees
// a new order arrive live, picks an order and hands it over against the
// pickup code while the customer's page, open beside it, turns ready and then
// collected without a reload; a wrong pickup code is refused next to the
// handover; a return and an exchange go through the console. Then the
// exceptions: an order rejected with a reason moves to Manchester; a partial
// handover, then the rest; a line refused at the counter; a nominee
// collecting; another store finding a handed-over order by its number and
// taking it back, seeing no customer details; and, on the Omni with clocks in
// seconds, a pick past its deadline shows under Overdue. Every way an
// order reaches the customer (issue 12): a home delivery sent from this
// store is picked, packed in two parcels and shipped in the console, and its
// tracking shows there and, live, on the customer's page; a curbside
// customer says "I'm here" on their page, the console alerts live with the
// bay and the car, and the associate hands over at the car; and the endless
// aisle: the associate orders for a customer in the store an item only
// another store has, for home delivery, is told of a missing field next to
// it, fixes it and gets the order's number (the order is then checked here:
// channel store, placed at this store, by the associate). And the contact
// centre (issue 14): an agent signs in to the support console, finds a
// customer by a phone number typed any way, sees their web, app and guest
// orders, logs a call about one (checked here through the API and on the
// order's timeline), resends a message and cancels an order without leaving
// the page; then store analytics: the agent opens Analytics, sees the store's
// orders (the count the API answers, checked here), one chart bar per store
// row, and downloads the CSV. Screenshots go to
// $OMNI_SCREENSHOTS (make screenshots: docs/screenshots).
//
// It needs node (20+) on PATH, `npm ci --prefix e2e` (make test does it) and
// /usr/bin/chromium (apt-get install -y chromium; .ci/run does it); without
// them it fails, saying so.
func TestBrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the browser tests need Node.js 20+ on PATH: %v", err)
	}
	chromium := os.Getenv("OMNI_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser tests need Debian's Chromium at %s: apt-get install -y chromium (.ci/run does): %v", chromium, err)
	}
	if _, err := os.Stat(filepath.Join(root, "e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("the browser tests need their npm packages: npm ci --prefix e2e (make test does): %v", err)
	}

	c := newAPI(t)
	const store = "store-001"
	// Readable SKUs, for the screenshots: this test alone uses them.
	tee, mug, newMug := "TSHIRT-NAVY-M", "MUG-WHITE", "MUG-BLUE"
	for _, sku := range []string{tee, mug, newMug} {
		c.setStock(store, sku, 20)
	}
	c.setPrice(newMug, "GBP", 1099) // exchanged-in items are priced from the price list
	teeBefore, newMugBefore := c.stock(store, tee), c.stock(store, newMug)
	id := unique("web")
	c.place(orderBody(id, store, line(tee, 2, 1999), line(mug, 1, 899)))
	// A second order, with a nominee, so the queue shows more than one.
	other := orderBody("", store, line(tee, 1, 1999))
	other["customer"] = map[string]any{"id": "c-e2e-3", "email": "alan@example.com", "name": "Alan Turing"}
	other["nominee"] = map[string]any{"name": "Joan Clarke"}
	otherID := c.place(other)
	o := c.waitStatus(id, "awaiting_pick")
	c.waitStatus(otherID, "awaiting_pick")
	// The link of a notification: a customer token for the order, signed as
	// this Omni signs them (order lookups are rate-limited per address, and
	// other tests use them up).
	tokens := app.AuthOf(testConfig(t.TempDir(), "", ""))
	token, _ := tokens.CustomerToken(id, time.Now())

	// A home delivery sent from this store alone: its SKUs are here and
	// nowhere else (the warehouse wh-north and the other stores have none).
	lamp, shade := "LAMP-BRASS", "SHADE-LINEN"
	for _, sku := range []string{lamp, shade} {
		c.setStock(store, sku, 5)
	}
	sb := orderBody("", "", line(lamp, 2, 2499), line(shade, 1, 1299))
	sb["fulfilment"] = map[string]any{"type": "ship", "service": "standard", "address": map[string]any{
		"name": "Ada", "line1": "1 Road", "city": "London", "postcode": "N1 1AA", "country": "GB"}}
	shipID := c.place(sb)
	shipped := c.waitStatus(shipID, "awaiting_pick")
	shipToken, _ := tokens.CustomerToken(shipID, time.Now())

	// Orders for the exceptions at the counter, on SKUs of their own so that
	// the stock checks below stay about the first order.
	socks, capSKU, scarf, hat := "SOCKS-GREY", "CAP-BLACK", "SCARF-RED", "HAT-WOOL"
	for _, sku := range []string{socks, capSKU} {
		c.setStock(store, sku, 20)
	}
	// A rejected order moves to Manchester, the nearest other store with stock.
	c.setStock(store, scarf, 5)
	c.setStock("store-002", scarf, 5)
	c.setStock("store-003", scarf, 0)
	rejectID := c.place(orderBody("", store, line(scarf, 1, 2499)))
	// ready places an order and picks it in full, for a handover.
	ready := func(body map[string]any) map[string]any {
		oid := c.place(body)
		c.waitStatus(oid, "awaiting_pick")
		var lines []map[string]any
		for _, l := range body["lines"].([]map[string]any) {
			lines = append(lines, qty(l["sku"].(string), l["quantity"].(int64)))
		}
		c.pickOK(store, oid, lines...)
		o := c.waitStatus(oid, "ready_for_collection")
		return map[string]any{"id": oid, "number": o.Number, "code": o.Pickup.Code}
	}
	partial := ready(orderBody("", store, line(socks, 1, 799), line(capSKU, 1, 1499)))
	refused := ready(orderBody("", store, line(socks, 1, 799), line(capSKU, 1, 1499)))
	nb := orderBody("", store, line(socks, 2, 799))
	nb["nominee"] = map[string]any{"name": "Charles Babbage"}
	nominee := ready(nb)
	// A handed-over order of this store, for Manchester to find by its number,
	// take one pair back and exchange the other for a dearer cap it has.
	elsewhere := ready(orderBody("", store, line(socks, 2, 799)))
	// A curbside order, picked: its customer says "I'm here" on their page.
	cb := orderBody("", store, line(socks, 1, 799))
	cb["fulfilment"] = map[string]any{"type": "collect", "store_id": store, "curbside": true}
	curbside := ready(cb)
	curbside["token"], _ = tokens.CustomerToken(curbside["id"].(string), time.Now())
	c.setStock("store-002", capSKU, 5)
	c.setPrice(capSKU, "GBP", 1499)
	c.collectOK(store, elsewhere["id"].(string), map[string]any{"pickup_code": elsewhere["code"]})
	// Store analytics (issue 14): two more web orders here, one collected.
	for _, collect := range []bool{true, false} {
		a := ready(orderBody("", store, line(socks, 1, 799)))
		if collect {
			c.collectOK(store, a["id"].(string), map[string]any{"pickup_code": a["code"]})
		}
	}
	delete(elsewhere, "code")
	elsewhere["sku"], elsewhere["store"], elsewhere["storeName"], elsewhere["key"] = socks, "store-002", "Manchester Arndale", store2Key
	elsewhere["newSku"] = capSKU
	elsewhere["secrets"] = []string{"ada@example.com", "Ada Lovelace", "+447700900001", "psp-"}
	rejectNumber := c.waitStatus(rejectID, "awaiting_pick").Number
	// The overdue pick runs against the Omni with clocks in seconds, at Leeds,
	// on a SKU no other store has (escalated at 6 s, it ends rejected).
	c.setStock("store-003", hat, 5)
	// The endless aisle: a kettle this store lacks and Manchester (which
	// ships from store) has; the console prefills its list price.
	kettle, kettleFrom := "KETTLE-COPPER", "store-002"
	c.setStock(store, kettle, 0)
	c.setStock(kettleFrom, kettle, 3)
	c.setPrice(kettle, "GBP", 4500)
	// The contact centre (issue 14): one customer's orders on the web and in
	// the app, and a guest order with the same email, which joins them.
	supportCustomer := unique("c-e2e-support")
	supportEmail := supportCustomer + "@example.com"
	supportOrders := make([]map[string]any, 0, 3)
	for _, o := range []struct{ channel, words, customerID string }{
		{"web", "online", supportCustomer}, {"app", "in the app", supportCustomer}, {"web", "online", ""},
	} {
		body := orderBody("", store, line(socks, 1, 799))
		body["channel"] = o.channel
		customer := map[string]any{"email": supportEmail, "phone": "+447700900001", "name": "Mary Somerville"}
		if o.customerID != "" {
			customer["id"] = o.customerID
		}
		body["customer"] = customer
		oid := c.place(body)
		supportOrders = append(supportOrders, map[string]any{"id": oid, "channel": o.channel, "channelWords": o.words})
	}
	for _, o := range supportOrders {
		o["number"] = c.waitStatus(o["id"].(string), "awaiting_pick").Number
	}
	// The web order is ready, its message sent: support extends its pickup and resends the message.
	c.pickOK(store, supportOrders[0]["id"].(string), qty(socks, 1))
	c.waitStatus(supportOrders[0]["id"].(string), "ready_for_collection")
	require.Eventually(t, func() bool {
		return len(c.notifications(supportOrders[0]["id"].(string), "Authorization", "Bearer "+supportKey)) > 0
	}, 20*time.Second, 50*time.Millisecond, "the ready message is sent")
	supportCall := "Asked when the app order is ready: " + supportCustomer
	const associate = "Sam (e2e)" // the name the associate signs in with
	// What the browser did that this test checks afterwards (the order it placed).
	results := filepath.Join(t.TempDir(), "e2e-results.json")

	shots := os.Getenv("OMNI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	cfg := map[string]any{
		"baseURL": baseURL, "chromium": chromium, "screenshots": shots,
		"store": store, "storeName": "London Oxford Street",
		"keys": map[string]string{"store": store1Key, "checkout": checkoutKey},
		"skus": map[string]string{"tee": tee, "mug": mug, "newMug": newMug},
		"order": map[string]any{"id": id, "number": o.Number, "token": token, "email": "ada@example.com",
			"customerName": "Ada Lovelace", "lines": map[string]int{tee: 2, mug: 1}},
		"reject":  map[string]any{"id": rejectID, "number": rejectNumber, "sku": scarf, "to": "store-002"},
		"partial": partial, "refused": refused, "nominee": nominee, "elsewhere": elsewhere,
		"counterSkus": map[string]string{"socks": socks, "cap": capSKU},
		"ship": map[string]any{"id": shipID, "number": shipped.Number, "token": shipToken,
			"lines": map[string]int{lamp: 2, shade: 1}},
		"curbside": curbside,
		"endless":  map[string]any{"sku": kettle, "price": 4500, "from": kettleFrom, "actor": associate},
		"results":  results,
		"support": map[string]any{"key": supportKey, "agent": "Priya (e2e)", "phoneTyped": "+44 7700-900 001",
			"customer": supportCustomer, "name": "Mary Somerville", "email": supportEmail, "orders": supportOrders,
			"callAbout": supportOrders[1]["id"], "resend": supportOrders[0]["id"], "cancel": supportOrders[2]["id"],
			"summary": supportCall},
		"analytics": map[string]any{"store": store, "channel": "web", "currency": "GBP", "atLeast": 2},
		"clocks": map[string]any{"baseURL": clocksURL, "store": "store-003", "storeName": "Leeds Trinity",
			"key": "dev-store-003-key", "sku": hat},
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(t.TempDir(), "e2e.json")
	require.NoError(t, os.WriteFile(cfgPath, raw, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "run.mjs"), cfgPath)
	cmd.Dir = root
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	logLines(t, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the browser tests failed (node e2e/run.mjs: %v); their steps are logged above", err)
	}

	// What the console did, as the API reads it.
	var final struct {
		Status string `json:"status"`
		Lines  []struct {
			SKU       string `json:"sku"`
			Collected int64  `json:"collected"`
			Returned  int64  `json:"returned"`
		} `json:"lines"`
		Exchanges []struct {
			Difference int64 `json:"difference"`
		} `json:"exchanges"`
	}
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &final))
	require.Equal(t, "partially_returned", final.Status)
	require.Len(t, final.Exchanges, 1)
	require.EqualValues(t, 200, final.Exchanges[0].Difference)
	require.Len(t, final.Lines, 3, "the exchanged-in item is a line of the order")
	teeAfter := c.stock(store, tee)
	require.Equal(t, teeBefore.OnHand-1, teeAfter.OnHand, "two shirts handed over, one came back resellable")
	require.Equal(t, teeBefore.Reserved+2, teeAfter.Reserved, "the second order and the one placed live hold one each")
	require.Equal(t, newMugBefore.OnHand-1, c.stock(store, newMug).OnHand, "the new mug left the store")

	// The home delivery left the store in two parcels, with its tracking.
	var delivery struct {
		Status      string `json:"status"`
		Fulfilments []struct {
			LocationID string `json:"location_id"`
			Status     string `json:"status"`
			Shipment   *struct {
				TrackingNumber string `json:"tracking_number"`
				Parcels        int    `json:"parcels"`
			} `json:"shipment"`
		} `json:"fulfilments"`
	}
	r = c.do(http.MethodGet, "/v1/orders/"+shipID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &delivery))
	require.Equal(t, "shipped", delivery.Status)
	require.Len(t, delivery.Fulfilments, 1)
	require.Equal(t, store, delivery.Fulfilments[0].LocationID)
	require.NotNil(t, delivery.Fulfilments[0].Shipment)
	require.NotEmpty(t, delivery.Fulfilments[0].Shipment.TrackingNumber)
	require.Equal(t, 2, delivery.Fulfilments[0].Shipment.Parcels)
	require.Equal(t, int64(3), c.stock(store, lamp).OnHand, "two lamps left the store")
	// The curbside order was handed over at the car, after the customer said they were here.
	require.Equal(t, "collected", c.order(curbside["id"].(string)).Status)
	handovers, _ := c.eventsOfType(curbside["id"].(string), "collected")
	require.Len(t, handovers, 1)
	require.Equal(t, true, handovers[0].Data["curbside"])

	// The call the agent logged, as the API reads it: on the customer, about
	// the app order, by the agent through the contact centre, and on that
	// order's timeline; the guest order cancelled from the support console.
	var viewed struct {
		Orders []struct {
			ID string `json:"id"`
		} `json:"orders"`
		Interactions []struct {
			ID      string `json:"id"`
			Channel string `json:"channel"`
			Summary string `json:"summary"`
			OrderID string `json:"order_id"`
			Outcome string `json:"outcome"`
			Actor   string `json:"actor"`
		} `json:"interactions"`
	}
	r = c.do(http.MethodGet, "/v1/customers/"+supportCustomer, nil, "Authorization", "Bearer "+supportKey)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &viewed))
	require.Len(t, viewed.Orders, len(supportOrders), "web, app and the guest order with the same email: %s", r.Body)
	require.Len(t, viewed.Interactions, 1, "%s", r.Body)
	call := viewed.Interactions[0]
	require.Equal(t, "phone", call.Channel)
	require.Equal(t, supportCall, call.Summary)
	require.Equal(t, supportOrders[1]["id"], call.OrderID)
	require.Equal(t, "resolved", call.Outcome)
	require.Equal(t, "Priya (e2e)", call.Actor)
	contacted, _ := c.waitEvents(supportOrders[1]["id"].(string), "customer_contacted", 1)
	require.Equal(t, "contact_centre", contacted[0].Channel)
	require.Equal(t, "Priya (e2e)", contacted[0].Actor)
	require.Equal(t, "cancelled", c.order(supportOrders[2]["id"].(string)).Status)
	extended, _ := c.eventsOfType(supportOrders[0]["id"].(string), "pickup_extended")
	require.Len(t, extended, 1, "the pickup extended once, from the support console")
	require.Equal(t, "contact_centre", extended[0].Channel)

	// The endless-aisle order placed in the console: channel store, placed
	// at this store, sourced to Manchester, by the associate the console named.
	raw, err = os.ReadFile(results)
	require.NoError(t, err, "the browser tests write what they placed to %s", results)
	var placed struct {
		Endless struct {
			ID     string `json:"id"`
			Number string `json:"number"`
		} `json:"endless"`
		Analytics struct {
			Orders int64 `json:"orders"`
			Rows   int   `json:"rows"`
		} `json:"analytics"`
	}
	require.NoError(t, json.Unmarshal(raw, &placed))

	// The analytics page showed the API's figures: the store's web orders
	// over the last 7 days, and a row for every store row of the answer.
	now := time.Now().UTC()
	r = c.do(http.MethodGet, "/v1/analytics/stores?from="+now.AddDate(0, 0, -6).Format(time.DateOnly)+
		"&to="+now.AddDate(0, 0, 1).Format(time.DateOnly), nil, "Authorization", "Bearer "+supportKey)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var analytics struct {
		Stores []struct {
			StoreID  string `json:"store_id"`
			Channel  string `json:"channel"`
			Currency string `json:"currency"`
			Orders   int64  `json:"orders"`
		} `json:"stores"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &analytics))
	require.Len(t, analytics.Stores, placed.Analytics.Rows, "a table row per store row of the API: %s", r.Body)
	var webOrders int64 = -1
	for _, row := range analytics.Stores {
		if row.StoreID == store && row.Channel == "web" && row.Currency == "GBP" {
			webOrders = row.Orders
		}
	}
	require.Equal(t, webOrders, placed.Analytics.Orders, "the page showed the API's orders count: %s", r.Body)
	require.NotEmpty(t, placed.Endless.ID, "the console placed an order: %s", raw)
	var aisle struct {
		Number   string `json:"number"`
		Channel  string `json:"channel"`
		PlacedAt string `json:"placed_at_store_id"`
		Customer struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"customer"`
		Fulfilment struct {
			Type    string `json:"type"`
			Service string `json:"service"`
			Address struct{ Postcode string }
		} `json:"fulfilment"`
		Lines []struct {
			SKU       string `json:"sku"`
			Quantity  int64  `json:"quantity"`
			UnitPrice int64  `json:"unit_price"`
		} `json:"lines"`
		Payments []struct {
			Reference  string `json:"reference"`
			Authorized int64  `json:"amount"`
		} `json:"payments"`
		Fulfilments []struct {
			LocationID string `json:"location_id"`
		} `json:"fulfilments"`
	}
	r = c.do(http.MethodGet, "/v1/orders/"+placed.Endless.ID, nil, "Authorization", "Bearer "+supportKey)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &aisle))
	require.Equal(t, placed.Endless.Number, aisle.Number)
	require.Equal(t, "store", aisle.Channel)
	require.Equal(t, "kate@example.com", aisle.Customer.Email)
	require.Equal(t, "Kate Bush", aisle.Customer.Name)
	require.Equal(t, store, aisle.PlacedAt)
	require.Equal(t, "ship", aisle.Fulfilment.Type)
	require.Equal(t, "express", aisle.Fulfilment.Service)
	require.Equal(t, "M1 1AE", aisle.Fulfilment.Address.Postcode)
	require.Len(t, aisle.Lines, 1)
	require.Equal(t, kettle, aisle.Lines[0].SKU)
	require.EqualValues(t, 2, aisle.Lines[0].Quantity)
	require.EqualValues(t, 4500, aisle.Lines[0].UnitPrice)
	require.Len(t, aisle.Payments, 1)
	require.Equal(t, "till-ldn-88", aisle.Payments[0].Reference)
	require.EqualValues(t, 9000, aisle.Payments[0].Authorized)
	require.NotEmpty(t, aisle.Fulfilments)
	require.Equal(t, kettleFrom, aisle.Fulfilments[0].LocationID, "sent from Manchester, which has it")
	r = c.do(http.MethodGet, "/v1/orders/"+placed.Endless.ID+"/events", nil, "Authorization", "Bearer "+supportKey)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var aisleEvents struct {
		Events timeline `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &aisleEvents))
	require.NotEmpty(t, aisleEvents.Events)
	first := aisleEvents.Events[0]
	require.Equal(t, "placed", first.Type)
	require.Equal(t, "store", first.Channel)
	require.Equal(t, associate, first.Actor, "the placed event names the associate the console sent")
	require.Equal(t, store, first.Data["placed_at_store_id"])
}

// logLines copies a child's output into the test log, line by line as it comes.
func logLines(t *testing.T, r io.Reader) {
	t.Helper()
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		t.Log(s.Text())
	}
}
