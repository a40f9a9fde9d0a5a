package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The split flow: a home delivery that no one location can send whole. Line
// A is stocked only at -store, line B only at -store2 (and neither at any
// warehouse), so sourcing splits every order into two shipments, one from
// each store. Each store picks and ships its own part, and the built-in
// carrier reports each parcel delivered; the order ends delivered.
var splitSKUs = [2]string{"BENCH-SPLIT-A", "BENCH-SPLIT-B"}

// splitStock gives line A's SKU to the first store and line B's to the
// second, and none of either to the other store.
func (b *bench) splitStock(perSKU int) error {
	onHand := perSKU*2 + 1000
	for _, s := range []struct {
		store, sku string
		onHand     int
	}{{b.store, splitSKUs[0], onHand}, {b.store2, splitSKUs[1], onHand}, {b.store, splitSKUs[1], 0}, {b.store2, splitSKUs[0], 0}} {
		if err := b.setStock(s.store, s.sku, s.onHand); err != nil {
			return fmt.Errorf("stock %s at %s: %w", s.sku, s.store, err)
		}
	}
	return nil
}

// splitPlaceBody is a home-delivery order with the collect flow's lines,
// quantities and amount, on the split SKUs.
func (b *bench) splitPlaceBody() (string, string) {
	i := b.seq.Add(1)
	key := fmt.Sprintf("bench-%s-%d", b.runID, i)
	return key, fmt.Sprintf(`{"channel":"web","customer":{"id":"c-%d","email":"shopper%d@example.com","name":"Bench Shopper"},
"currency":"GBP","fulfilment":{"type":"ship","service":"standard",
"address":{"name":"Bench Shopper","line1":"1 Bench Street","city":"London","postcode":"SW1A 1AA","country":"GB"}},
"lines":[{"sku":%q,"quantity":1,"unit_price":1999},{"sku":%q,"quantity":2,"unit_price":850}],
"payment":{"method":"card","reference":"psp-%s-%d","amount":3699}}`, i, i, splitSKUs[0], splitSKUs[1], b.runID, i)
}

// shipView is what the split flow reads of an order.
type shipView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Fulfilments []struct {
		LocationID string `json:"location_id"`
		Status     string `json:"status"`
		Shipment   *struct {
			ID string `json:"id"`
		} `json:"shipment"`
	} `json:"fulfilments"`
}

// shipmentAt is the id of the order's shipment from location, if it has one.
func (o shipView) shipmentAt(location string) string {
	for _, f := range o.Fulfilments {
		if f.LocationID == location && f.Shipment != nil {
			return f.Shipment.ID
		}
	}
	return ""
}

// splitFlow pushes n split orders through place → (sourced, reserved at two
// stores) → pick at each → ship at each → each parcel delivered, with c clients.
func (b *bench) splitFlow(n, c int) error {
	var place, waitReserve, pick, ship, deliver, whole sample
	title := fmt.Sprintf("split delivery flow (two shipments: %s + %s): %d orders, %d concurrent clients", b.store, b.store2, n, c)
	return b.run(title, n, c, []step{{"POST /v1/orders", &place}, {"until awaiting_pick", &waitReserve},
		{"POST pick (×2)", &pick}, {"POST ship (×2)", &ship}, {"POST delivered (×2)", &deliver}, {"whole order", &whole}},
		func() error { return b.oneSplitOrder(&place, &waitReserve, &pick, &ship, &deliver, &whole) })
}

func (b *bench) oneSplitOrder(place, waitReserve, pick, ship, deliver, whole *sample) error {
	t0 := time.Now()
	key, body := b.splitPlaceBody()
	var o shipView
	if err := b.placeUntilPickable(key, body, place, waitReserve, &o); err != nil {
		return err
	}
	if len(o.Fulfilments) != 2 {
		return fmt.Errorf("order %s has %d fulfilments, want a split into 2 (stock at a warehouse?)", o.ID, len(o.Fulfilments))
	}
	// Each store picks its own line and hands its parcel to the carrier; the
	// ship answer carries the shipment.
	shipments := make([]string, 0, 2)
	for i, store := range []string{b.store, b.store2} {
		qty := i + 1 // line A: 1, line B: 2
		t := time.Now()
		if _, err := b.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+o.ID+"/pick",
			map[string]string{"Idempotency-Key": "pick-" + store + "-" + o.ID},
			fmt.Sprintf(`{"lines":[{"sku":%q,"quantity":%d}]}`, splitSKUs[i], qty), 200); err != nil {
			return fmt.Errorf("pick at %s: %w", store, err)
		}
		pick.add(time.Since(t))
		t = time.Now()
		raw, err := b.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+o.ID+"/ship",
			map[string]string{"Idempotency-Key": "ship-" + store + "-" + o.ID}, "", 200)
		if err != nil {
			return fmt.Errorf("ship at %s: %w", store, err)
		}
		ship.add(time.Since(t))
		var shipped shipView
		if err := json.Unmarshal(raw, &shipped); err != nil {
			return err
		}
		id := shipped.shipmentAt(store)
		if id == "" {
			return fmt.Errorf("order %s: the ship answer at %s has no shipment", o.ID, store)
		}
		shipments = append(shipments, id)
	}
	// The built-in carrier reports each parcel delivered.
	var raw []byte
	for _, id := range shipments {
		t := time.Now()
		var err error
		if raw, err = b.do(http.MethodPost, "/v1/shipments/"+id+"/events", nil, `{"status":"delivered"}`, 200); err != nil {
			return fmt.Errorf("delivered %s: %w", id, err)
		}
		deliver.add(time.Since(t))
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	if o.Status != "delivered" {
		return fmt.Errorf("order %s is %s after both parcels were delivered", o.ID, o.Status)
	}
	whole.add(time.Since(t0))
	b.lastComplete.Store(o.ID)
	return nil
}
