package workflows_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/omni-retail/omni/workflows"
)

// TestReplayRecordedHistories replays the histories in testdata/, recorded
// from real orders by `make histories` (TestRecordedHistoriesReplay in
// internal/integration), against the workflow code in this tree. It is what
// makes a deploy safe for orders already in flight: their histories were
// written by the old code, and the new code must make the same decisions
// when it picks them up.
//
// When a workflow change breaks this test, the change is not
// replay-compatible: guard it with workflow.GetVersion so that orders in
// flight keep taking the old path and replay, while new orders take the new
// one. Record histories only for new flows, and add them alongside these
// (`make histories` writes the files that are missing and leaves the rest).
// Files are named <flow>.<generation>.json (those without a generation are
// the first): internal/integration's TestRecordedHistoriesReplay fails when
// a flow has no history of the current generation, so every path that new
// orders take — continued runs and return children included — is here.
// Never re-record an existing history to make a failure go away: that throws
// away the very check that protects the orders running in production.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 5, "recorded histories in testdata/ (record them with `make histories`)")
	current, err := filepath.Glob(filepath.Join("testdata", "*.v3.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(current), 12, "histories of the current workflow code (generation v3) in testdata/")

	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.OrderWorkflow, workflow.RegisterOptions{Name: "OrderWorkflow"})
			replayer.RegisterWorkflowWithOptions(workflows.ReturnWorkflow, workflow.RegisterOptions{Name: "ReturnWorkflow"})
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, file),
				"%s no longer replays: guard the workflow change with workflow.GetVersion", file)
		})
	}
}
