// Package webhooks delivers order events to other systems, signed the
// Standard Webhooks way (https://www.standardwebhooks.com).
//
// Every timeline event is written to the outbox in the same transaction as the
// order's projection (internal/postgres). The Dispatcher, which runs in every
// worker process, turns new outbox rows into one delivery per subscription
// that wants the event, then POSTs each due delivery to its subscription's URL:
//
//	POST <url>
//	Content-Type: application/json
//	webhook-id: evt_<order id>_<seq>
//	webhook-timestamp: <unix seconds of this attempt>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
//	{"actor": …, "at": …, "channel": …, "data": {…}, "order_id": …, "seq": …, "type": …}
//
// The key is the subscription's secret ("whsec_" + base64 of 24 random bytes)
// with the prefix removed, base64-decoded; Sign and Verify implement it.
//
// A 2xx answer delivers the event. Anything else (another status, a timeout, a
// refused connection) is retried with exponential back-off (Backoff) until
// Options.RetryFor has passed since the first attempt; then the delivery is
// marked failed. Delivery is at least once: an event can arrive more than once
// (a retry after an answer that was lost), always with the same webhook-id and
// the same body, so receivers de-duplicate by webhook-id. Events of one order
// can arrive out of order; their seq says the order.
//
// Unless Options.AllowPrivateNetworks, deliveries connect only to public
// addresses: the dialer checks each address it connects to (netguard.Control),
// so a subscription's name that resolves to a loopback, private or link-local
// address at delivery time is not connected to, and the attempt is recorded
// with the error "address not allowed". Redirects are never followed.
//
// Several processes can dispatch at once: fan-out and claims take their rows
// with FOR UPDATE SKIP LOCKED, and a claimed delivery carries a lease, so a
// delivery whose process died mid-attempt is taken over when the lease ends.
package webhooks
