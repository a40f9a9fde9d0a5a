package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/workflows"
)

// reader reads the run's outcome: the database and the workflows.
type reader struct {
	dbURL    string
	temporal client.Client
}

var executionNames = map[enums.WorkflowExecutionStatus]string{
	enums.WORKFLOW_EXECUTION_STATUS_RUNNING:          "Running",
	enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "Completed",
	enums.WORKFLOW_EXECUTION_STATUS_FAILED:           "Failed",
	enums.WORKFLOW_EXECUTION_STATUS_CANCELED:         "Canceled",
	enums.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "Terminated",
	enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "ContinuedAsNew",
	enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "TimedOut",
}

// workflow describes an order's workflow and, while it can answer, queries
// its own state. busy says why it is not at rest ("" when it is): a workflow
// task or activity pending, a child running, a turn held or waited for,
// events not projected, or an order a clock will still move (placed, ready,
// partially collected).
func (r *reader) workflow(ctx context.Context, id string) (w wfState, busy string) {
	wid := workflows.WorkflowID(id)
	d, err := r.temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		w.Err = "describe: " + err.Error()
		return w, w.Err
	}
	w.Execution = executionNames[d.GetWorkflowExecutionInfo().GetStatus()]
	switch {
	case d.GetPendingWorkflowTask() != nil:
		busy = "a workflow task is pending"
	case len(d.GetPendingActivities()) > 0:
		busy = fmt.Sprintf("%d activities pending (%s)", len(d.GetPendingActivities()),
			d.GetPendingActivities()[0].GetActivityType().GetName())
	case len(d.GetPendingChildren()) > 0:
		busy = "a child workflow is running"
	}
	v, err := r.temporal.QueryWorkflow(ctx, wid, "", workflows.QueryState)
	if err == nil {
		err = v.Get(&w.View)
	}
	if err != nil {
		w.Err = "query: " + err.Error()
		return w, w.Err
	}
	switch st := w.View.Order.Status; {
	case busy != "":
	case w.Execution == "Running" && !w.View.Idle:
		busy = "the order's turn is held"
	case w.View.Pending > 0:
		busy = fmt.Sprintf("%d events not projected (workflow: %s v%d, %s)", w.View.Pending,
			w.View.Order.Status, w.View.Order.Version, w.Execution)
	case st == order.StatusPlaced || st == order.StatusReadyForCollection || st == order.StatusPartiallyCollected:
		busy = "status " + string(st) + " (a clock will move it)"
	}
	return w, busy
}

