package order

import "time"

// Status is where an order is in its lifecycle.
type Status string

// The order statuses of the API contract.
const (
	StatusPlaced             Status = "placed"
	StatusAwaitingPick       Status = "awaiting_pick"
	StatusReadyForCollection Status = "ready_for_collection"
	StatusPartiallyCollected Status = "partially_collected"
	StatusCollected          Status = "collected"
	StatusPartiallyReturned  Status = "partially_returned"
	StatusReturned           Status = "returned"
	StatusCancelled          Status = "cancelled"
	StatusExpired            Status = "expired"
	StatusRejected           Status = "rejected"
	// Orders delivered to an address, and collect orders waiting for a
	// transfer from another location.
	StatusPicked           Status = "picked"
	StatusPartiallyShipped Status = "partially_shipped"
	StatusShipped          Status = "shipped"
	StatusDelivered        Status = "delivered"
	StatusReturnedToSender Status = "returned_to_sender"
	StatusAwaitingTransfer Status = "awaiting_transfer"
)

// Valid reports whether s is one of the contract's statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPlaced, StatusAwaitingPick, StatusReadyForCollection, StatusPartiallyCollected, StatusCollected,
		StatusPartiallyReturned, StatusReturned, StatusCancelled, StatusExpired, StatusRejected,
		StatusPicked, StatusPartiallyShipped, StatusShipped, StatusDelivered, StatusReturnedToSender, StatusAwaitingTransfer:
		return true
	}
	return false
}

// Fulfilment types.
const (
	FulfilmentCollect  = "collect"
	FulfilmentShip     = "ship"
	FulfilmentTransfer = "transfer"
)

// Delivery services of a ship order.
const (
	ServiceStandard = "standard"
	ServiceExpress  = "express"
)

