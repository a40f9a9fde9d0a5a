// Package workflows holds Omni's Temporal workflow code, and only that: it is
// deterministic (time from workflow.Now, random values through SideEffect, no
// I/O, no goroutines, no map iteration into output).
//
// OrderWorkflow is the source of truth of one order's lifecycle. Channels change
// it through Updates, whose validators reject a request before anything is
// written, and read it from the PostgreSQL projection the workflow writes on
// every transition.
package workflows
