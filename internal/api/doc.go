// Package api is Omni's HTTP API (echo v4): it binds and validates requests,
// reads orders from the PostgreSQL read model, changes them through Temporal
// Updates on the order workflow, and answers every error as RFC 9457
// application/problem+json.
package api
