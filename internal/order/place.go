package order

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	// phonePattern is E.164-like: "+", then 8 to 15 digits, the first not 0.
	phonePattern    = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	phoneSeparators = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")
	languagePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$`)
	// pushTokenPattern is printable ASCII without spaces, as device tokens are.
	pushTokenPattern = regexp.MustCompile(`^[\x21-\x7E]+$`)
)

// PlaceRequest is the body of POST /v1/orders.
type PlaceRequest struct {
	ID         string         `json:"id,omitempty"`
	Channel    string         `json:"channel,omitempty"`
	Customer   Customer       `json:"customer"`
	Currency   string         `json:"currency"`
	Fulfilment Fulfilment     `json:"fulfilment"`
	Lines      []PlaceLine    `json:"lines"`
	Payment    PaymentRequest `json:"payment"`
	// Nominee, if given, may collect the order in the customer's place.
	Nominee *Nominee `json:"nominee,omitempty"`
}

// PlaceLine is one ordered SKU, with the product as the checkout shows it.
type PlaceLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Product
}

// Product is what people recognise a line by: its name, and optionally its
// picture and variant ("Navy, M"). Every page and message shows it instead
// of a bare SKU.
type Product struct {
	Name     string `json:"name,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Variant  string `json:"variant,omitempty"`
}

// PaymentRequest is the tender authorised by the checkout.
type PaymentRequest struct {
	Method    string `json:"method"`
	Reference string `json:"reference"`
	Amount    int64  `json:"amount"`
}

// Validate checks everything about the request that needs no lookup. It reports
// every offending field at once. Stores are checked by the caller, which knows them.
func (r *PlaceRequest) Validate() error {
	var fields []FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	if r.ID != "" && !idPattern.MatchString(r.ID) {
		bad("id", "must be 1-%d letters, digits, '_', '.', ':' or '-'", MaxIDLength)
	}
	if r.Channel != "" && !ValidChannel(r.Channel) {
		bad("channel", "unknown channel (want web, app, pos, store_console, contact_centre or system)")
	}
	r.Customer.validate(bad)
	if !currencyPattern.MatchString(r.Currency) {
		bad("currency", "must be an ISO 4217 code such as GBP")
	}
	r.Fulfilment.validate(bad)
	switch {
	case len(r.Lines) == 0:
		bad("lines", "an order needs at least one line")
	case len(r.Lines) > MaxLines:
		bad("lines", "at most %d lines per order, got %d", MaxLines, len(r.Lines))
	}
	seen := make(map[string]bool, len(r.Lines))
	var total int64
	for i, l := range r.Lines {
		if i == MaxLines {
			break // the list is refused as a whole above; its first MaxLines are enough to report on
		}
		at := fmt.Sprintf("lines[%d]", i)
		if !skuPattern.MatchString(l.SKU) {
			bad(at+".sku", "must be 1-%d letters, digits or '_', '.', ':', '/', '-'", MaxSKULength)
		} else if seen[l.SKU] {
			bad(at+".sku", "SKU %s appears twice; put the whole quantity on one line", l.SKU)
		}
		seen[l.SKU] = true
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			bad(at+".quantity", "must be between 1 and %d", MaxQuantity)
		}
		if l.UnitPrice < 1 || l.UnitPrice > MaxUnitPrice {
			bad(at+".unit_price", "must be between 1 and %d minor units", MaxUnitPrice)
		}
		l.Product.validate(at, bad)
		total += l.Quantity * l.UnitPrice
	}
	if n := r.Nominee; n != nil {
		if name := strings.TrimSpace(n.Name); name == "" || TooLong(name, MaxNameLength) {
			bad("nominee.name", "is required for a nominee, at most %d characters", MaxNameLength)
		}
		checkPhone("nominee.phone", n.Phone, bad)
	}
	switch m := r.Payment.Method; {
	case m == "":
		bad("payment.method", "is required")
	case TooLong(m, MaxPaymentMethodLength):
		bad("payment.method", "must be at most %d characters", MaxPaymentMethodLength)
	}
	switch ref := r.Payment.Reference; {
	case ref == "":
		bad("payment.reference", "is required (the payment provider's authorisation reference)")
	case TooLong(ref, MaxPaymentReferenceLength):
		bad("payment.reference", "must be at most %d characters", MaxPaymentReferenceLength)
	}
	if len(fields) == 0 && r.Payment.Amount != total {
		bad("payment.amount", "authorised %d does not match the order total %d", r.Payment.Amount, total)
	}
	if len(fields) > 0 {
		return &Error{Kind: KindInvalid, Code: "validation", Detail: "the order is not valid", Fields: fields}
	}
	return nil
}