// workflows reads every order's workflow, a few at a time.
func (r *reader) workflows(ctx context.Context, ids []string) (map[string]wfState, map[string]string) {
	out, busy := map[string]wfState{}, map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			w, why := r.workflow(qctx, id)
			mu.Lock()
			out[id] = w
			if why != "" {
				busy[id] = why
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, busy
}

// waitAtRest waits until every order's workflow is at rest, for at most within.
func (r *reader) waitAtRest(ctx context.Context, ids []string, within time.Duration, logf func(string, ...any)) map[string]string {
	deadline := time.Now().Add(within)
	for {
		_, busy := r.workflows(ctx, ids)
		if len(busy) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return busy
		}
		first := sortedKeys(busy)[0]
		logf("chaos: %d orders not at rest yet (e.g. %s: %s)", len(busy), first, busy[first])
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// snapshot reads the database in one repeatable-read transaction between two
// readings of the workflows, and retries while any workflow moved meanwhile.
func (r *reader) snapshot(ctx context.Context, s *Snapshot, ids []string) error {
	for attempt := 0; ; attempt++ {
		before, _ := r.workflows(ctx, ids)
		if err := r.readDB(ctx, s); err != nil {
			return err
		}
		after, _ := r.workflows(ctx, ids)
		var moved []string
		for _, id := range ids {
			if before[id].View.Order.Version != after[id].View.Order.Version || before[id].Execution != after[id].Execution {
				moved = append(moved, id)
			}
		}
		s.Workflows = after
		if len(moved) == 0 || attempt == 4 {
			if len(moved) > 0 {
				return fmt.Errorf("orders kept moving while the checker read them: %v", moved)
			}
			return nil
		}
	}
}

func (r *reader) readDB(ctx context.Context, s *Snapshot) error {
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		s.Orders, s.Stock = map[string]dbOrder{}, map[storeSKU]stockRow{}
		s.Reservations, s.Payments, s.Steps, s.WriteOffs = nil, nil, nil, nil
		rows, _ := tx.Query(ctx, "select id, status, version, doc::text from orders")
		var id, status, doc string
		var version int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &status, &version, &doc}, func() error {
			o := dbOrder{Status: status, Version: version}
			if err := json.Unmarshal([]byte(doc), &o.Doc); err != nil {
				return fmt.Errorf("order %s: %w", id, err)
			}
			s.Orders[id] = o
			return nil
		}); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		var store, sku string
		var a, b, c int64
		rows, _ = tx.Query(ctx, "select store_id, sku, on_hand, reserved from stock")
		if _, err := pgx.ForEachRow(rows, []any{&store, &sku, &a, &b}, func() error {
			s.Stock[storeSKU{store, sku}] = stockRow{OnHand: a, Reserved: b}
			return nil
		}); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
		rows, _ = tx.Query(ctx, "select order_id, store_id, sku, reserved, committed, released from reservations order by order_id, store_id, sku")
		if _, err := pgx.ForEachRow(rows, []any{&id, &store, &sku, &a, &b, &c}, func() error {
			s.Reservations = append(s.Reservations, reservationRow{OrderID: id, Store: store, SKU: sku, Reserved: a, Committed: b, Released: c})
			return nil
		}); err != nil {
			return fmt.Errorf("reservations: %w", err)
		}
		var kind, ref, key string
		rows, _ = tx.Query(ctx, "select order_id, kind, amount, reference, step_key from payments order by id")
		if _, err := pgx.ForEachRow(rows, []any{&id, &kind, &a, &ref, &key}, func() error {
			s.Payments = append(s.Payments, paymentRow{OrderID: id, Kind: kind, Amount: a, Reference: ref, StepKey: key})
			return nil
		}); err != nil {
			return fmt.Errorf("payments: %w", err)
		}
		var fp *string
		rows, _ = tx.Query(ctx, "select key, fingerprint from activity_steps order by key")
		if _, err := pgx.ForEachRow(rows, []any{&key, &fp}, func() error {
			st := stepRow{Key: key}
			if fp != nil {
				var f struct {
					Step    string          `json:"step"`
					OrderID string          `json:"order_id"`
					StoreID string          `json:"store_id"`
					Lines   []order.LineQty `json:"lines"`
				}
				if err := json.Unmarshal([]byte(*fp), &f); err != nil {
					return fmt.Errorf("step %s: %w", key, err)
				}
				st.Step, st.OrderID, st.Store, st.Lines = f.Step, f.OrderID, f.StoreID, f.Lines
			}
			s.Steps = append(s.Steps, st)
			return nil
		}); err != nil {
			return fmt.Errorf("activity_steps: %w", err)
		}
		rows, _ = tx.Query(ctx, "select order_id, store_id, sku, quantity, step_key from write_offs")
		if _, err := pgx.ForEachRow(rows, []any{&id, &store, &sku, &a, &key}, func() error {
			s.WriteOffs = append(s.WriteOffs, writeOffRow{OrderID: id, Store: store, SKU: sku, Quantity: a, StepKey: key})
			return nil
		}); err != nil {
			return fmt.Errorf("write_offs: %w", err)
		}
		return nil
	})
}

// summary counts orders by a key, for the report.
func summary(keys []string) string {
	n := map[string]int{}
	for _, k := range keys {
		n[k]++
	}
	var parts []string
	for _, k := range sortedKeys(n) {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
