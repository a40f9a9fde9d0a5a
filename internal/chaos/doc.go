// Package chaos is Omni's chaos suite (`make chaos`): it runs the real
// `omni dev` binary against a private PostgreSQL 15 cluster, drives orders
// through every path of their lifecycle over HTTP as the checkout, the stores,
// the contact centre and the admin would, kills Omni with SIGKILL at seeded
// random moments and restarts PostgreSQL once, then proves from the ledgers,
// the read model and the workflows themselves that nothing was lost or done
// twice.
//
// The invariant checker (Check) is a pure function of a Snapshot, so that its
// rules are unit-tested against snapshots that break them; TestChaos is the
// entry point of a run and does nothing unless OMNI_CHAOS=1 (the Makefile's
// chaos targets set it), so `go test ./...` stays fast.
package chaos
