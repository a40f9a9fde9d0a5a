package integration

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/webhooks"
)

// Every way an order reaches the customer, through the API as the checkout,
// the stores, the carrier and the contact centre use it (issue 12).

const warehouse = "wh-north"

// shipOrderBody is a valid home-delivery order.
func shipOrderBody(lines ...map[string]any) map[string]any {
	b := orderBody("", "", lines...)
	b["fulfilment"] = map[string]any{"type": "ship", "service": "standard",
		"address": map[string]any{"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
			"postcode": "SW1Y 4LB", "country": "GB"}}
	return b
}

type fulfilmentDoc struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	LocationID   string `json:"location_id"`
	ToLocationID string `json:"to_location_id"`
	Status       string `json:"status"`
	Lines        []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
		Picked   int64  `json:"picked"`
	} `json:"lines"`
	ExpectedAt *time.Time `json:"expected_at"`
	Shipment   *struct {
		ID             string `json:"id"`
		TrackingNumber string `json:"tracking_number"`
		TrackingURL    string `json:"tracking_url"`
		Status         string `json:"status"`
	} `json:"shipment"`
}

type fulfilledDoc struct {
	Status      string          `json:"status"`
	Channel     string          `json:"channel"`
	Fulfilments []fulfilmentDoc `json:"fulfilments"`
	Arrival     *struct {
		Bay     string `json:"bay"`
		Vehicle string `json:"vehicle"`
	} `json:"arrival"`
	Payments []struct {
		Captured int64 `json:"captured"`
		Voided   int64 `json:"voided"`
		Refunded int64 `json:"refunded"`
	} `json:"payments"`
}

func (c *api) fulfilled(id string) fulfilledDoc {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil)
	require.Equal(c.t, http.StatusOK, r.Status, "get order: %s", r.Body)
	var o fulfilledDoc
	require.NoError(c.t, json.Unmarshal(r.Body, &o))
	return o
}

// at is the order's fulfilment at location.
func (o fulfilledDoc) at(t *testing.T, location string) fulfilmentDoc {
	t.Helper()
	for _, f := range o.Fulfilments {
		if f.LocationID == location {
			return f
		}
	}
	t.Fatalf("no fulfilment at %s in %+v", location, o.Fulfilments)
	return fulfilmentDoc{}
}

func (c *api) ship(store, id string, headers ...string) response {
	c.t.Helper()
	return c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/ship", nil, headers...)
}

// markParcel reports a tracking status through the built-in carrier, as
// the contact centre would.
func (c *api) markParcel(shipment, status string) {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v1/shipments/"+shipment+"/events", map[string]any{"status": status},
		"Authorization", "Bearer "+supportKey)
	require.Equal(c.t, http.StatusOK, r.Status, "tracking %s: %s", status, r.Body)
}

// carrierCallback delivers a tracking update as a carrier does: signed with
// the callback secret (Standard Webhooks), no API key, msgID its delivery id.
func (c *api) carrierCallback(msgID string, body map[string]any) response {
	c.t.Helper()
	cfg, err := config.Load("")
	require.NoError(c.t, err)
	raw, err := json.Marshal(body)
	require.NoError(c.t, err)
	now := time.Now()
	sig, err := webhooks.Sign(config.SigningSecret(cfg.Carrier.CallbackSecret), msgID, now, raw)
	require.NoError(c.t, err)
	return c.do(http.MethodPost, "/v1/callbacks/shipments", raw, "Authorization", "none",
		"webhook-id", msgID, "webhook-timestamp", strconv.FormatInt(now.Unix(), 10), "webhook-signature", sig)
}

