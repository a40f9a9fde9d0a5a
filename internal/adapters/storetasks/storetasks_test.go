package storetasks_test

import (
	"context"
	"errors"
	"github.com/omni-retail/omni/internal/adapters/httpx/httpxtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/adapters/storetasks"
	"github.com/omni-retail/omni/internal/order"
)

// The carrier, payment service, store task system… as the tests play it.
type (
	seen = httpxtest.Seen
	fake = httpxtest.Server
)

var reply = httpxtest.Reply

// localQueue records what Omni's own queue was told, and the order of calls.
type localQueue struct {
	mu    sync.Mutex
	calls []string
	fail  error
	f     *fake
	// sentBefore is how many requests the store's system had had at each
	// call to Omni's queue (f set).
	sentBefore []int
}

func (q *localQueue) OpenPickTask(_ context.Context, t activities.PickTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, "open "+t.OrderID+" "+t.StoreID)
	if q.f != nil {
		q.sentBefore = append(q.sentBefore, len(q.f.All()))
	}
	return q.fail
}

func (q *localQueue) ClosePickTask(_ context.Context, orderID, storeID, status string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, "close "+orderID+" "+storeID+" "+status)
	return q.fail
}

func serve(t *testing.T, local activities.StoreTasks, answer func(w http.ResponseWriter, r *http.Request)) (*fake, *storetasks.Client) {
	f := &fake{Answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, storetasks.New(httpx.Options{BaseURL: srv.URL, Token: "tasks-token", Timeout: time.Second}, local)
}

// TestOpenPickTask: Omni's queue first, then POST /pick-tasks with the
// contract's body under pick-task/{order}/{store}, the same on a retry.
func TestOpenPickTask(t *testing.T) {
	local := &localQueue{}
	f, c := serve(t, local, reply(http.StatusCreated, "application/json", `{"task_id":"T-1"}`))
	local.f = f
	due := time.Date(2025, 3, 4, 17, 30, 0, 0, time.FixedZone("CET", 3600))
	task := activities.PickTask{OrderID: "ord-1", OrderNumber: "OM-1001", StoreID: "store-1",
		Lines: []order.LineQty{{SKU: "A", Quantity: 2}}, DueBy: due}
	ctx := context.Background()
	require.NoError(t, c.OpenPickTask(ctx, task))
	require.NoError(t, c.OpenPickTask(ctx, task))
	require.Equal(t, []int{0, 1}, local.sentBefore, "Omni's queue first, every time")
	require.Equal(t, []string{"open ord-1 store-1", "open ord-1 store-1"}, local.calls)
	reqs := f.All()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "/pick-tasks", r.Path)
		require.Equal(t, "Bearer tasks-token", r.Header.Get("Authorization"))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "pick-task/ord-1/store-1", r.Header.Get("Idempotency-Key"))
		require.Equal(t, map[string]any{"order_id": "ord-1", "order_number": "OM-1001", "location_id": "store-1",
			"lines": []any{map[string]any{"sku": "A", "quantity": float64(2)}}, "due_by": "2025-03-04T16:30:00Z"}, r.Body)
	}

	// Omni's queue failing: nothing is sent, the error is returned (retried).
	local.fail = errors.New("db down")
	require.ErrorContains(t, c.OpenPickTask(ctx, task), "db down")
	require.Len(t, f.All(), 2)
}

// TestClosePickTask: an order leaving the store cancels the task with the
// status as reason; a picked task is not sent back to the store.
func TestClosePickTask(t *testing.T) {
	local := &localQueue{}
	f, c := serve(t, local, reply(http.StatusOK, "application/json", `{}`))
	ctx := context.Background()
	require.NoError(t, c.ClosePickTask(ctx, "ord-1", "store-1", "picked"))
	require.Empty(t, f.All())
	for i, status := range []string{"cancelled", "rejected", "escalated", "nothing_found"} {
		require.NoError(t, c.ClosePickTask(ctx, "ord 1", "store-1", status))
		r := f.All()[i]
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "/pick-tasks/ord%201/cancel", r.Path)
		require.Equal(t, "pick-task-cancel/ord 1/store-1", r.Header.Get("Idempotency-Key"))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "Bearer tasks-token", r.Header.Get("Authorization"))
		require.Equal(t, map[string]any{"reason": status}, r.Body)
	}
	require.Equal(t, []string{"close ord-1 store-1 picked", "close ord 1 store-1 cancelled", "close ord 1 store-1 rejected",
		"close ord 1 store-1 escalated", "close ord 1 store-1 nothing_found"}, local.calls)
}

// TestAnswers: 409/422 are domain errors; 503, 500, 408 and a timeout are retried.
func TestAnswers(t *testing.T) {
	ctx := context.Background()
	task := activities.PickTask{OrderID: "o", StoreID: "s"}
	_, c := serve(t, nil, reply(409, "application/problem+json", `{"type":"https://tasks/problems/task_already_picked"}`))
	err := c.ClosePickTask(ctx, "o", "s", "cancelled")
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, order.KindConflict, de.Kind)
	require.Equal(t, "task_already_picked", de.Code)
	_, c = serve(t, nil, reply(422, "application/problem+json", `{"type":"urn:tasks:unknown_location"}`))
	de, ok = order.AsError(c.OpenPickTask(ctx, task))
	require.True(t, ok)
	require.Equal(t, order.KindInvalid, de.Kind)

	for _, status := range []int{503, 500, 408, 429} {
		_, c := serve(t, nil, reply(status, "", ""))
		err := c.OpenPickTask(ctx, task)
		require.Error(t, err)
		_, ok := order.AsError(err)
		require.False(t, ok, "%d", status)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			require.False(t, appErr.NonRetryable())
		}
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c = storetasks.New(httpx.Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond}, nil)
	err = c.OpenPickTask(ctx, task)
	require.Error(t, err)
	_, ok = order.AsError(err)
	require.False(t, ok)
}

// TestLongKey: a long order id gives a key of at most 64, the same on a retry.
func TestLongKey(t *testing.T) {
	f, c := serve(t, nil, reply(201, "application/json", `{"task_id":"T"}`))
	task := activities.PickTask{OrderID: strings.Repeat("o", 70), StoreID: "store-1"}
	require.NoError(t, c.OpenPickTask(context.Background(), task))
	require.NoError(t, c.OpenPickTask(context.Background(), task))
	reqs := f.All()
	k := reqs[0].Header.Get("Idempotency-Key")
	require.LessOrEqual(t, len(k), 64)
	require.Equal(t, k, reqs[1].Header.Get("Idempotency-Key"))
	require.Equal(t, httpx.IdempotencyKey("pick-task/"+task.OrderID+"/store-1"), k)
	require.Nil(t, reqs[0].Body["due_by"], "no due time: null")
	require.Contains(t, reqs[0].Body, "due_by")
}
