package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/adapters/stripe/stripetest"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/workflows"
)

// recordEnv names a directory to write each flow's history to, as
// <flow-name>.<generation>.json: `make histories` points it at
// workflows/testdata, where workflows.TestReplayRecordedHistories replays
// them on every test run. A flow whose file is already there is not recorded
// again.
const recordEnv = "OMNI_RECORD_HISTORIES"

// historyGeneration names the workflow code whose paths the histories record.
// Bump it with a change that sends new orders down new paths (behind
// workflow.GetVersion), and record every flow again with `make histories`:
// the files of earlier generations stay, so orders still running on the old
// paths keep being replayed. (The files without a generation, recorded
// before the asynchronous notifications, are generation 1; v2 are orders
// started without OrderInput.Rules on the exactly-once code, as during a
// rolling deploy; v3 are orders started on rules 2, the exactly-once rules;
// v4 on rules 3, where a handover takes the money first.)
const historyGeneration = "v4"

// testdataDir is the workflows package's testdata, from this package.
const testdataDir = "../../workflows/testdata"

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
	collectURL := startShortReturns(t, "omni-it-histories", 2*time.Second, 0)
	// An Omni whose orders continue as new after 100 history events.
	budgetURL := startShortReturns(t, "omni-it-budget", 15*time.Second, 100)
	// An Omni whose collect orders take transfers, with short returns.
	transferURL := startOmni(t, "omni-it-histories-transfers", func(cfg *config.Config) {
		cfg.Returns.Window = 2 * time.Second
		cfg.Transfers.Enabled = true
	})

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
		{"collected-looked-up-for-return", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			id := c.place(orderBody("", store, line(sku, 1, 1100)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			number := c.waitStatus(id, "collected").Number
			// Another store finds it by its receipt number: the read is on the timeline.
			r := c.do(http.MethodGet, "/v1/stores/"+manchester+"/orders/by-number/"+number, nil, "Authorization", "Bearer "+store2Key)
			require.Equal(t, http.StatusOK, r.Status, "look-up for a return: %s", r.Body)
			c.waitEvents(id, "looked_up_for_return", 1)
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
			c.setPrice(b, "GBP", 1300)
			r := c.exchangeLines(manchester, id, map[string]any{"return_lines": []any{ret(a, 1, "resellable")},
				"new_lines": []any{map[string]any{"sku": b, "quantity": 1, "unit_price": 1300}},
				"tender":    map[string]any{"method": "card", "reference": "pos-1"}})
			require.Equal(t, http.StatusCreated, r.Status, "exchange: %s", r.Body)
			return id
		}},
		{"partly-collected-hold-ends", func(t *testing.T) string {
			c := &api{t: t, base: clocksURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(store, b, 5)
			id := c.place(orderBody("", store, line(a, 2, 1000), line(b, 1, 500)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 2), qty(b, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code, "lines": []any{qty(a, 2)}})
			c.waitStatus(id, "collected") // when the hold ends, b is cancelled and a stays sold
			return id
		}},
		{"extend-and-cancel", func(t *testing.T) string {
			c := newAPI(t)
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			id := c.place(orderBody("", store, line(sku, 1, 700)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			r := c.do(http.MethodPost, "/v1/orders/"+id+"/extend-pickup", nil, "Authorization", "Bearer "+supportKey)
			require.Equal(t, http.StatusOK, r.Status, "extend: %s", r.Body)
			r = c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "no longer needed"},
				"Authorization", "Bearer "+supportKey)
			require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
			c.waitStatus(id, "cancelled")
			return id
		}},
		{"ship-split-delivered-returned", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(manchester, b, 5)
			id := c.place(shipOrderBody(line(a, 2, 1000), line(b, 1, 2500)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 1)) // one short: voided
			c.pickOK(manchester, id, qty(b, 1))
			for _, s := range []string{store, manchester} {
				r := c.ship(s, id)
				require.Equal(t, http.StatusOK, r.Status, "ship: %s", r.Body)
			}
			for _, f := range c.fulfilled(id).Fulfilments {
				c.markParcel(f.Shipment.ID, "in_transit")
				c.markParcel(f.Shipment.ID, "failed_attempt")
				c.markParcel(f.Shipment.ID, "delivered")
			}
			r := c.returnLines(leeds, id, ret(b, 1, "resellable"))
			require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
			return id
		}},
		{"ship-nothing-found-resourced-returned-to-sender", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(warehouse, sku, 5)
			c.setStock(store, sku, 5)
			id := c.place(shipOrderBody(line(sku, 1, 1000)))
			c.waitStatus(id, "awaiting_pick")
			r := c.do(http.MethodPost, "/v1/stores/"+warehouse+"/orders/"+id+"/pick", pickBody(qty(sku, 0)))
			require.Equal(t, http.StatusOK, r.Status, "nothing found: %s", r.Body)
			c.pickOK(store, id, qty(sku, 1))
			r = c.ship(store, id)
			require.Equal(t, http.StatusOK, r.Status, "ship: %s", r.Body)
			c.markParcel(c.fulfilled(id).at(t, store).Shipment.ID, "returned_to_sender")
			c.waitStatus(id, "returned_to_sender")
			return id
		}},
		{"ship-cancelled", func(t *testing.T) string {
			c := newAPI(t)
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(manchester, b, 5)
			id := c.place(shipOrderBody(line(a, 1, 1000), line(b, 1, 1000)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 1))
			r := c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "changed my mind"},
				"Authorization", "Bearer "+supportKey)
			require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
			return id
		}},
		{"transfer-for-collection", func(t *testing.T) string {
			c := &api{t: t, base: transferURL}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(manchester, b, 5)
			id := c.place(orderBody("", store, line(a, 1, 1000), line(b, 1, 1000)))
			c.waitStatus(id, "awaiting_transfer")
			c.pickOK(manchester, id, qty(b, 1))
			r := c.ship(manchester, id)
			require.Equal(t, http.StatusOK, r.Status, "dispatch: %s", r.Body)
			r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/receive", nil)
			require.Equal(t, http.StatusOK, r.Status, "receive: %s", r.Body)
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 1), qty(b, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			return id
		}},
		{"curbside-collected", func(t *testing.T) string {
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			body := orderBody("", store, line(sku, 1, 1000))
			body["fulfilment"] = map[string]any{"type": "collect", "store_id": store, "curbside": true}
			id := c.place(body)
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			r := c.do(http.MethodPost, "/v1/orders/"+id+"/arrived", map[string]any{"bay": "2", "vehicle": "blue van"})
			require.Equal(t, http.StatusOK, r.Status, "arrived: %s", r.Body)
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			return id
		}},
		{"adapters-fail-first-collected", func(t *testing.T) string {
			// Every port on its HTTP adapter, every first attempt refused with
			// a 503: the retries are on the timeline (adapter_retrying).
			ref := startReference(t)
			c := &api{t: t, base: startOmni(t, "omni-it-histories-adapters", func(cfg *config.Config) {
				cfg.Returns.Window = 2 * time.Second
				for _, s := range []*config.System{&cfg.Inventory, &cfg.StoreTasks, &cfg.Catalog} {
					s.URL, s.Token = ref.url, referenceToken
				}
				cfg.Payments.Provider, cfg.Payments.URL, cfg.Payments.Token = config.PaymentsHTTP, ref.url, referenceToken
			})}
			sku := unique("SKU")
			ref.admin("/admin/stock/"+store+"/"+sku, map[string]any{"on_hand": 3})
			id := c.place(orderBody("", store, line(sku, 1, 900)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			c.waitEvents(id, "adapter_retrying", 3)
			return id
		}},
		{"stripe-one-capture", func(t *testing.T) string {
			st := stripetest.NewServer()
			t.Cleanup(st.Close)
			c := &api{t: t, base: startOmni(t, "omni-it-histories-stripe", func(cfg *config.Config) {
				cfg.Returns.Window = 2 * time.Second
				cfg.Payments.Provider = config.PaymentsStripe
				cfg.Payments.Stripe.SecretKey, cfg.Payments.Stripe.APIBase = "sk_test_omni", st.URL
			})}
			a, b := unique("SKU"), unique("SKU")
			c.setStock(store, a, 5)
			c.setStock(store, b, 5)
			body := orderBody("", store, line(a, 2, 1000), line(b, 1, 500))
			body["payment"] = map[string]any{"method": "card", "reference": st.CreatePaymentIntent(2500, "gbp"), "amount": 2500}
			id := c.place(body)
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(a, 2), qty(b, 0)) // b is short: nothing voided yet, the capture will release it
			code := c.order(id).Pickup.Code
			c.collectOK(store, id, map[string]any{"pickup_code": code, "lines": []any{qty(a, 1)}})
			c.collectOK(store, id, map[string]any{"pickup_code": code})
			return id
		}},
		{"capture-refused-then-cancelled", func(t *testing.T) string {
			// The payment service refuses the capture at the counter: 402,
			// the order as it was; the contact centre then cancels it.
			psp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/capture") {
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(http.StatusConflict)
					_, _ = w.Write([]byte(`{"type":"https://psp.example/problems/authorization_expired","title":"expired"}`))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"status":"succeeded","psp_reference":"psp-x"}`))
			}))
			t.Cleanup(psp.Close)
			c := &api{t: t, base: startOmni(t, "omni-it-histories-refused", func(cfg *config.Config) {
				cfg.Payments.Provider, cfg.Payments.URL, cfg.Payments.Token = config.PaymentsHTTP, psp.URL, "psp-token"
			})}
			sku := unique("SKU")
			c.setStock(store, sku, 2)
			id := c.place(orderBody("", store, line(sku, 1, 800)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 1))
			r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+id+"/collect", map[string]any{"pickup_code": c.order(id).Pickup.Code})
			require.Equal(t, "payment_failed", problem(t, r, http.StatusPaymentRequired))
			require.Equal(t, "ready_for_collection", c.order(id).Status, "the handover did not happen")
			r = c.do(http.MethodPost, "/v1/orders/"+id+"/cancel", map[string]any{"reason": "card expired"},
				"Authorization", "Bearer "+supportKey)
			require.Equal(t, http.StatusOK, r.Status, "cancel: %s", r.Body)
			return id
		}},
		{"collected-customer-contacted", func(t *testing.T) string {
			// The contact centre logs a call about the order: on its timeline, once.
			c := &api{t: t, base: collectURL}
			sku := unique("SKU")
			c.setStock(store, sku, 5)
			body := orderBody("", store, line(sku, 1, 1000))
			customerID := unique("cust")
			body["customer"] = map[string]any{"id": customerID, "email": "ada@example.com"}
			id := c.place(body)
			c.waitStatus(id, "awaiting_pick")
			r := c.do(http.MethodPost, "/v1/customers/"+customerID+"/interactions", map[string]any{"channel": "phone",
				"summary": "asked when it will be ready", "order_id": id}, "Authorization", "Bearer "+supportKey, "Idempotency-Key", unique("k"))
			require.Equal(t, http.StatusCreated, r.Status, "interaction: %s", r.Body)
			c.waitEvents(id, "customer_contacted", 1)
			c.pickOK(store, id, qty(sku, 1))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			return id
		}},
		{"returns-continue-as-new", func(t *testing.T) string {
			c := &api{t: t, base: budgetURL}
			sku := unique("SKU")
			c.setStock(store, sku, 10)
			id := c.place(orderBody("", store, line(sku, 8, 100)))
			c.waitStatus(id, "awaiting_pick")
			c.pickOK(store, id, qty(sku, 8))
			c.collectOK(store, id, map[string]any{"pickup_code": c.order(id).Pickup.Code})
			for range 8 {
				r := c.returnLines(manchester, id, ret(sku, 1, "resellable"))
				require.Equal(t, http.StatusCreated, r.Status, "return: %s", r.Body)
			}
			c.waitStatus(id, "returned")
			return id
		}},
	}

	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			id := f.run(t)
			runs := orderRuns(t, workflows.WorkflowID(id))
			if f.name == "returns-continue-as-new" {
				require.Greater(t, len(runs), 1, "the order continued as new past its history budget")
			}
			for i, h := range runs {
				name := f.name
				if i < len(runs)-1 {
					name = fmt.Sprintf("%s.run%d", f.name, i+1)
				}
				checkHistory(t, dir, name, h)
				for j, child := range childHistories(t, h) {
					checkHistory(t, dir, fmt.Sprintf("%s.child%d", name, j+1), child)
				}
			}
		})
	}
}

// checkHistory replays one history against the workflow code in this tree
// and, when recording, writes it to dir as <name>.<generation>.json; when not
// recording, it insists that the flow's history of this generation is in
// workflows/testdata, so that the replay test covers every path new orders take.
func checkHistory(t *testing.T, dir, name string, h *historypb.History) {
	t.Helper()
	reportTroubles(t, h)
	require.NoError(t, newReplayer().ReplayWorkflowHistory(nil, h), "the workflow code replays the history of %s", name)
	file := name + "." + historyGeneration + ".json"
	if dir == "" {
		require.FileExists(t, filepath.Join(testdataDir, file),
			"the replay test has no history of %s on the current workflow code: record it with `make histories`", name)
		return
	}
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); err == nil {
		// A recorded history is the evidence that orders in flight
		// replay: it is never overwritten, only added to.
		t.Logf("keeping the recorded %s (delete it to record this flow again)", path)
		return
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(raw, '\n'), 0o644))
	require.NoError(t, newReplayer().ReplayWorkflowHistoryFromJSONFile(nil, path),
		"the recorded file loads and replays: %s", path)
}

// orderRuns waits for the order's workflow to complete and returns the
// history of each of its runs, the first first.
func orderRuns(t *testing.T, workflowID string) []*historypb.History {
	t.Helper()
	last := completedHistory(t, workflowID)
	runs := []*historypb.History{last}
	for {
		prev := runs[0].Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if prev == "" {
			return runs
		}
		runs = append([]*historypb.History{history(t, workflowID, prev)}, runs...)
		end := runs[0].Events[len(runs[0].Events)-1].GetEventType()
		require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, end)
	}
}

// childHistories returns the histories of the child workflows a run started
// (returns and exchanges), each once it has completed.
func childHistories(t *testing.T, h *historypb.History) []*historypb.History {
	t.Helper()
	var out []*historypb.History
	for _, e := range h.Events {
		if a := e.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
			out = append(out, history(t, a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()))
		}
	}
	return out
}

// history reads one run's full history.
func history(t *testing.T, workflowID, runID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &historypb.History{}
	it := omni.Client().GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	require.NotEmpty(t, h.Events)
	return h
}

// startShortReturns starts an Omni on the test Temporal and database, on its
// own task queue, whose return window closes after window (and whose orders
// continue as new past budget history events, when not 0), and returns its
// API's URL.
func startShortReturns(t *testing.T, taskQueue string, window time.Duration, budget int) string {
	t.Helper()
	return startOmni(t, taskQueue, func(cfg *config.Config) {
		cfg.Returns.Window = window
		if budget > 0 {
			cfg.Temporal.HistoryBudget = budget
		}
	})
}

// startOmni starts an Omni (API and worker) on the test Temporal and
// database, on its own task queue, with the test configuration as set
// changes it, and returns its API's URL.
func startOmni(t *testing.T, taskQueue string, set func(*config.Config)) string {
	t.Helper()
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = taskQueue
	set(cfg)
	a, err := app.Start(context.Background(), cfg, app.Parts{API: true, Worker: true}, testLogger())
	require.NoError(t, err, "start an Omni with a short return window")
	t.Cleanup(a.Stop)
	return "http://" + a.APIAddr()
}

// newReplayer registers the workflows as app.NewWorker does.
func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.OrderWorkflow, workflow.RegisterOptions{Name: "OrderWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ReturnWorkflow, workflow.RegisterOptions{Name: "ReturnWorkflow"})
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

	h := history(t, workflowID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
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
