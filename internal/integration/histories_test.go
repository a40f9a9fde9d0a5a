package integration

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/workflows"
)

// recordEnv names a directory to write each flow's history to, as
// <flow-name>.json: `make histories` points it at workflows/testdata, where
// workflows.TestReplayRecordedHistories replays them on every test run. A
// flow whose file is already there is not recorded again.
const recordEnv = "OMNI_RECORD_HISTORIES"

// TestRecordedHistoriesReplay drives representative order lifecycles through
// the API to their end, fetches each workflow's history from the Temporal
// server and replays it against the workflow code in this tree. With
// OMNI_RECORD_HISTORIES set it also records the histories for the replay test
// of the workflows package.
func TestRecordedHistoriesReplay(t *testing.T) {
	t.Parallel()
	dir := os.Getenv(recordEnv)
	if dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	// A collected order's workflow stays open for its return window: the
	// flows that end collected run on an Omni whose window closes in seconds.
	collectURL := startShortReturns(t)

	flows := []struct {
		name string
		run  func(t *testing.T) string // drives one order to its end, returns its id
	}{
		{"collected", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			id := c.place(orderBody("", store, line(sku, 2, 1999)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 2))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code,
				"collected_by": map[string]any{"name": "Ada Lovelace", "relation": "customer"}})
			c.waitStatus(id, "collected")
			return id
		}},
		{"short-pick-partial-collect", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(store, b, 5)
			id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 2, 500)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 1), qty(b, 2)) // one unit of a is not found
			code := c.order(id).Pickup.Code
			c.collectOK(store, id, map[string]any{"pickup_code": code, "lines": []any{qty(a, 1)}})
			c.waitStatus(id, "partially_collected")
			c.collectOK(store, id, map[string]any{"pickup_code": code})
			c.waitStatus(id, "collected")
			return id
		}},
		{"cancel-awaiting-pick", func(t *testing.T) string {
			c := newAPI(t)
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			id := c.place(orderBody("", store, line(sku, 3, 1000)))
			c.waitStatus(id, "awaiting_pick")
			r := c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "duplicate order"},
				"Omni-Channel", "contact_centre", "Omni-Actor", "agent-7")
			require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
			c.waitStatus(id, "cancelled")
			return id
		}},
		{"store-reject-reassign-reject", func(t *testing.T) string {
			c := newAPI(t)
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			c.setStock(leeds, sku, 5) // Manchester, nearer, has none
			id := c.place(orderBody("", store, line(sku, 2, 1500)))
			c.waitStatus(id, "awaiting_pick")
			c.rejectOK(store, id, "stock damaged in the stockroom")
			require.Equal(t, leeds, c.storeOf(id), "reassigned to Leeds")
			c.waitStatus(id, "awaiting_pick")
			c.rejectOK(leeds, id, "no staff today")
			c.waitStatus(id, "rejected")
			return id
		}},
		{"pickup-expired", func(t *testing.T) string {
			c := &api{t: t, base: clocksURL}
			sku := unique("SKU")
			c.setStock(store, sku, 4)
			id := c.place(orderBody("", store, line(sku, 2, 1250)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 2))
			c.waitStatus(id, "expired")
			return id
		}},
		{"refused-line", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(store, b, 5)
			id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 2), qty(b, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code,
				"refused": []any{map[string]any{"sku": b, "quantity": 1, "reason": "damaged"}}})
			c.waitStatus(id, "collected")
			return id
		}},
		{"nominee-collection", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(store, sku, 2)
			body := orderBody("", store, line(sku, 1, 900))
			body["nominee"] = map[string]any{"name": "Charles Babbage"}
			id := c.place(body)
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code,
				"collected_by": map[string]any{"name": "Charles Babbage", "relation": "nominee"}})
			c.waitStatus(id, "collected")
			return id
		}},
		{"collected-return-window-return", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(store, b, 5)
			id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 2), qty(b, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			r := c.returnLines(manchester, id, ret(a, 1, "resellable"), ret(b, 1, "damaged"))
			require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
			c.waitStatus(id, "partially_returned")
			return id
		}},
		{"collected-exchange-with-tender", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(manchester, b, 5)
			id := c.place(orderBody("", store, line(a, 1, 1000)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			r := c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(a, 1, "resellable")},
				"new_lines": []any{map[string]any{"sku": b, "quantity": 1, "unit_price": 1300}},
				"tender":    map[string]any{"method": "card", "reference": "pos-1"}})
			require.Equal(t, http.StatusCreated, r.Status, "exchange: %s", r.Body)
			return id
		}},
	}

	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			id := f.run(t)
			h := completedHistory(t, workflows.WorkflowID(id))
			reportTroubles(t, h)

			replayer := newReplayer()
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, h), "the workflow code replays the history of %s", f.name)

			if dir == "" {
				return
			}
			file := filepath.Join(dir, f.name+".json")
			if _, err := os.Stat(file); err == nil {
				// A recorded history is the evidence that orders in flight
				// replay: it is never overwritten, only added to.
				t.Logf("keeping the recorded %s (delete it to record this flow again)", file)
				return
			}
			raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(file, append(raw, '\n'), 0o644))
			require.NoError(t, newReplayer().ReplayWorkflowHistoryFromJSONFile(nil, file),
				"the recorded file loads and replays: %s", file)
		})
	}
}

