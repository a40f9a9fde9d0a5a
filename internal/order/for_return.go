package order

import "time"

// ForReturn is what a store that does not hold an order may see of it to
// take a return or an exchange: the goods, what was paid for them and what
// already came back. Nothing about the customer (contact details, name,
// nominee, notifications), the pickup code, or the payment beyond its method.
type ForReturn struct {
	ID        string              `json:"id"`
	Number    string              `json:"number"`
	Status    Status              `json:"status"`
	Currency  string              `json:"currency"`
	Lines     []LineForReturn     `json:"lines"`
	Payments  []PaymentMethod     `json:"payments"`
	Returns   []Return            `json:"returns"`
	Exchanges []ExchangeForReturn `json:"exchanges"`
	// ReturnableUntil is the end of the return window.
	ReturnableUntil *time.Time `json:"returnable_until,omitempty"`
	// Version orders answers about the order (a replayed answer is older).
	Version int64 `json:"version"`
}

// LineForReturn is one SKU of the order as a return needs it: what was
// bought, handed over and brought back, and at what price.
type LineForReturn struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Collected int64  `json:"collected"`
	// Delivered is what reached the customer's door (a ship order).
	Delivered int64 `json:"delivered,omitempty"`
	Returned  int64 `json:"returned"`
	// Refunded is the value of the returned units given back: a refund
	// never exceeds what was paid for the line and not yet given back.
	Refunded int64 `json:"refunded"`
}

// PaymentMethod is how a tender of the order was paid, and nothing else
// about it.
type PaymentMethod struct {
	Method string `json:"method"`
}

// ExchangeForReturn is an exchange of the order without the reference of
// the tender charged at the counter.
type ExchangeForReturn struct {
	ID          string         `json:"id"`
	StoreID     string         `json:"store_id"`
	ReturnLines []ReturnLine   `json:"return_lines"`
	NewLines    []ExchangeLine `json:"new_lines"`
	Difference  int64          `json:"difference"`
	Charged     int64          `json:"charged"`
	Refunded    int64          `json:"refunded"`
	CreatedAt   time.Time      `json:"created_at"`
}

// ForReturn is the order as a store that does not hold it sees it, to take
// goods of it back.
func (o Order) ForReturn() ForReturn {
	v := ForReturn{ID: o.ID, Number: o.Number, Status: o.Status, Currency: o.Currency,
		Lines: make([]LineForReturn, len(o.Lines)), Payments: make([]PaymentMethod, len(o.Payments)),
		Returns: o.Returns, Exchanges: make([]ExchangeForReturn, len(o.Exchanges)),
		ReturnableUntil: o.ReturnableUntil, Version: o.Version}
	for i, l := range o.Lines {
		v.Lines[i] = LineForReturn{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: l.UnitPrice,
			Collected: l.Collected, Delivered: l.Delivered, Returned: l.Returned, Refunded: l.Refunded}
	}
	for i, p := range o.Payments {
		v.Payments[i] = PaymentMethod{Method: p.Method}
	}
	for i, x := range o.Exchanges {
		v.Exchanges[i] = ExchangeForReturn{ID: x.ID, StoreID: x.StoreID, ReturnLines: x.ReturnLines, NewLines: x.NewLines,
			Difference: x.Difference, Charged: x.Charged, Refunded: x.Refunded, CreatedAt: x.CreatedAt}
	}
	if v.Returns == nil {
		v.Returns = []Return{}
	}
	return v
}
