// Package activities holds the order workflow's activities: the calls to the
// inventory, store, payment and notification systems, and the projection of
// the order into the read model. Each system is a small interface declared
// here; the built-in implementations live in internal/postgres (ledgers a small
// retailer can run as they are) and an HTTP adapter can stand in for a
// retailer's own system.
//
// Every activity is idempotent on a key derived from the order ID and the step,
// so Temporal's retries never do anything twice.
package activities