// validate reports what is wrong with how the order is to reach the customer.
func (f *Fulfilment) validate(bad func(field, format string, args ...any)) {
	switch f.Type {
	case FulfilmentCollect:
		if f.StoreID == "" {
			bad("fulfilment.store_id", "is required for collection in store")
		} else if TooLong(f.StoreID, MaxStoreIDLength) {
			bad("fulfilment.store_id", "must be at most %d characters", MaxStoreIDLength)
		}
		if f.Address != nil {
			bad("fulfilment.address", "is for delivery (type ship), not collection")
		}
		if f.Service != "" {
			bad("fulfilment.service", "is for delivery (type ship), not collection")
		}
	case FulfilmentShip:
		if f.StoreID != "" {
			bad("fulfilment.store_id", "a ship order is sourced by Omni; leave store_id out")
		}
		if f.Curbside {
			bad("fulfilment.curbside", "is for collection, not delivery")
		}
		switch f.Service {
		case "", ServiceStandard, ServiceExpress:
		default:
			bad("fulfilment.service", "want standard or express")
		}
		a := f.Address
		if a == nil {
			bad("fulfilment.address", "is required for delivery")
			return
		}
		for _, field := range []struct {
			name, value string
			required    bool
		}{{"name", a.Name, true}, {"line1", a.Line1, true}, {"line2", a.Line2, false}, {"city", a.City, true},
			{"postcode", a.Postcode, true}, {"country", a.Country, true}} {
			switch v := strings.TrimSpace(field.value); {
			case v == "" && field.required:
				bad("fulfilment.address."+field.name, "is required")
			case TooLong(field.value, MaxAddressFieldLength):
				bad("fulfilment.address."+field.name, "must be at most %d characters", MaxAddressFieldLength)
			}
		}
		if a.Country != "" && !countryPattern.MatchString(a.Country) {
			bad("fulfilment.address.country", "must be an ISO 3166-1 alpha-2 code such as GB")
		}
		if (a.Lat == nil) != (a.Lon == nil) {
			bad("fulfilment.address.lat", "lat and lon go together")
		} else if a.Lat != nil && (*a.Lat < -90 || *a.Lat > 90 || *a.Lon < -180 || *a.Lon > 180) {
			bad("fulfilment.address.lat", "lat must be -90 to 90 and lon -180 to 180")
		}
	case "":
		bad("fulfilment.type", "is required")
	default:
		bad("fulfilment.type", "unsupported fulfilment type (supported: collect, ship)")
	}
}

// validate reports what is wrong with a line's product.
func (p Product) validate(at string, bad func(field, format string, args ...any)) {
	if TooLong(p.Name, MaxProductNameLength) {
		bad(at+".name", "must be at most %d characters", MaxProductNameLength)
	}
	if TooLong(p.Variant, MaxVariantLength) {
		bad(at+".variant", "must be at most %d characters", MaxVariantLength)
	}
	if u := p.ImageURL; u != "" {
		parsed, err := url.Parse(u)
		if TooLong(u, MaxImageURLLength) || err != nil || parsed.Scheme != "https" || parsed.Host == "" {
			bad(at+".image_url", "must be an https URL of at most %d characters", MaxImageURLLength)
		}
	}
}

// validate reports what is wrong with the customer of an order through bad.
func (c *Customer) validate(bad func(field, format string, args ...any)) {
	switch {
	case c.Email == "":
		bad("customer.email", "is required")
	case TooLong(c.Email, MaxEmailLength):
		bad("customer.email", "must be at most %d characters", MaxEmailLength)
	default:
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			bad("customer.email", "is not an email address")
		}
	}
	checkPhone("customer.phone", c.Phone, bad)
	if TooLong(c.Name, MaxNameLength) {
		bad("customer.name", "must be at most %d characters", MaxNameLength)
	}
	if TooLong(c.ID, MaxCustomerIDLength) {
		bad("customer.id", "must be at most %d characters", MaxCustomerIDLength)
	}
	switch c.Notify {
	case "", NotifyEmail:
	case NotifySMS:
		if c.Phone == "" {
			bad("customer.phone", "is required when customer.notify is sms")
		}
	case NotifyPush:
		if c.PushToken == "" {
			bad("customer.push_token", "is required when customer.notify is push")
		}
	default:
		bad("customer.notify", "want email, sms or push")
	}
	if l := c.Language; l != "" && (len(l) > MaxLanguageLength || !languagePattern.MatchString(l)) {
		bad("customer.language", "is not a language tag such as en, fr or fr-CA")
	}
	if t := c.PushToken; t != "" && (len(t) > MaxPushTokenLength || !pushTokenPattern.MatchString(t)) {
		bad("customer.push_token", "must be 1-%d printable characters without spaces", MaxPushTokenLength)
	}
}

