// Package postgres is Omni's storage boundary: the pool, the embedded
// migrations, the order read model and its idempotent projection, and the
// built-in inventory, store-queue, payment and notification ledgers that the
// activities call on the embedded default.
//
// pgx and PostgreSQL errors are translated into order.Error here and nowhere else.
package postgres
