package order

import "unicode/utf8"

// Limits on every string and list a client sends. Identifiers (order ids,
// store ids, SKUs) are ASCII by their patterns; human text (names, reasons,
// references) is counted in characters, not bytes, so that "Zoë" is three.
// The API's OpenAPI document states each as maxLength or maxItems.
const (
	// MaxLines bounds the lines of an order, and of any list of lines a
	// request carries (a pick, a handover, a return, an exchange).
	MaxLines = 100
	// MaxQuantity bounds one line's quantity.
	MaxQuantity = 10_000
	// MaxUnitPrice bounds one unit's price: one million in a two-decimal currency.
	MaxUnitPrice = 100_000_000

	// MaxIDLength bounds an order id a client chooses (see idPattern).
	MaxIDLength = 64
	// MaxStoreIDLength bounds a store id, as config allows them.
	MaxStoreIDLength = 64
	// MaxSKULength bounds a SKU (see skuPattern).
	MaxSKULength = 64
	// MaxCustomerIDLength bounds the retailer's own customer id.
	MaxCustomerIDLength = 200
	// MaxNameLength bounds a person's name: the customer, a nominee, who
	// collected at the counter.
	MaxNameLength = 200
	// MaxEmailLength bounds an email address (RFC 3696: 64 + @ + 255).
	MaxEmailLength = 320
	// MaxPhoneLength bounds a phone number as sent, separators included
	// (15 digits once they are removed).
	MaxPhoneLength = 40
	// MaxLanguageLength bounds a BCP 47 language tag (RFC 5646 §4.4.1).
	MaxLanguageLength = 35
	// MaxPushTokenLength bounds a device token at a push provider.
	MaxPushTokenLength = 1024
	// MaxPaymentMethodLength bounds a tender's method ("card", "gift_card").
	MaxPaymentMethodLength = 50
	// MaxPaymentReferenceLength bounds a payment provider's or POS's reference.
	MaxPaymentReferenceLength = 200
	// MaxReasonLength bounds a free-text reason: a cancellation, a store's
	// rejection, a refused or returned line.
	MaxReasonLength = 500
	// MaxPickupCodeLength bounds a pickup code as typed at the counter (the
	// codes Omni makes have 8 characters).
	MaxPickupCodeLength = 32
	// MaxAddressFieldLength bounds each text field of a delivery address.
	MaxAddressFieldLength = 200
	// MaxParcels bounds the parcels of one shipment.
	MaxParcels = 50
	// MaxProductNameLength, MaxVariantLength and MaxImageURLLength bound a
	// line's product as the checkout sends it.
	MaxProductNameLength = 200
	MaxVariantLength     = 100
	MaxImageURLLength    = 2048
)

// TooLong reports whether s has more than limit characters (runes).
func TooLong(s string, limit int) bool {
	return len(s) > limit && utf8.RuneCountInString(s) > limit
}
