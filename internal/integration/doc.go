// Package integration holds Omni's end-to-end tests: a real Temporal server
// embedded in the test process (started once, in TestMain), a fresh PostgreSQL
// database, the real worker and the real HTTP API, driven over HTTP as the
// checkout, the store and the customer would.
package integration