// Order is one order as every channel sees it. It is the snapshot the order
// workflow projects into PostgreSQL on every transition.
type Order struct {
	ID         string     `json:"id"`
	Number     string     `json:"number"`
	Status     Status     `json:"status"`
	Channel    string     `json:"channel"`
	Customer   Customer   `json:"customer"`
	Currency   string     `json:"currency"`
	Fulfilment Fulfilment `json:"fulfilment"`
	Lines      []Line     `json:"lines"`
	// Fulfilments are the parts of the order, each from one location: one
	// collect fulfilment for a collect order (with a transfer before it
	// when stock comes from elsewhere), one shipment per location for a
	// ship order.
	Fulfilments []FulfilmentState `json:"fulfilments"`
	Pickup      Pickup            `json:"pickup"`
	// PlacedAt is the store whose staff placed the order for a customer
	// standing in it (endless aisle, channel store).
	PlacedAt string `json:"placed_at_store_id,omitempty"`
	// Arrival is the customer's "I'm here" at a curbside collection.
	Arrival   *Arrival   `json:"arrival,omitempty"`
	Payments  []Payment  `json:"payments"`
	Returns   []Return   `json:"returns"`
	Exchanges []Exchange `json:"exchanges"`
	// ReturnableUntil is the end of the return window, once goods are handed over.
	ReturnableUntil *time.Time `json:"returnable_until,omitempty"`
	Version         int64      `json:"version"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Customer is who placed the order.
type Customer struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
	// Notify is the channel the customer wants notifications on: email (the
	// default, when empty), sms (to Phone) or push (to PushToken).
	Notify string `json:"notify,omitempty"`
	// Language is the customer's language as a BCP 47 tag (en, fr, fr-CA);
	// notifications fall back to English where it has no templates.
	Language string `json:"language,omitempty"`
	// PushToken is the customer's device token at the retailer's push provider.
	PushToken string `json:"push_token,omitempty"`
}

// Notification channels a customer can prefer.
const (
	NotifyEmail = "email"
	NotifySMS   = "sms"
	NotifyPush  = "push"
)

// Fulfilment says how the order reaches the customer: collected at a store
// (curbside: at the car), or shipped to an address.
type Fulfilment struct {
	Type     string   `json:"type"`
	StoreID  string   `json:"store_id,omitempty"`
	Curbside bool     `json:"curbside,omitempty"`
	Address  *Address `json:"address,omitempty"`
	Service  string   `json:"service,omitempty"`
}

// Address is where a ship order goes. Lat and Lon, when the checkout knows
// them, let sourcing choose the nearest location.
type Address struct {
	Name     string   `json:"name"`
	Line1    string   `json:"line1"`
	Line2    string   `json:"line2,omitempty"`
	City     string   `json:"city"`
	Postcode string   `json:"postcode"`
	Country  string   `json:"country"`
	Lat      *float64 `json:"lat,omitempty"`
	Lon      *float64 `json:"lon,omitempty"`
}

// Fulfilment statuses, beside the order statuses a collect fulfilment shares.
const (
	FulfilmentAwaitingPick     = "awaiting_pick"
	FulfilmentPicked           = "picked"
	FulfilmentShipped          = "shipped"
	FulfilmentInTransit        = "in_transit"
	FulfilmentOutForDelivery   = "out_for_delivery"
	FulfilmentFailedAttempt    = "failed_attempt"
	FulfilmentDelivered        = "delivered"
	FulfilmentReturnedToSender = "returned_to_sender"
	FulfilmentReceived         = "received"
	FulfilmentCancelled        = "cancelled"
)

// FulfilmentState is one part of an order, fulfilled from one location.
type FulfilmentState struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	LocationID string `json:"location_id"`
	// ToLocationID is where a transfer takes the stock: the collection store.
	ToLocationID string           `json:"to_location_id,omitempty"`
	Lines        []FulfilmentLine `json:"lines"`
	Status       string           `json:"status"`
	Shipment     *Shipment        `json:"shipment,omitempty"`
	CreatedAt    time.Time        `json:"created_at"`
	// ExpectedAt is when a transfer is expected at the collection store.
	ExpectedAt *time.Time `json:"expected_at,omitempty"`
	// Captured is what was taken from the payment when it shipped.
	Captured int64 `json:"captured,omitempty"`
}

// PickedLines is what the fulfilment's location found: what it sends.
func (f *FulfilmentState) PickedLines() []LineQty {
	var out []LineQty
	for _, l := range f.Lines {
		if l.Picked > 0 {
			out = append(out, LineQty{SKU: l.SKU, Quantity: l.Picked})
		}
	}
	return out
}

// FulfilmentLine is a quantity of one SKU in a fulfilment, and how much of it
// the location found.
type FulfilmentLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Picked   int64  `json:"picked"`
}

// Shipment is the carrier's side of a shipped fulfilment.
type Shipment struct {
	ID             string     `json:"id"`
	TrackingNumber string     `json:"tracking_number"`
	TrackingURL    string     `json:"tracking_url,omitempty"`
	LabelURL       string     `json:"label_url,omitempty"`
	Service        string     `json:"service,omitempty"`
	Parcels        int        `json:"parcels"`
	Status         string     `json:"status"`
	ShippedAt      *time.Time `json:"shipped_at,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Arrival is a curbside customer's "I'm here".
type Arrival struct {
	At      time.Time `json:"at"`
	Bay     string    `json:"bay,omitempty"`
	Vehicle string    `json:"vehicle,omitempty"`
}

// Fulfilment returns the order's fulfilment with id, or nil.
func (o *Order) FulfilmentByID(id string) *FulfilmentState {
	for i := range o.Fulfilments {
		if o.Fulfilments[i].ID == id {
			return &o.Fulfilments[i]
		}
	}
	return nil
}

// Locations are the locations the order involves: its collection store and
// every fulfilment's location, each once, in that order.
func (o *Order) Locations() []string {
	out := []string{}
	add := func(id string) {
		for _, s := range out {
			if s == id {
				return
			}
		}
		if id != "" {
			out = append(out, id)
		}
	}
	add(o.Fulfilment.StoreID)
	for _, f := range o.Fulfilments {
		add(f.LocationID)
		add(f.ToLocationID)
	}
	return out
}

// IsShip reports whether the order is delivered to an address.
func (o *Order) IsShip() bool { return o.Fulfilment.Type == FulfilmentShip }

// Line is one SKU of the order with what has happened to it.
type Line struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	// Product is the line's name, picture and variant from the checkout.
	Product
	Picked    int64 `json:"picked"`
	Collected int64 `json:"collected"`
	// Refused is what the customer turned down at the counter.
	Refused int64 `json:"refused"`
	// Uncollected is what the customer never came for: released when the
	// pickup hold ended after part of the order was handed over.
	Uncollected int64 `json:"uncollected,omitempty"`
	// Shipped is what left a location in a parcel; Delivered what the
	// carrier reports delivered (handed over, like Collected).
	Shipped   int64 `json:"shipped,omitempty"`
	Delivered int64 `json:"delivered,omitempty"`
	Returned  int64 `json:"returned"`
	// Refunded is the value of the returned units given back, in minor
	// units: refunded to the tender or credited to an exchange.
	Refunded int64 `json:"refunded"`
}

