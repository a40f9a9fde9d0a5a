// Package storetasks is the HTTP adapter of the store tasks port
// (activities.StoreTasks): it puts an order's pick on the retailer's store
// task system over the wire contract of ADAPTERS.md ("Store tasks"), built
// on httpx, and takes it off when the order leaves the store.
//
// Omni's own queue keeps working as a read model either way: every call
// goes first to Local (the built-in *postgres.DB), then to the store's
// system. The store's system reports picks back through Omni's store API, as
// the console does, so a task closed as picked is not sent back to it.
package storetasks

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/order"
)

// System is the adapter's name in metrics, logs and errors.
const System = "store_tasks"

// Client is a store task system, with Omni's own queue beside it.
type Client struct {
	c     *httpx.Client
	local activities.StoreTasks
}

var _ activities.StoreTasks = (*Client)(nil)

// New is an adapter of the store task system at o.BaseURL (store_tasks.url,
// or a store's store_tasks_url) that keeps local, Omni's own queue (the
// built-in *postgres.DB; nil: none), up to date first. o.System is set to
// "store_tasks" when empty.
func New(o httpx.Options, local activities.StoreTasks) *Client {
	if o.System == "" {
		o.System = System
	}
	return &Client{c: httpx.New(o), local: local}
}

type wirePickTask struct {
	OrderID     string          `json:"order_id"`
	OrderNumber string          `json:"order_number"`
	LocationID  string          `json:"location_id"`
	Lines       []order.LineQty `json:"lines"`
	// DueBy is null in histories recorded before it was sent.
	DueBy *time.Time `json:"due_by"`
}

// OpenPickTask puts the order in Omni's queue, then POST {url}/pick-tasks
// under the key "pick-task/{order}/{store}".
func (c *Client) OpenPickTask(ctx context.Context, t activities.PickTask) error {
	if c.local != nil {
		if err := c.local.OpenPickTask(ctx, t); err != nil {
			return err
		}
	}
	body := wirePickTask{OrderID: t.OrderID, OrderNumber: t.OrderNumber, LocationID: t.StoreID, Lines: t.Lines}
	if body.Lines == nil {
		body.Lines = []order.LineQty{}
	}
	if !t.DueBy.IsZero() {
		due := t.DueBy.UTC()
		body.DueBy = &due
	}
	var out struct {
		TaskID string `json:"task_id"`
	}
	_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/pick-tasks", Operation: "open_pick_task",
		Key: "pick-task/" + t.OrderID + "/" + t.StoreID, OrderID: t.OrderID, Body: body}, &out)
	return domain(err)
}

// ClosePickTask closes the order's task in Omni's queue, then, unless the
// store itself reported it picked, cancels it in the store's system: POST
// {url}/pick-tasks/{order}/cancel {"reason": status} (cancelled, rejected,
// escalated, nothing_found: the order left the store), under the key
// "pick-task-cancel/{order}/{store}".
func (c *Client) ClosePickTask(ctx context.Context, orderID, storeID, status string) error {
	if c.local != nil {
		if err := c.local.ClosePickTask(ctx, orderID, storeID, status); err != nil {
			return err
		}
	}
	if status == "picked" {
		return nil
	}
	_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/pick-tasks/" + url.PathEscape(orderID) + "/cancel",
		Operation: "cancel_pick_task", Key: "pick-task-cancel/" + orderID + "/" + storeID, OrderID: orderID,
		Body: map[string]string{"reason": status}}, nil)
	return domain(err)
}

// domain turns a refusal into Omni's domain error; anything else is as it is.
func domain(err error) error {
	if r, ok := httpx.AsRefusal(err); ok {
		return r.Domain()
	}
	return err
}
