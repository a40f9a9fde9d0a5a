package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/internal/order"
)

// Inventory holds, releases and commits a store's stock for orders, and
// takes goods brought back (ADAPTERS.md "Inventory": the built-in ledger in
// PostgreSQL, or the retailer's inventory over HTTP).
type Inventory interface {
	// Reserve holds lines at a store, all or nothing, leaving at least keep
	// units of each SKU available (the location's safety stock).
	Reserve(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, keep int64) (short []string, err error)
	// TransferIn moves an order's held stock from one location to another:
	// committed (gone) at from, and on hand and held for the order at to.
	TransferIn(ctx context.Context, key, orderID, from, to string, lines []order.LineQty) error
	// Release gives back what the order holds at the store: the lines, or
	// everything still held when lines is nil.
	Release(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error
	// Commit turns held stock into a sale (the units handed over or shipped).
	Commit(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error
	// Available is what each of the locations has available of each SKU.
	Available(ctx context.Context, locations, skus []string) (map[string]map[string]int64, error)
	// Restock puts resellable goods brought back for the order into the
	// store's stock (an adjustment, reason return).
	Restock(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error
	// WriteOff records damaged goods brought back (an adjustment, reason write_off).
	WriteOff(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, reason string) error
}

// StoreTasks is the store's pick queue (Omni's own, or the retailer's store
// task system over HTTP, ADAPTERS.md "Store tasks").
type StoreTasks interface {
	OpenPickTask(ctx context.Context, t PickTask) error
	// ClosePickTask takes the order off the store's queue with a final
	// status: picked, cancelled, rejected, escalated, nothing_found.
	ClosePickTask(ctx context.Context, orderID, storeID, status string) error
}

// PickTask is an order's lines for a store to pick, by DueBy.
type PickTask struct {
	OrderID     string          `json:"order_id"`
	OrderNumber string          `json:"order_number"`
	StoreID     string          `json:"store_id"`
	Lines       []order.LineQty `json:"lines"`
	DueBy       time.Time       `json:"due_by"`
}

// Payments moves money against an order's authorisation (its payment
// reference) and against tenders taken at a counter (ADAPTERS.md
// "Payments": the built-in ledger, the retailer's payment service over HTTP,
// or Stripe). Capture, Refund and Charge answer succeeded, or pending when
// the provider settles later through the payments callback.
type Payments interface {
	Capture(ctx context.Context, key, orderID string, amount int64, currency, reference string) (PaymentResult, error)
	Void(ctx context.Context, key, orderID string, amount int64, currency, reference string) error
	Refund(ctx context.Context, key, orderID string, amount int64, currency, reference string) (PaymentResult, error)
	// Charge takes amount from a new tender at a store counter (an exchange's
	// difference): reference is that tender's.
	Charge(ctx context.Context, key, orderID string, amount int64, currency, reference string) (PaymentResult, error)
}

// Payment statuses.
const (
	PaymentSucceeded = "succeeded"
	PaymentPending   = "pending"
)

// PaymentResult is a payment provider's answer to a capture, refund or charge.
type PaymentResult struct {
	Status       string `json:"status"`
	PSPReference string `json:"psp_reference,omitempty"`
}

// ReturnsDesk records goods taken back at a store (Omni's own books).
type ReturnsDesk interface {
	RecordReturn(ctx context.Context, orderID string, x order.Exchange) error
}

// Notifier sends a customer a message. It must be idempotent on n.Key.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Projector writes an order snapshot and its new timeline events to the read
// model. seq is the last timeline seq the workflow has written (0: unknown):
// the read model keeps no event after it, so events written by a projection
// whose workflow task was lost (the worker died before it completed) are
// replaced by the ones the workflow really wrote.
type Projector interface {
	Project(ctx context.Context, o order.Order, events []order.Event, seq int64) error
}

// PriceList is the price source Omni trusts for items sold at a counter.
type PriceList interface {
	// UnitPrices returns the list price of each SKU that has one in currency.
	UnitPrices(ctx context.Context, currency string, skus []string) (map[string]int64, error)
}

// Notification is one message to a customer.
type Notification struct {
	Key       string         `json:"key"`
	OrderID   string         `json:"order_id"`
	Template  string         `json:"template"`
	Channel   string         `json:"channel"`
	Recipient string         `json:"recipient"`
	Data      map[string]any `json:"data"`
}

// Activities holds the systems the order workflow calls. The worker registers
// one instance; workflows refer to its methods through a typed nil pointer.
type Activities struct {
	Inventory Inventory
	Stores    StoreTasks
	Payments  Payments
	Returns   ReturnsDesk
	Notifier  Notifier
	Projector Projector
	Prices    PriceList
	Carrier   Carrier
	Shipments ShipmentRegistry
	// Signal, when set, tells an order's workflow that one of its steps keeps
	// failing at a retailer's system (SignalAdapterRetrying).
	Signal func(ctx context.Context, orderID string, r AdapterRetrying) error
	// Locations are the stores and warehouses sourcing chooses from.
	Locations []Location
	Logger    *slog.Logger
}

// ReserveInput asks for an order's lines to be held at a store.
type ReserveInput struct {
	Key     string          `json:"key"`
	OrderID string          `json:"order_id"`
	StoreID string          `json:"store_id"`
	Lines   []order.LineQty `json:"lines"`
	// SafetyStock is what the location keeps back from online orders.
	SafetyStock int64 `json:"safety_stock,omitempty"`
}

// ReserveResult says whether the stock is held; Short names the SKUs that lacked it.
type ReserveResult struct {
	Reserved bool     `json:"reserved"`
	Short    []string `json:"short,omitempty"`
}

// Reserve holds stock for every line, all or nothing.
func (a *Activities) Reserve(ctx context.Context, in ReserveInput) (ReserveResult, error) {
	short, err := a.Inventory.Reserve(ctx, in.Key, in.OrderID, in.StoreID, in.Lines, in.SafetyStock)
	if err != nil {
		return ReserveResult{}, a.step(ctx, "inventory", "reserve", in.OrderID, err)
	}
	return ReserveResult{Reserved: len(short) == 0, Short: short}, nil
}

// StockInput names lines of an order's stock at a store; nil Lines means all
// that the order still holds.
type StockInput struct {
	Key     string          `json:"key"`
	OrderID string          `json:"order_id"`
	StoreID string          `json:"store_id"`
	Lines   []order.LineQty `json:"lines"`
}

// Release gives held stock back to the store's available stock.
func (a *Activities) Release(ctx context.Context, in StockInput) error {
	return a.step(ctx, "inventory", "release", in.OrderID, a.Inventory.Release(ctx, in.Key, in.OrderID, in.StoreID, in.Lines))
}

// Commit turns held stock into a sale.
func (a *Activities) Commit(ctx context.Context, in StockInput) error {
	return a.step(ctx, "inventory", "commit", in.OrderID, a.Inventory.Commit(ctx, in.Key, in.OrderID, in.StoreID, in.Lines))
}

// PickTaskInput opens or closes an order's pick task.
type PickTaskInput struct {
	OrderID string          `json:"order_id"`
	StoreID string          `json:"store_id"`
	Lines   []order.LineQty `json:"lines,omitempty"`
	Status  string          `json:"status,omitempty"`
	// Number and DueBy tell a store task system the order's number and when
	// the pick is due (zero in histories recorded before they were sent).
	Number string    `json:"number,omitempty"`
	DueBy  time.Time `json:"due_by,omitzero"`
}

// OpenPickTask puts the order in the store's pick queue.
func (a *Activities) OpenPickTask(ctx context.Context, in PickTaskInput) error {
	return a.step(ctx, "store_tasks", "open_pick_task", in.OrderID, a.Stores.OpenPickTask(ctx, PickTask{OrderID: in.OrderID, OrderNumber: in.Number, StoreID: in.StoreID,
		Lines: in.Lines, DueBy: in.DueBy}))
}

// ClosePickTask takes the order off the pick queue with a final status.
func (a *Activities) ClosePickTask(ctx context.Context, in PickTaskInput) error {
	return a.step(ctx, "store_tasks", "close_pick_task", in.OrderID, a.Stores.ClosePickTask(ctx, in.OrderID, in.StoreID, in.Status))
}

// PaymentInput moves Amount of an order's payment.
type PaymentInput struct {
	Key       string `json:"key"`
	OrderID   string `json:"order_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
}

// Capture takes money from the authorisation.
func (a *Activities) Capture(ctx context.Context, in PaymentInput) (PaymentResult, error) {
	res, err := a.Payments.Capture(ctx, in.Key, in.OrderID, in.Amount, in.Currency, in.Reference)
	return res, a.step(ctx, "payments", "capture", in.OrderID, err)
}

// Void releases money of the authorisation back to the customer.
func (a *Activities) Void(ctx context.Context, in PaymentInput) error {
	return a.step(ctx, "payments", "void", in.OrderID, a.Payments.Void(ctx, in.Key, in.OrderID, in.Amount, in.Currency, in.Reference))
}

// Refund pays Amount back to the tender named by Reference.
func (a *Activities) Refund(ctx context.Context, in PaymentInput) (PaymentResult, error) {
	res, err := a.Payments.Refund(ctx, in.Key, in.OrderID, in.Amount, in.Currency, in.Reference)
	return res, a.step(ctx, "payments", "refund", in.OrderID, err)
}

// Charge takes Amount from a new tender at a store counter.
func (a *Activities) Charge(ctx context.Context, in PaymentInput) (PaymentResult, error) {
	res, err := a.Payments.Charge(ctx, in.Key, in.OrderID, in.Amount, in.Currency, in.Reference)
	return res, a.step(ctx, "payments", "charge", in.OrderID, err)
}

// RecordReturnInput is a return or exchange of an order.
type RecordReturnInput struct {
	OrderID  string         `json:"order_id"`
	Exchange order.Exchange `json:"exchange"`
}

// RecordReturn records a return or exchange taken at a store.
func (a *Activities) RecordReturn(ctx context.Context, in RecordReturnInput) error {
	return wrap(a.Returns.RecordReturn(ctx, in.OrderID, in.Exchange))
}

// Restock puts goods taken back into the store's stock.
func (a *Activities) Restock(ctx context.Context, in StockInput) error {
	return a.step(ctx, "inventory", "restock", in.OrderID, a.Inventory.Restock(ctx, in.Key, in.OrderID, in.StoreID, in.Lines))
}

// WriteOffInput names damaged goods taken back at a store.
type WriteOffInput struct {
	StockInput
	Reason string `json:"reason"`
}

// WriteOff records damaged goods that will never be sold again.
func (a *Activities) WriteOff(ctx context.Context, in WriteOffInput) error {
	return a.step(ctx, "inventory", "write_off", in.OrderID, a.Inventory.WriteOff(ctx, in.Key, in.OrderID, in.StoreID, in.Lines, in.Reason))
}

// Notify sends a customer notification.
func (a *Activities) Notify(ctx context.Context, n Notification) error {
	return wrap(a.Notifier.Notify(ctx, n))
}

// ProjectInput is an order snapshot with the timeline events that led to it.
type ProjectInput struct {
	Order  order.Order   `json:"order"`
	Events []order.Event `json:"events"`
	// Seq is the last timeline seq the workflow has written; 0 in histories
	// recorded before it was sent.
	Seq int64 `json:"seq,omitempty"`
}

// Project writes the snapshot and events to the read model.
func (a *Activities) Project(ctx context.Context, in ProjectInput) error {
	return wrap(a.Projector.Project(ctx, in.Order, in.Events, in.Seq))
}

// PriceInput asks for the list prices of SKUs in a currency.
type PriceInput struct {
	Currency string   `json:"currency"`
	SKUs     []string `json:"skus"`
}

// PriceResult holds the list price of each SKU that has one.
type PriceResult struct {
	Prices map[string]int64 `json:"prices"`
}

// UnitPrices reads list prices from the price list.
func (a *Activities) UnitPrices(ctx context.Context, in PriceInput) (PriceResult, error) {
	prices, err := a.Prices.UnitPrices(ctx, in.Currency, in.SKUs)
	if err != nil {
		return PriceResult{}, wrap(err)
	}
	return PriceResult{Prices: prices}, nil
}

// wrap turns a domain error into a non-retryable application error whose type
// the API maps back to a status; anything else is returned as it is and retried.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var de *order.Error
	if errors.As(err, &de) && de.Kind != order.KindUnavailable {
		return temporal.NewNonRetryableApplicationError(de.Detail, de.Type(), nil)
	}
	return err
}

func asApp(err error, target **temporal.ApplicationError) bool { return errors.As(err, target) }