// Open is what is still authorised: neither captured nor voided.
func (p Payment) Open() int64 { return p.Authorized - p.Captured - p.Voided }

// CheckReturnable says why no goods of the order can be taken back at now:
// nothing was handed over, everything came back, or the return window
// (ReturnableUntil) has closed. Nil when a return may be taken.
func (o *Order) CheckReturnable(now time.Time) *Error {
	switch o.Status {
	case StatusCollected, StatusPartiallyCollected, StatusPartiallyReturned, StatusDelivered:
	case StatusShipped, StatusPartiallyShipped, StatusReturnedToSender:
		if !o.anyHandedOver() {
			return Errorf(KindConflict, "not_delivered", "the order is %s: nothing of it has been delivered yet", o.Status)
		}
	case StatusReturned:
		return Errorf(KindConflict, "nothing_to_return", "every item of the order has been returned")
	case StatusCancelled, StatusExpired, StatusRejected:
		return Errorf(KindConflict, "not_returnable", "the order is %s: nothing of it was handed over", o.Status)
	default:
		return Errorf(KindConflict, "not_collected", "the order is %s: nothing has been handed over yet", o.Status)
	}
	switch until := o.ReturnableUntil; {
	case until == nil:
		return Errorf(KindConflict, "return_window_closed", "the return window of this order has closed")
	case !now.Before(*until):
		return Errorf(KindConflict, "return_window_closed", "the return window of this order closed at %s",
			until.Format(time.RFC3339))
	}
	return nil
}

func (o *Order) anyHandedOver() bool {
	for _, l := range o.Lines {
		if l.Returnable() > 0 {
			return true
		}
	}
	return false
}

// Returnable is how many units of the line can still be brought back.
func (l Line) Returnable() int64 { return l.HandedOver() - l.Returned }

// HandedOver is what the customer has of the line: collected at a counter
// or delivered to their door.
func (l Line) HandedOver() int64 { return l.Collected + l.Delivered }

// RefundFor is what returning n more units of the line gives back: their
// price, never more than was paid for the line and not yet given back.
func (l Line) RefundFor(n int64) int64 {
	return min(n*l.UnitPrice, l.HandedOver()*l.UnitPrice-l.Refunded)
}

// Held is what the store still holds for the line once it has been picked.
func (l Line) Held() int64 { return l.Picked - l.Collected - l.Shipped - l.Refused - l.Uncollected }