func TestDeliveryFromAStoreAndReturnInAnother(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(manchester, sku, 5) // only Manchester has it; the warehouse has none
	id := c.place(shipOrderBody(line(sku, 2, 1500)))
	c.waitStatus(id, "awaiting_pick")

	o := c.fulfilled(id)
	require.Len(t, o.Fulfilments, 1)
	f := o.at(t, manchester)
	require.Equal(t, "ship", f.Type)
	require.Equal(t, "awaiting_pick", f.Status)
	require.Equal(t, stock{OnHand: 5, Reserved: 2, Available: 3}, c.stock(manchester, sku))

	// The store that sends it sees it in its queue; another store does not see it at all.
	r := c.do(http.MethodGet, "/v1/stores/"+manchester+"/orders?status=awaiting_pick", nil, "Authorization", "Bearer "+store2Key)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), id)
	r = c.do(http.MethodGet, "/v1/orders/"+id, nil, "Authorization", "Bearer "+store1Key)
	require.Equal(t, http.StatusNotFound, r.Status, "another store's shipment is not its business")

	tooEarly := c.ship(manchester, id)
	require.Equal(t, "not_picked", problem(t, tooEarly, http.StatusConflict))
	r = c.do(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/pick", pickBody(qty(sku, 2)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	require.Equal(t, "picked", c.fulfilled(id).Status)

	key := unique("ship")
	r = c.ship(manchester, id, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, r.Status, "ship: %s", r.Body)
	var shipped fulfilledDoc
	require.NoError(t, json.Unmarshal(r.Body, &shipped))
	sf := shipped.at(t, manchester)
	require.NotNil(t, sf.Shipment, "the answer carries the tracking")
	require.True(t, strings.HasPrefix(sf.Shipment.TrackingNumber, "OMNI"), "tracking %q", sf.Shipment.TrackingNumber)
	require.Equal(t, "shipped", shipped.Status)
	again := c.ship(manchester, id, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.Status)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, stock{OnHand: 3, Reserved: 0, Available: 3}, c.stock(manchester, sku), "sold once, from Manchester")
	require.EqualValues(t, 3000, c.fulfilled(id).Payments[0].Captured, "captured as it shipped")

	c.markParcel(sf.Shipment.ID, "in_transit")
	c.markParcel(sf.Shipment.ID, "delivered")
	o = c.fulfilled(id)
	require.Equal(t, "delivered", o.Status)
	require.Equal(t, "delivered", o.at(t, manchester).Status)
	require.True(t, strings.HasSuffix(sf.Shipment.TrackingURL, "/track/"+sf.Shipment.TrackingNumber))
	page := c.do(http.MethodGet, "/track/"+sf.Shipment.TrackingNumber, nil, "Authorization", "none")
	require.Equal(t, http.StatusOK, page.Status, "the built-in carrier's tracking link works")
	require.Contains(t, string(page.Body), "delivered")
	require.NotContains(t, string(page.Body), "Ada", "a tracking number tells nothing about the customer")

	// The shopper brings one back to Leeds.
	before := c.stock(leeds, sku)
	r = c.returnLines(leeds, id, ret(sku, 1, "resellable"))
	require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
	require.Equal(t, before.OnHand+1, c.stock(leeds, sku).OnHand, "restocked where it was brought back")
	captured, refunded := c.money(id)
	require.EqualValues(t, 3000, captured)
	require.EqualValues(t, 1500, refunded)
	require.Equal(t, "partially_returned", c.fulfilled(id).Status)
	types := c.eventTypes(id)
	for _, e := range []string{"placed", "fulfilment_created", "picked", "shipped", "payment_captured", "tracking_updated",
		"delivered", "returned"} {
		require.Contains(t, types, e)
	}
}

