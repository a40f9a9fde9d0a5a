// Package contract is the test suite every implementation of the ports of
// the retailer's systems must pass (activities.Inventory, StoreTasks,
// Payments, PriceList): the built-in ledgers (*postgres.DB) and the HTTP
// adapters against the reference server (internal/reference), which may
// answer the first attempt of every step with a 503.
//
// Each Run function takes newImpl, called once per case, which answers the
// implementation and a Setup: how the suite seeds and reads the system
// behind it. Every call is retried while it fails with a retryable error
// (anything but an *order.Error), as Temporal's activity retry policy
// would; a business refusal (*order.Error) ends it.
package contract

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
)

// Balance is an order's money in the payment system, in minor units.
type Balance struct {
	Authorized, Captured, Voided, Refunded int64
}

// Setup seeds and reads the system behind an implementation. Locations the
// suite names are new to the system: SetStock creates them as needed.
type Setup interface {
	// SetStock sets a location's on-hand stock of a SKU.
	SetStock(t *testing.T, location, sku string, onHand int64)
	// Stock reads a location's on-hand and reserved stock of a SKU (zero
	// when never stocked).
	Stock(t *testing.T, location, sku string) (onHand, reserved int64)
	// WrittenOff is what was written off of a SKU at a location.
	WrittenOff(t *testing.T, location, sku string) int64
	// SetPrice sets a SKU's list price in a currency.
	SetPrice(t *testing.T, sku, currency string, unitPrice int64)
	// Authorize records the authorisation a checkout took for an order.
	Authorize(t *testing.T, orderID, reference string, amount int64, currency string)
	// Balance reads an order's money.
	Balance(t *testing.T, orderID string) Balance
	// PickTasks are the statuses of the order's pick tasks at the location,
	// oldest first.
	PickTasks(t *testing.T, orderID, location string) []string
}

// MaxAttempts bounds the suite's retries of one call.
const MaxAttempts = 10

// Retry calls f until it succeeds, fails with a business refusal (an
// *order.Error that is not unavailable), or MaxAttempts calls have failed.
func Retry[T any](t *testing.T, f func() (T, error)) (T, error) {
	t.Helper()
	var (
		v   T
		err error
	)
	for range MaxAttempts {
		v, err = f()
		if err == nil || !Retryable(err) {
			return v, err
		}
		t.Logf("retrying after a retryable error: %v", err)
	}
	return v, err
}