// startShortReturns starts an Omni on the test Temporal and database whose
// return window closes after two seconds, and returns its API's URL.
func startShortReturns(t *testing.T) string {
	t.Helper()
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = "omni-it-histories"
	cfg.Returns.Window = 2 * time.Second
	a, err := app.Start(context.Background(), cfg, app.Parts{API: true, Worker: true}, testLogger())
	require.NoError(t, err, "start an Omni with a short return window")
	t.Cleanup(a.Stop)
	return "http://" + a.APIAddr()
}

// newReplayer registers the workflow as app.NewWorker does.
func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.OrderWorkflow, workflow.RegisterOptions{Name: "OrderWorkflow"})
	return r
}

// completedHistory waits for the workflow to complete and returns its full
// history.
func completedHistory(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, omni.Client().GetWorkflow(ctx, workflowID, "").Get(ctx, nil), "workflow %s completes", workflowID)
	desc, err := omni.Client().DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())

	h := &historypb.History{}
	it := omni.Client().GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	require.NotEmpty(t, h.Events)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, h.Events[len(h.Events)-1].GetEventType())
	return h
}

// reportTroubles logs what a healthy history does not have: failed or timed-out
// workflow tasks and activities, and retried activities.
func reportTroubles(t *testing.T, h *historypb.History) {
	t.Helper()
	for _, e := range h.Events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			a := e.GetWorkflowTaskFailedEventAttributes()
			t.Logf("event %d: workflow task failed (%s): %s", e.GetEventId(), a.GetCause(), a.GetFailure().GetMessage())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			t.Logf("event %d: workflow task timed out", e.GetEventId())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			t.Logf("event %d: activity failed: %s", e.GetEventId(), e.GetActivityTaskFailedEventAttributes().GetFailure().GetMessage())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			t.Logf("event %d: activity timed out", e.GetEventId())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if a := e.GetActivityTaskStartedEventAttributes(); a.GetAttempt() > 1 {
				t.Logf("event %d: activity attempt %d: %s", e.GetEventId(), a.GetAttempt(), a.GetLastFailure().GetMessage())
			}
		}
	}
}

func (c *api) pickOK(storeID, id string, lines ...map[string]any) {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+id+"/pick", pickBody(lines...))
	require.Equal(c.t, http.StatusOK, r.Status, "pick: %s", r.Body)
}

func (c *api) collectOK(storeID, id string, body map[string]any) {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+id+"/collect", body)
	require.Equal(c.t, http.StatusOK, r.Status, "collect: %s", r.Body)
}

func (c *api) rejectOK(storeID, id, reason string) {
	c.t.Helper()
	r := c.do(http.MethodPost, "/v1/stores/"+storeID+"/orders/"+id+"/reject", map[string]any{"reason": reason})
	require.Equal(c.t, http.StatusOK, r.Status, "reject: %s", r.Body)
}