// Pickup is the collection side of the order.
type Pickup struct {
	StoreID   string     `json:"store_id"`
	ReadyAt   *time.Time `json:"ready_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	// Nominee is someone the customer named to collect in their place.
	Nominee *Nominee `json:"nominee,omitempty"`
	// Code is shown only to the customer and to the service that placed the order.
	Code string `json:"code,omitempty"`
}

// Nominee is a person named by the customer to collect the order.
type Nominee struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// Payment is one tender of the order and the money moved against it, in minor units.
type Payment struct {
	Method     string `json:"method"`
	Reference  string `json:"reference"`
	Authorized int64  `json:"amount"`
	Captured   int64  `json:"captured"`
	Voided     int64  `json:"voided"`
	Refunded   int64  `json:"refunded"`
}

// Return is one return of lines of the order in a store.
type Return struct {
	ID        string       `json:"id"`
	StoreID   string       `json:"store_id"`
	Lines     []ReturnLine `json:"lines"`
	Refund    int64        `json:"refund"`
	CreatedAt time.Time    `json:"created_at"`
}

// Conditions of goods brought back.
const (
	ConditionResellable = "resellable"
	ConditionDamaged    = "damaged"
)

// ReturnLine is one SKU brought back.
type ReturnLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Reason    string `json:"reason"`
	Condition string `json:"condition"`
}

// Exchange is one exchange at a store counter: lines brought back and new
// items taken from the store's stock. Difference is what the new items cost
// minus the value of the returned ones: positive is paid by the customer
// (Charged, against the order's authorisation or a new tender), negative is
// refunded to the original tender.
type Exchange struct {
	ID          string         `json:"id"`
	StoreID     string         `json:"store_id"`
	ReturnLines []ReturnLine   `json:"return_lines"`
	NewLines    []ExchangeLine `json:"new_lines"`
	Difference  int64          `json:"difference"`
	Charged     int64          `json:"charged"`
	Refunded    int64          `json:"refunded"`
	Tender      string         `json:"tender,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
}

// ExchangeLine is a new item taken in an exchange, at its price.
type ExchangeLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// LineQty is a quantity of one SKU, as in pick and collect requests.
type LineQty struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Event is one entry of an order's timeline.
type Event struct {
	Seq     int64          `json:"seq"`
	Type    string         `json:"type"`
	At      time.Time      `json:"at"`
	Channel string         `json:"channel"`
	Actor   string         `json:"actor"`
	Data    map[string]any `json:"data"`
}

// Timeline event types.
const (
	EventPlaced             = "placed"
	EventReserved           = "stock_reserved"
	EventRejected           = "rejected"
	EventPickRequested      = "pick_requested"
	EventPicked             = "picked"
	EventReadyForCollection = "ready_for_collection"
	EventCollected          = "collected"
	EventPaymentCaptured    = "payment_captured"
	EventPaymentVoided      = "payment_voided"
	EventNotified           = "customer_notified"
)

// Channels an event can come from.
const (
	ChannelWeb          = "web"
	ChannelApp          = "app"
	ChannelPOS          = "pos"
	ChannelStoreConsole = "store_console"
	ChannelContact      = "contact_centre"
	ChannelSystem       = "system"
	// ChannelStore is an order placed by store staff for a customer in the
	// store (endless aisle).
	ChannelStore = "store"
	// ChannelCarrier is the carrier's tracking.
	ChannelCarrier = "carrier"
)

// ValidChannel reports whether c is a known channel.
func ValidChannel(c string) bool {
	switch c {
	case ChannelWeb, ChannelApp, ChannelPOS, ChannelStoreConsole, ChannelContact, ChannelSystem, ChannelStore:
		return true
	}
	return false
}

// Total is the order's value in minor units.
func (o *Order) Total() int64 {
	var t int64
	for _, l := range o.Lines {
		t += l.Quantity * l.UnitPrice
	}
	return t
}

// Line returns the order line for sku, or nil.
func (o *Order) Line(sku string) *Line {
	for i := range o.Lines {
		if o.Lines[i].SKU == sku {
			return &o.Lines[i]
		}
	}
	return nil
}

// WithoutPickupCode returns a copy of o without the customer's secrets — the
// pickup code and the device token for push messages — for channels that
// must not see them (store staff, the contact centre).
func (o Order) WithoutPickupCode() Order {
	o.Pickup.Code = ""
	o.Customer.PushToken = ""
	return o
}

// Label is how people recognise the line: its product's name and variant,
// else its SKU.
func (l Line) Label() string {
	switch {
	case l.Name == "":
		return l.SKU
	case l.Variant != "":
		return l.Name + " (" + l.Variant + ")"
	}
	return l.Name
}