// Do is Retry for a call that answers only an error.
func Do(t *testing.T, f func() error) error {
	t.Helper()
	_, err := Retry(t, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// Retryable says whether the workflow's activity retry policy would retry
// err: anything but a domain error of another kind than unavailable.
func Retryable(err error) bool {
	de, ok := order.AsError(err)
	return !ok || de.Kind == order.KindUnavailable
}

// requireRefusal asserts err is a business refusal (non-retryable *order.Error).
func requireRefusal(t *testing.T, err error, what string) *order.Error {
	t.Helper()
	require.Error(t, err, what)
	de, ok := order.AsError(err)
	require.True(t, ok, "%s: want a business refusal (*order.Error), got %T %v", what, err, err)
	require.NotEqual(t, order.KindUnavailable, de.Kind, "%s: a refusal is not retryable", what)
	return de
}

// id is a fresh identifier, unique across runs sharing a system.
func id(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func lq(sku string, n int64) order.LineQty { return order.LineQty{SKU: sku, Quantity: n} }

// RunInventory runs the inventory cases.
func RunInventory(t *testing.T, newImpl func(t *testing.T) (activities.Inventory, Setup)) {
	t.Run("reserve is all or nothing and names the short lines", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a, b, c := id("loc"), id("A"), id("B"), id("C")
		s.SetStock(t, loc, a, 5)
		s.SetStock(t, loc, b, 1)
		ord := id("order")
		short, err := Retry(t, func() ([]string, error) {
			return inv.Reserve(ctx(t), ord+"/reserve/1", ord, loc, []order.LineQty{lq(a, 3), lq(b, 2), lq(c, 1)}, 0)
		})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{b, c}, short)
		for _, sku := range []string{a, b, c} {
			_, reserved := s.Stock(t, loc, sku)
			require.Zero(t, reserved, "nothing is held when a line is short (%s)", sku)
		}
		short, err = Retry(t, func() ([]string, error) {
			return inv.Reserve(ctx(t), ord+"/reserve/2", ord, loc, []order.LineQty{lq(a, 3), lq(b, 1)}, 0)
		})
		require.NoError(t, err)
		require.Empty(t, short)
		requireStock(t, s, loc, a, 5, 3)
		requireStock(t, s, loc, b, 1, 1)
		avail, err := Retry(t, func() (map[string]map[string]int64, error) {
			return inv.Available(ctx(t), []string{loc}, []string{a, b})
		})
		require.NoError(t, err)
		require.Equal(t, int64(2), avail[loc][a])
		require.Equal(t, int64(0), avail[loc][b])
	})

	t.Run("the same key twice reserves once", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a := id("loc"), id("A")
		s.SetStock(t, loc, a, 10)
		ord := id("order")
		for range 2 {
			short, err := Retry(t, func() ([]string, error) {
				return inv.Reserve(ctx(t), ord+"/reserve", ord, loc, []order.LineQty{lq(a, 4)}, 0)
			})
			require.NoError(t, err)
			require.Empty(t, short)
		}
		requireStock(t, s, loc, a, 10, 4)
	})

	t.Run("release of everything held and of some lines", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a, b := id("loc"), id("A"), id("B")
		s.SetStock(t, loc, a, 10)
		s.SetStock(t, loc, b, 10)
		ord := id("order")
		reserve(t, inv, ord+"/reserve", ord, loc, lq(a, 3), lq(b, 2))
		// Some lines, twice under one key: released once.
		for range 2 {
			require.NoError(t, Do(t, func() error {
				return inv.Release(ctx(t), ord+"/release/1", ord, loc, []order.LineQty{lq(a, 1)})
			}))
		}
		requireStock(t, s, loc, a, 10, 2)
		requireStock(t, s, loc, b, 10, 2)
		// Everything still held.
		for range 2 {
			require.NoError(t, Do(t, func() error { return inv.Release(ctx(t), ord+"/release/all", ord, loc, nil) }))
		}
		requireStock(t, s, loc, a, 10, 0)
		requireStock(t, s, loc, b, 10, 0)
	})

	t.Run("commit turns held stock into a sale, once", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a, b := id("loc"), id("A"), id("B")
		s.SetStock(t, loc, a, 10)
		s.SetStock(t, loc, b, 5)
		ord := id("order")
		reserve(t, inv, ord+"/reserve", ord, loc, lq(a, 3), lq(b, 1))
		for range 2 {
			require.NoError(t, Do(t, func() error {
				return inv.Commit(ctx(t), ord+"/commit", ord, loc, []order.LineQty{lq(a, 2), lq(b, 1)})
			}))
		}
		requireStock(t, s, loc, a, 8, 1)
		requireStock(t, s, loc, b, 4, 0)
		// The unsold unit goes back.
		require.NoError(t, Do(t, func() error { return inv.Release(ctx(t), ord+"/release", ord, loc, nil) }))
		requireStock(t, s, loc, a, 8, 0)
	})

	t.Run("restock adds resellable units, once", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a, b := id("loc"), id("A"), id("B")
		s.SetStock(t, loc, a, 2)
		ord := id("order")
		for range 2 {
			require.NoError(t, Do(t, func() error {
				return inv.Restock(ctx(t), ord+"/restock", ord, loc, []order.LineQty{lq(a, 2), lq(b, 1)})
			}))
		}
		requireStock(t, s, loc, a, 4, 0)
		requireStock(t, s, loc, b, 1, 0)
	})

	t.Run("write-off records damaged units and leaves stock alone, once", func(t *testing.T) {
		inv, s := newImpl(t)
		loc, a := id("loc"), id("A")
		s.SetStock(t, loc, a, 3)
		ord := id("order")
		for range 2 {
			require.NoError(t, Do(t, func() error {
				return inv.WriteOff(ctx(t), ord+"/write-off", ord, loc, []order.LineQty{lq(a, 2)}, "damaged")
			}))
		}
		requireStock(t, s, loc, a, 3, 0)
		require.Equal(t, int64(2), s.WrittenOff(t, loc, a))
	})
}

func reserve(t *testing.T, inv activities.Inventory, key, ord, loc string, lines ...order.LineQty) {
	t.Helper()
	short, err := Retry(t, func() ([]string, error) { return inv.Reserve(ctx(t), key, ord, loc, lines, 0) })
	require.NoError(t, err)
	require.Empty(t, short)
}

func requireStock(t *testing.T, s Setup, loc, sku string, onHand, reserved int64) {
	t.Helper()
	gotOn, gotRes := s.Stock(t, loc, sku)
	require.Equal(t, [2]int64{onHand, reserved}, [2]int64{gotOn, gotRes}, "%s at %s: on hand, reserved", sku, loc)
}

// RunStoreTasks runs the store task cases.
func RunStoreTasks(t *testing.T, newImpl func(t *testing.T) (activities.StoreTasks, Setup)) {
	t.Run("a pick task opens once and is cancelled", func(t *testing.T) {
		st, s := newImpl(t)
		loc, a := id("loc"), id("A")
		s.SetStock(t, loc, a, 1) // the location exists
		ord := id("order")
		task := activities.PickTask{OrderID: ord, OrderNumber: "100042", StoreID: loc, Lines: []order.LineQty{lq(a, 1)},
			DueBy: time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)}
		for range 2 {
			require.NoError(t, Do(t, func() error { return st.OpenPickTask(ctx(t), task) }))
		}
		require.Equal(t, []string{"open"}, s.PickTasks(t, ord, loc))
		for range 2 {
			require.NoError(t, Do(t, func() error { return st.ClosePickTask(ctx(t), ord, loc, "cancelled") }))
		}
		require.Equal(t, []string{"cancelled"}, s.PickTasks(t, ord, loc))
	})
}