// The issue's own test: a shopper orders for delivery, receives two parcels
// from two stores, exchanges one item in a third store, and the contact
// centre sees all of it on one timeline.
func TestSplitDeliveryAndExchangeInAThirdStore(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	shirt, jeans, bigger := unique("SHIRT"), unique("JEANS"), unique("SHIRT-L")
	c.setStock(store, shirt, 3) // London has the shirt only
	c.setStock(manchester, jeans, 3)
	c.setStock(leeds, bigger, 2)
	r := c.do(http.MethodPut, "/v1/prices/"+bigger, map[string]any{"currency": "GBP", "unit_price": 2000},
		"Authorization", "Bearer "+adminKey)
	require.Equal(t, http.StatusOK, r.Status, "price: %s", r.Body)
	id := c.place(shipOrderBody(line(shirt, 1, 2000), line(jeans, 1, 4500)))
	c.waitStatus(id, "awaiting_pick")
	o := c.fulfilled(id)
	require.Len(t, o.Fulfilments, 2, "no one place has both: one shipment from each store")
	require.Equal(t, shirt, o.at(t, store).Lines[0].SKU)
	require.Equal(t, jeans, o.at(t, manchester).Lines[0].SKU)

	// Each store picks and ships its own part.
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(jeans, 1)))
	require.Equal(t, "unknown_line", problem(t, r, http.StatusUnprocessableEntity), "London cannot pick Manchester's line")
	for _, s := range []struct{ store, sku string }{{store, shirt}, {manchester, jeans}} {
		r := c.do(http.MethodPost, "/v1/stores/"+s.store+"/orders/"+id+"/pick", pickBody(qty(s.sku, 1)))
		require.Equal(t, http.StatusOK, r.Status, "pick at %s: %s", s.store, r.Body)
	}
	r = c.ship(store, id)
	require.Equal(t, http.StatusOK, r.Status, "ship: %s", r.Body)
	require.Equal(t, "partially_shipped", c.fulfilled(id).Status)
	r = c.ship(manchester, id)
	require.Equal(t, http.StatusOK, r.Status, "ship: %s", r.Body)
	o = c.fulfilled(id)
	require.Equal(t, "shipped", o.Status)

	// The carrier reports both parcels delivered, signed; a repeated callback changes nothing.
	for _, f := range o.Fulfilments {
		body := map[string]any{"shipment_id": f.Shipment.ID, "tracking_number": f.Shipment.TrackingNumber,
			"status": "delivered", "at": time.Now().UTC().Format(time.RFC3339)}
		msg := unique("msg")
		r := c.carrierCallback(msg, body)
		require.Equal(t, http.StatusOK, r.Status, "callback: %s", r.Body)
		r = c.carrierCallback(msg, body)
		require.Equal(t, http.StatusOK, r.Status, "repeated callback: %s", r.Body)
	}
	unsigned := c.do(http.MethodPost, "/v1/callbacks/shipments", map[string]any{"shipment_id": o.Fulfilments[0].Shipment.ID,
		"status": "returned_to_sender", "at": time.Now().UTC().Format(time.RFC3339)}, "Authorization", "none")
	require.Equal(t, http.StatusUnauthorized, unsigned.Status, "an unsigned callback is refused")
	o = c.fulfilled(id)
	require.Equal(t, "delivered", o.Status)
	require.EqualValues(t, 6500, o.Payments[0].Captured)

	// In Leeds, the shirt is exchanged for a bigger one.
	r = c.exchangeLines(leeds, id, map[string]any{"return_lines": []map[string]any{ret(shirt, 1, "resellable")},
		"new_lines": []map[string]any{{"sku": bigger, "quantity": 1, "unit_price": 2000}}})
	require.Equal(t, http.StatusCreated, r.Status, "exchange: %s", r.Body)
	require.EqualValues(t, 1, c.stock(leeds, bigger).OnHand, "the new shirt left Leeds")
	require.EqualValues(t, 1, c.stock(leeds, shirt).OnHand, "the old one is back on Leeds' shelf")

	// The contact centre sees the whole story on one timeline.
	r = c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil, "Authorization", "Bearer "+supportKey)
	require.Equal(t, http.StatusOK, r.Status)
	var tl struct {
		Events timeline `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &tl))
	counts := map[string]int{}
	for _, e := range tl.Events {
		counts[e.Type]++
	}
	require.Equal(t, 2, counts["fulfilment_created"])
	require.Equal(t, 2, counts["shipped"])
	require.Equal(t, 2, counts["delivered"], "each parcel delivered once, however often the carrier says so")
	require.Equal(t, 1, counts["exchanged"], "timeline: %v", counts)
}

func TestTransferForCollection(t *testing.T) {
	t.Parallel()
	c := &api{t: t, base: transfersURL}
	mug, plate := unique("MUG"), unique("PLATE")
	c.setStock(store, mug, 2)
	c.setStock(manchester, plate, 4) // London lacks the plate: Manchester sends it over
	id := c.place(orderBody("", store, line(mug, 1, 800), line(plate, 2, 1200)))
	c.waitStatus(id, "awaiting_transfer")
	o := c.fulfilled(id)
	tr := o.at(t, manchester)
	require.Equal(t, "transfer", tr.Type)
	require.Equal(t, store, tr.ToLocationID)
	require.NotNil(t, tr.ExpectedAt, "the customer is told when")
	require.Equal(t, stock{OnHand: 2, Reserved: 1, Available: 1}, c.stock(store, mug), "what London has is held there")
	require.Equal(t, stock{OnHand: 4, Reserved: 2, Available: 2}, c.stock(manchester, plate))

	early := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(mug, 1), qty(plate, 2)))
	require.Equal(t, "not_awaiting_pick", problem(t, early, http.StatusConflict), "London waits for the transfer")
	r := c.do(http.MethodPost, "/v1/stores/"+manchester+"/orders/"+id+"/pick", pickBody(qty(plate, 2)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	r = c.ship(manchester, id)
	require.Equal(t, http.StatusOK, r.Status, "dispatch: %s", r.Body)
	require.Equal(t, "in_transit", c.fulfilled(id).at(t, manchester).Status)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/receive", nil)
	require.Equal(t, http.StatusOK, r.Status, "receive: %s", r.Body)
	c.waitStatus(id, "awaiting_pick")
	require.Equal(t, stock{OnHand: 2, Reserved: 0, Available: 2}, c.stock(manchester, plate), "the plates left Manchester")
	require.Equal(t, stock{OnHand: 2, Reserved: 2, Available: 0}, c.stock(store, plate), "and arrived in London, held for the order")

	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(mug, 1), qty(plate, 2)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": c.order(id).Pickup.Code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	require.Equal(t, "collected", c.fulfilled(id).Status)
	require.Equal(t, stock{OnHand: 0, Reserved: 0, Available: 0}, c.stock(store, plate))
	types := c.eventTypes(id)
	for _, e := range []string{"transfer_requested", "transfer_dispatched", "transfer_received", "ready_for_collection", "collected"} {
		require.Contains(t, types, e)
	}
}

func TestCurbside(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 3)
	body := orderBody("", store, line(sku, 1, 999))
	body["fulfilment"] = map[string]any{"type": "collect", "store_id": store, "curbside": true}
	id := c.place(body)
	c.waitStatus(id, "awaiting_pick")
	early := c.do(http.MethodPost, "/v1/orders/"+id+"/arrived", map[string]any{"bay": "4"})
	require.Equal(t, "not_ready", problem(t, early, http.StatusConflict))
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/pick", pickBody(qty(sku, 1)))
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)

	r = c.do(http.MethodPost, "/v1/orders/"+id+"/arrived", map[string]any{"bay": "4", "vehicle": "red Fiat 500"})
	require.Equal(t, http.StatusOK, r.Status, "arrived: %s", r.Body)
	o := c.fulfilled(id)
	require.NotNil(t, o.Arrival)
	require.Equal(t, "4", o.Arrival.Bay)
	require.Equal(t, "red Fiat 500", o.Arrival.Vehicle)
	tooLong := c.do(http.MethodPost, "/v1/orders/"+id+"/arrived", map[string]any{"bay": strings.Repeat("x", 101)})
	require.Equal(t, http.StatusUnprocessableEntity, tooLong.Status)

	time.Sleep(1100 * time.Millisecond) // the wait at the car, measured by the workflow's clock
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": c.order(id).Pickup.Code})
	require.Equal(t, http.StatusOK, r.Status, "collect: %s", r.Body)
	handovers, _ := c.eventsOfType(id, "collected")
	require.Len(t, handovers, 1)
	require.Equal(t, true, handovers[0].Data["curbside"])
	require.GreaterOrEqual(t, handovers[0].Data["wait_seconds"], 1.0)
	arrivals, _ := c.eventsOfType(id, "customer_arrived")
	require.Len(t, arrivals, 1)

	r = c.do(http.MethodGet, "/metrics", nil, "Authorization", "none")
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), `omni_curbside_wait_seconds_count{store_id="store-001"}`)

	// An in-store collection has no car to come to.
	plain := c.place(orderBody("", store, line(sku, 1, 999)))
	c.waitStatus(plain, "awaiting_pick")
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+plain+"/pick", pickBody(qty(sku, 1)))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "not_curbside", problem(t, c.do(http.MethodPost, "/v1/orders/"+plain+"/arrived", nil), http.StatusConflict))
}

func TestEndlessAisle(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 2) // Leeds lacks it; London ships it
	body := shipOrderBody(line(sku, 1, 3000))
	body["channel"] = "web" // the server says store, whatever the till sends
	key := unique("till")
	leedsKey := "dev-store-003-key"
	r := c.do(http.MethodPost, "/v1/stores/"+leeds+"/orders", body, "Authorization", "Bearer "+leedsKey,
		"Idempotency-Key", key, "Omni-Actor", "associate:sam")
	require.Equal(t, http.StatusCreated, r.Status, "place: %s", r.Body)
	id := r.json(t)["id"].(string)
	again := c.do(http.MethodPost, "/v1/stores/"+leeds+"/orders", body, "Authorization", "Bearer "+leedsKey,
		"Idempotency-Key", key, "Omni-Actor", "associate:sam")
	require.Equal(t, http.StatusCreated, again.Status)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, id, again.json(t)["id"])
	other := c.do(http.MethodPost, "/v1/stores/"+store+"/orders", body, "Authorization", "Bearer "+leedsKey,
		"Idempotency-Key", unique("till"))
	require.Equal(t, http.StatusForbidden, other.Status, "staff place orders only in their own store: %s", other.Body)

	r = c.do(http.MethodGet, "/v1/orders/"+id, nil, "Authorization", "Bearer "+leedsKey)
	require.Equal(t, http.StatusOK, r.Status, "the store that placed it follows it: %s", r.Body)
	var o fulfilledDoc
	require.NoError(t, json.Unmarshal(r.Body, &o))
	require.Equal(t, "store", o.Channel)
	support := &api{t: t, base: c.base}
	read := func() fulfilledDoc {
		r := support.do(http.MethodGet, "/v1/orders/"+id, nil, "Authorization", "Bearer "+supportKey)
		require.Equal(t, http.StatusOK, r.Status)
		var o fulfilledDoc
		require.NoError(t, json.Unmarshal(r.Body, &o))
		return o
	}
	deadline := time.Now().Add(20 * time.Second)
	for o = read(); o.Status != "awaiting_pick" && time.Now().Before(deadline); o = read() {
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, "awaiting_pick", o.Status)
	require.Equal(t, store, o.Fulfilments[0].LocationID, "sourced to London, which has it")
	r = c.do(http.MethodGet, "/v1/orders/"+id+"/events", nil, "Authorization", "Bearer "+supportKey)
	var tl struct {
		Events timeline `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &tl))
	placed := tl.Events[:1]
	require.Equal(t, "placed", placed[0].Type)
	require.Equal(t, "store", placed[0].Channel)
	require.Equal(t, "associate:sam", placed[0].Actor)
	require.Equal(t, leeds, placed[0].Data["placed_at_store_id"])
}

func TestShipOrderValidation(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	body := shipOrderBody(line(unique("SKU"), 1, 100))
	body["fulfilment"] = map[string]any{"type": "ship", "store_id": store, "service": "overnight",
		"address": map[string]any{"name": "", "line1": "1 Road", "city": "London", "postcode": "N1", "country": "United Kingdom"}}
	r := c.do(http.MethodPost, "/v1/orders", body, "Idempotency-Key", unique("key"))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	for _, field := range []string{"fulfilment.store_id", "fulfilment.service", "fulfilment.address.name", "fulfilment.address.country"} {
		require.Contains(t, string(r.Body), field)
	}
	// Nobody has it: rejected, nothing held, the authorisation voided.
	none := c.place(shipOrderBody(line(unique("SKU"), 1, 100)))
	o := c.waitStatus(none, "rejected")
	require.EqualValues(t, 100, o.Payments[0].Voided)
}
