package api

import (
	"fmt"
	"net/url"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// Limits on what a client sends that internal/order does not already bound:
// headers, query parameters and the bodies of admin and customer requests.
// Every one is stated in openapi.json (maxLength, maxItems).
const (
	// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
	MaxIdempotencyKeyLength = 200
	// MaxActorLength bounds the Omni-Actor header; a longer one is ignored.
	MaxActorLength = 100
	// maxWebhookURLLength bounds a webhook subscription's URL.
	maxWebhookURLLength = 2048
	// maxWebhookEventTypes bounds the event types of a subscription.
	maxWebhookEventTypes = 50
	// maxEventTypeLength bounds one event type name (see eventTypePattern).
	maxEventTypeLength = 64
	// maxOrderNumberLength bounds an order number (digits).
	maxOrderNumberLength = 20
	// maxOrderIDLength bounds an order id in a path or query: ids Omni
	// makes and ids a checkout chooses are shorter.
	maxOrderIDLength = order.MaxIDLength
)

// validation is the 422 problem of a body that breaks its rules: every
// offending field at once.
func validation(detail string, fields []order.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &order.Error{Kind: order.KindInvalid, Code: "validation", Detail: detail, Fields: fields}
}

// fieldErrors collects the offending fields of a request.
type fieldErrors []order.FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, order.FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// text checks a free-text field: required or not, at most limit characters.
func (f *fieldErrors) text(field, value string, required bool, limit int) {
	switch {
	case value == "" && required:
		f.add(field, "is required, at most %d characters", limit)
	case order.TooLong(value, limit):
		f.add(field, "must be at most %d characters", limit)
	}
}

// Validate checks a pick report: the quantity found of each line.
func (b *pickBody) Validate() error {
	if b.Lines == nil {
		return validation("the pick report is not valid",
			[]order.FieldError{{Field: "lines", Detail: "is required: the quantity found of each line"}})
	}
	return checkLines("lines", *b.Lines, 0)
}

// Validate checks the shape of a handover; the order's workflow checks the
// code, the lines and the nominee against the order.
func (b *collectBody) Validate() error {
	var f fieldErrors
	switch {
	case b.PickupCode == "":
		f.add("pickup_code", "is required")
	case order.TooLong(b.PickupCode, order.MaxPickupCodeLength):
		f.add("pickup_code", "must be at most %d characters", order.MaxPickupCodeLength)
	}
	f.text("collected_by.name", b.CollectedBy.Name, false, order.MaxNameLength)
	if err := validation("the handover is not valid", f); err != nil {
		return err
	}
	if err := checkLines("lines", b.Lines, 1); err != nil {
		return err
	}
	if err := checkRefused(b.Refused); err != nil {
		return err
	}
	switch b.CollectedBy.Relation {
	case "", "customer", "nominee":
	default:
		// The code the order's workflow answers with, which the console knows.
		return &order.Error{Kind: order.KindInvalid, Code: "bad_relation", Detail: "collected_by.relation must be customer or nominee",
			Fields: []order.FieldError{{Field: "collected_by.relation", Detail: "want customer or nominee"}}}
	}
	return nil
}

// checkRefused checks the lines refused at a handover.
func checkRefused(refused []workflows.RefusedLine) error {
	var f fieldErrors
	if len(refused) > order.MaxLines {
		f.add("refused", "at most %d lines", order.MaxLines)
		refused = refused[:order.MaxLines]
	}
	lines := make([]order.LineQty, len(refused))
	for i, l := range refused {
		f.text("refused["+itoa(i)+"].reason", l.Reason, false, order.MaxReasonLength)
		lines[i] = order.LineQty{SKU: l.SKU, Quantity: l.Quantity}
	}
	if err := validation("the refused lines are not valid", f); err != nil {
		return err
	}
	return checkLines("refused", lines, 1)
}

// Validate checks a store's reason for turning an order down.
func (b *rejectBody) Validate() error {
	var f fieldErrors
	f.text("reason", b.Reason, true, order.MaxReasonLength)
	return validation("the rejection is not valid", f)
}

// Validate checks a cancellation (its reason is optional).
func (b *cancelBody) Validate() error {
	var f fieldErrors
	f.text("reason", b.Reason, false, order.MaxReasonLength)
	return validation("the cancellation is not valid", f)
}

// Validate checks the shape of a return; the order's workflow checks the
// lines against what was handed over.
func (b *returnBody) Validate() error {
	return validation("the return is not valid", checkReturnLines("lines", b.Lines))
}

// Validate checks the shape of an exchange.
func (b *exchangeBody) Validate() error {
	f := fieldErrors(checkReturnLines("return_lines", b.ReturnLines))
	newLines := b.NewLines
	if len(newLines) == 0 || len(newLines) > order.MaxLines {
		f.add("new_lines", "1 to %d new items", order.MaxLines)
		newLines = newLines[:min(len(newLines), order.MaxLines)]
	}
	for i, l := range newLines {
		at := fmt.Sprintf("new_lines[%d]", i)
		f = append(f, lineFields(at, l.SKU, l.Quantity, 1)...)
		// Left out (0), the price is Omni's: the order's for a SKU on it, else the price list's.
		if l.UnitPrice < 0 || l.UnitPrice > order.MaxUnitPrice {
			f.add(at+".unit_price", "must be between 1 and %d minor units, or left out", order.MaxUnitPrice)
		}
	}
	if t := b.Tender; t != nil {
		f.text("tender.reference", t.Reference, true, order.MaxPaymentReferenceLength)
		f.text("tender.method", t.Method, false, order.MaxPaymentMethodLength)
	}
	return validation("the exchange is not valid", f)
}

// checkReturnLines checks the shape of lines brought back.
func checkReturnLines(field string, lines []order.ReturnLine) []order.FieldError {
	var f fieldErrors
	if len(lines) == 0 || len(lines) > order.MaxLines {
		f.add(field, "1 to %d lines", order.MaxLines)
		return f
	}
	for i, l := range lines {
		at := fmt.Sprintf("%s[%d]", field, i)
		f = append(f, lineFields(at, l.SKU, l.Quantity, 1)...)
		f.text(at+".reason", l.Reason, true, order.MaxReasonLength)
		if l.Condition != order.ConditionResellable && l.Condition != order.ConditionDamaged {
			f.add(at+".condition", "must be resellable or damaged")
		}
	}
	return f
}

// checkLines checks lines of SKUs and quantities (minQty to MaxQuantity).
func checkLines(field string, lines []order.LineQty, minQty int64) error {
	var f fieldErrors
	if len(lines) > order.MaxLines {
		f.add(field, "at most %d lines", order.MaxLines)
		lines = lines[:order.MaxLines]
	}
	for i, l := range lines {
		f = append(f, lineFields(field+"["+itoa(i)+"]", l.SKU, l.Quantity, minQty)...)
	}
	return validation("the lines are not valid", f)
}

// lineFields checks one line's SKU and quantity (minQty to MaxQuantity); at
// names the line in the field errors ("lines[2]").
func lineFields(at, sku string, qty, minQty int64) []order.FieldError {
	var fields []order.FieldError
	if !skuPattern.MatchString(sku) {
		fields = append(fields, order.FieldError{Field: at + ".sku",
			Detail: "is not a SKU (1-" + itoa(order.MaxSKULength) + " letters, digits or '_', '.', ':', '/', '-')"})
	}
	if qty < minQty || qty > order.MaxQuantity {
		fields = append(fields, order.FieldError{Field: at + ".quantity",
			Detail: "must be between " + itoa(int(minQty)) + " and " + itoa(order.MaxQuantity)})
	}
	return fields
}

// Validate checks a webhook subscription: an absolute http(s) URL and known
// looking event types. Where the URL may point is the subscription's own
// check, once it is well formed.
func (b *webhookBody) Validate() error {
	var f fieldErrors
	if u, err := url.Parse(b.URL); b.URL == "" || len(b.URL) > maxWebhookURLLength || err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		f.add("url", "is required: an absolute http or https URL without a fragment, at most %d characters", maxWebhookURLLength)
	}
	types := b.EventTypes
	if len(types) > maxWebhookEventTypes {
		f.add("event_types", "at most %d types", maxWebhookEventTypes)
		types = types[:maxWebhookEventTypes]
	}
	for i, t := range types {
		if !eventTypePattern.MatchString(t) {
			f.add("event_types["+itoa(i)+"]", "is not an event type (lower case letters, digits and _, at most %d)", maxEventTypeLength)
		}
	}
	return validation("the subscription is not valid", f)
}

