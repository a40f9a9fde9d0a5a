// Package order holds Omni's domain: the order as every channel sees it, its
// lines, money and timeline events, the rules a new order must satisfy, and the
// domain errors whose kind the HTTP API maps to a status code.
//
// It has no dependencies on Temporal, PostgreSQL or HTTP, so workflow code,
// activities and the API can all share it.
package order
