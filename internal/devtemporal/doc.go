// Package devtemporal runs a complete Temporal server inside the Omni process,
// persisted to a single SQLite file, for the embedded default (`omni dev`) and
// for the integration tests. Production deployments point Omni at an external
// Temporal cluster instead and never link this package's code paths.
//
// The set-up follows the Temporal CLI's own development server: a frontend with
// gRPC and HTTP ports, history, matching and worker services on their own gRPC
// ports announced through static hosts, the SQLite persistence plugin with one
// connection in WAL mode, and the namespace written to the store before start.
package devtemporal