// eventTypes are the subscription's event types, each once.
func (b *webhookBody) eventTypes() []string {
	types := make([]string, 0, len(b.EventTypes))
	seen := map[string]bool{}
	for _, t := range b.EventTypes {
		if !seen[t] {
			types = append(types, t)
			seen[t] = true
		}
	}
	return types
}

// Validate checks an order lookup: the number and the customer's email or phone.
func (b *lookupBody) Validate() error {
	var f fieldErrors
	if b.Number == "" || (b.Email == "" && notDigits.ReplaceAllString(b.Phone, "") == "") {
		f.add("number", "the order number and the customer's email or phone are required")
	}
	if len(b.Number) > maxOrderNumberLength {
		f.add("number", "must be at most %d characters", maxOrderNumberLength)
	}
	f.text("email", b.Email, false, order.MaxEmailLength)
	f.text("phone", b.Phone, false, order.MaxPhoneLength)
	return validation("the lookup is not valid", f)
}

// Validate checks a price from the price feed.
func (b *priceBody) Validate() error {
	var f fieldErrors
	if b.Currency == "" {
		f.add("currency", "is required; %s", currencyRule)
	} else if !currencyPattern.MatchString(b.Currency) {
		f.add("currency", currencyRule)
	}
	if b.UnitPrice == nil || *b.UnitPrice < 1 || *b.UnitPrice > order.MaxUnitPrice {
		f.add("unit_price", "is required, between 1 and %d minor units", order.MaxUnitPrice)
	}
	return validation("the price is not valid", f)
}