// RunPayments runs the payment cases.
func RunPayments(t *testing.T, newImpl func(t *testing.T) (activities.Payments, Setup)) {
	capture := func(t *testing.T, p activities.Payments, key, ord string, amount int64, ref string) (activities.PaymentResult, error) {
		return Retry(t, func() (activities.PaymentResult, error) {
			return p.Capture(ctx(t), key, ord, amount, "EUR", ref)
		})
	}
	refund := func(t *testing.T, p activities.Payments, key, ord string, amount int64, ref string) (activities.PaymentResult, error) {
		return Retry(t, func() (activities.PaymentResult, error) {
			return p.Refund(ctx(t), key, ord, amount, "EUR", ref)
		})
	}

	t.Run("capture and void move money once, never above the authorisation", func(t *testing.T) {
		p, s := newImpl(t)
		ord, ref := id("order"), id("pay")
		s.Authorize(t, ord, ref, 1000, "EUR")
		var first activities.PaymentResult
		for i := range 2 {
			res, err := capture(t, p, ord+"/capture/1", ord, 600, ref)
			require.NoError(t, err)
			require.Equal(t, activities.PaymentSucceeded, res.Status)
			require.NotEmpty(t, res.PSPReference)
			if i == 0 {
				first = res
			} else {
				require.Equal(t, first.PSPReference, res.PSPReference, "the same key answers the same")
			}
		}
		require.Equal(t, Balance{Authorized: 1000, Captured: 600}, s.Balance(t, ord))
		_, err := capture(t, p, ord+"/capture/2", ord, 500, ref)
		requireRefusal(t, err, "a capture above what is still authorised")
		for range 2 {
			require.NoError(t, Do(t, func() error { return p.Void(ctx(t), ord+"/void", ord, 400, "EUR", ref) }))
		}
		require.Equal(t, Balance{Authorized: 1000, Captured: 600, Voided: 400}, s.Balance(t, ord))
	})

	t.Run("refunds move money once and never above what was captured", func(t *testing.T) {
		p, s := newImpl(t)
		ord, ref := id("order"), id("pay")
		s.Authorize(t, ord, ref, 1000, "EUR")
		_, err := capture(t, p, ord+"/capture", ord, 1000, ref)
		require.NoError(t, err)
		for range 2 {
			res, err := refund(t, p, ord+"/refund/1", ord, 300, ref)
			require.NoError(t, err)
			require.Equal(t, activities.PaymentSucceeded, res.Status)
		}
		require.Equal(t, int64(300), s.Balance(t, ord).Refunded)
		_, err = refund(t, p, ord+"/refund/2", ord, 800, ref)
		requireRefusal(t, err, "a refund above what was captured and not yet refunded")
		_, err = refund(t, p, ord+"/refund/3", ord, 700, ref)
		require.NoError(t, err)
		require.Equal(t, Balance{Authorized: 1000, Captured: 1000, Refunded: 1000}, s.Balance(t, ord))
	})

	t.Run("a refund before any capture is refused", func(t *testing.T) {
		p, s := newImpl(t)
		ord, ref := id("order"), id("pay")
		s.Authorize(t, ord, ref, 1000, "EUR")
		_, err := refund(t, p, ord+"/refund", ord, 1, ref)
		requireRefusal(t, err, "a refund of nothing captured")
		require.Zero(t, s.Balance(t, ord).Refunded)
	})

	t.Run("a charge at the counter takes money once", func(t *testing.T) {
		p, s := newImpl(t)
		ord, tender := id("order"), id("tender")
		for range 2 {
			res, err := Retry(t, func() (activities.PaymentResult, error) {
				return p.Charge(ctx(t), ord+"/charge", ord, 250, "EUR", tender)
			})
			require.NoError(t, err)
			require.Equal(t, activities.PaymentSucceeded, res.Status)
		}
		require.Equal(t, int64(250), s.Balance(t, ord).Captured)
	})
}

// RunPrices runs the price list cases.
func RunPrices(t *testing.T, newImpl func(t *testing.T) (activities.PriceList, Setup)) {
	t.Run("prices present and absent", func(t *testing.T) {
		pl, s := newImpl(t)
		a, b := id("A"), id("B")
		s.SetPrice(t, a, "EUR", 1999)
		s.SetPrice(t, a, "GBP", 1799)
		got, err := Retry(t, func() (map[string]int64, error) { return pl.UnitPrices(ctx(t), "EUR", []string{a, b}) })
		require.NoError(t, err)
		require.Equal(t, map[string]int64{a: 1999}, got, "a SKU without a price is absent")
		got, err = Retry(t, func() (map[string]int64, error) { return pl.UnitPrices(ctx(t), "USD", []string{a}) })
		require.NoError(t, err)
		require.Empty(t, got, "no price in another currency")
		got, err = Retry(t, func() (map[string]int64, error) { return pl.UnitPrices(ctx(t), "EUR", nil) })
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

// String makes a Balance readable in failures.
func (b Balance) String() string {
	return fmt.Sprintf("authorized %d captured %d voided %d refunded %d", b.Authorized, b.Captured, b.Voided, b.Refunded)
}
