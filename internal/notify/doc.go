// Package notify tells customers about their orders. Its Notifier implements
// activities.Notifier: for each notification the order workflow sends, it picks
// the channel the customer prefers (email, SMS or push; email when the
// preferred channel has no address or is not configured), renders the event's
// template in the customer's language (English where there is none), adds a
// link to the customer's order page carrying a short-lived signed customer
// token, and sends it: email over SMTP (or to the log when no mail server is
// configured), SMS and push as JSON POSTed to the retailer's providers.
//
// Delivery is at least once. A notification is sent only if its key is not yet
// in the notifications ledger, and recorded there after the provider accepted
// it; a send whose recording failed is repeated when the activity is retried.
// Email carries a Message-ID and webhooks an Idempotency-Key derived from the
// key, so that receivers can drop such a repeat. Every failed attempt is
// recorded with its error before the error goes back to Temporal. A temporary
// failure (a provider's 408, 429 or 5xx, an SMTP 4xx, a timeout, a refused
// connection) is a plain error, and the activity is retried with back-off. A
// failure no retry can mend (a provider's other 4xx, an SMTP 5xx to the
// recipient or the message, a recipient that cannot be addressed at all) is a
// notification_rejected domain error, which Temporal does not retry.
package notify