// Validate checks a stock figure from the inventory feed.
func (b *stockBody) Validate() error {
	if b.OnHand == nil || *b.OnHand < 0 || *b.OnHand > MaxOnHand {
		return validation("the stock figure is not valid",
			[]order.FieldError{{Field: "on_hand", Detail: "is required, between 0 and " + itoa(MaxOnHand)}})
	}
	return nil
}

// maxCurbsideFieldLength bounds a curbside bay and vehicle description.
const maxCurbsideFieldLength = 100

// Validate checks the parcels of a ship report; the workflow checks them
// against what was picked.
func (b *shipBody) Validate() error {
	var f fieldErrors
	if len(b.Parcels) > order.MaxParcels {
		f.add("parcels", "at most %d parcels", order.MaxParcels)
		b.Parcels = b.Parcels[:order.MaxParcels]
	}
	for i, p := range b.Parcels {
		at := "parcels[" + itoa(i) + "].lines"
		if len(p.Lines) == 0 {
			f.add(at, "a parcel holds at least one line")
		}
		if len(p.Lines) > order.MaxLines {
			f.add(at, "at most %d lines", order.MaxLines)
			continue
		}
		for j, l := range p.Lines {
			f = append(f, lineFields(at+"["+itoa(j)+"]", l.SKU, l.Quantity, 1)...)
		}
	}
	return validation("the ship report is not valid", f)
}

// Validate checks a curbside arrival.
func (b *arrivedBody) Validate() error {
	var f fieldErrors
	f.text("bay", b.Bay, false, maxCurbsideFieldLength)
	f.text("vehicle", b.Vehicle, false, maxCurbsideFieldLength)
	return validation("the arrival is not valid", f)
}