// checkPhone reports a phone number (optional) that is too long or not plausible.
func checkPhone(field, phone string, bad func(field, format string, args ...any)) {
	switch {
	case phone == "":
	case TooLong(phone, MaxPhoneLength):
		bad(field, "must be at most %d characters", MaxPhoneLength)
	default:
		if _, ok := NormalPhone(phone); !ok {
			bad(field, PhoneDetail)
		}
	}
}

// PhoneDetail is what a field error says of a phone number that is not plausible.
const PhoneDetail = "must be an international number like +447700900001"

// NormalPhone returns phone in the form Omni stores and sends it in: "+" and
// 8 to 15 digits, the first not 0 (E.164-like), once spaces, hyphens, dots and
// parentheses are removed ("+44 7700 900001" is "+447700900001"). ok is false
// when phone is no such number; then it is returned as it is.
func NormalPhone(phone string) (normal string, ok bool) {
	normal = phoneSeparators.Replace(phone)
	if !phonePattern.MatchString(normal) {
		return phone, false
	}
	return normal, true
}

// NewOrder builds the placed order from a validated request. Phone numbers
// are stored in their normal form (see NormalPhone).
func (r *PlaceRequest) NewOrder(id, number string) Order {
	channel := r.Channel
	if channel == "" {
		channel = ChannelWeb
	}
	lines := make([]Line, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Product: l.Product}
	}
	customer := r.Customer
	customer.Phone, _ = NormalPhone(customer.Phone)
	nominee := r.Nominee
	if nominee != nil {
		n := *nominee // the request's own stays as it was sent
		n.Phone, _ = NormalPhone(n.Phone)
		nominee = &n
	}
	fulfilment := r.Fulfilment
	if fulfilment.Type == FulfilmentShip && fulfilment.Service == "" {
		fulfilment.Service = ServiceStandard
	}
	o := Order{
		ID:         id,
		Number:     number,
		Status:     StatusPlaced,
		Channel:    channel,
		Customer:   customer,
		Currency:   r.Currency,
		Fulfilment: fulfilment,
		Lines:      lines,
		Pickup:     Pickup{StoreID: r.Fulfilment.StoreID, Nominee: nominee},
		Payments: []Payment{{
			Method: strings.ToLower(r.Payment.Method), Reference: r.Payment.Reference, Authorized: r.Payment.Amount,
		}},
		Returns:     []Return{},
		Exchanges:   []Exchange{},
		Fulfilments: []FulfilmentState{},
		Version:     1,
	}
	o.SyncCollect()
	return o
}

// CollectFulfilmentID is the id of a collect order's collect fulfilment.
const CollectFulfilmentID = "f1"

// SyncCollect keeps a collect order's collect fulfilment in step with the
// order: its store, lines, what was picked and the order's status. Orders
// stored before fulfilments were get theirs the same way. Ship orders are
// left as they are: their fulfilments are their own.
func (o *Order) SyncCollect() {
	if o.Fulfilment.Type != FulfilmentCollect {
		return
	}
	var f *FulfilmentState
	for i := range o.Fulfilments {
		if o.Fulfilments[i].Type == FulfilmentCollect {
			f = &o.Fulfilments[i]
			break
		}
	}
	if f == nil {
		o.Fulfilments = append([]FulfilmentState{{ID: CollectFulfilmentID, Type: FulfilmentCollect, CreatedAt: o.CreatedAt}},
			o.Fulfilments...)
		f = &o.Fulfilments[0]
	}
	f.LocationID = o.Fulfilment.StoreID
	f.Status = string(o.Status)
	lines := make([]FulfilmentLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = FulfilmentLine{SKU: l.SKU, Quantity: l.Quantity, Picked: l.Picked}
	}
	f.Lines = lines
}
