// Package inventory is the HTTP adapter of the inventory port
// (activities.Inventory): it holds, releases and commits a store's stock in
// the retailer's own inventory service over the wire contract of
// ADAPTERS.md ("Inventory"), built on httpx.
//
//   - Reserve: POST {url}/reservations; a 409 insufficient_stock names the
//     short SKUs and is an answer, not an error (the workflow tries the next
//     store). With safety stock (keep > 0) the adapter first reads
//     GET {url}/availability for each line and answers short, without
//     reserving, for the lines whose available less keep is below the
//     quantity.
//   - The reservation ids the service issues are kept in a Book (Omni's
//     PostgreSQL: postgres.DB), so that Release and Commit, which name only
//     the order and the store, reach POST {url}/reservations/{id}/release
//     and …/commit of every reservation concerned.
//   - Restock and WriteOff: POST {url}/locations/{id}/adjustments, one per
//     line, reason return or write_off.
//   - Available and Availability: GET {url}/availability.
//   - TransferIn is refused: transfers need the built-in inventory.
//
// Idempotency keys are the step's key, or the step's key with "/" and the
// reservation id (or the SKU) when a step makes several calls: the same on
// every retry.
package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/order"
)

// System is the adapter's name in metrics, logs and errors.
const System = "inventory"

// Reservation is one hold the retailer's inventory issued for an order at a
// location, with the lines it held when it was made.
type Reservation struct {
	ID    string          `json:"reservation_id"`
	Lines []order.LineQty `json:"lines"`
}

// Book remembers the reservations the retailer's inventory issued, so that
// a release or commit, which names only the order and the location, can
// name them (postgres.DB implements it).
type Book interface {
	// Record keeps a reservation; recording the same reservation again
	// changes nothing.
	Record(ctx context.Context, orderID, locationID, reservationID string, lines []order.LineQty) error
	// Reservations are the order's reservations at the location, oldest first.
	Reservations(ctx context.Context, orderID, locationID string) ([]Reservation, error)
}

// Client is the retailer's inventory service.
type Client struct {
	c    *httpx.Client
	book Book
	// parallel bounds the availability reads in flight at once.
	parallel int
}

var _ activities.Inventory = (*Client)(nil)

// New is an adapter of the inventory at o.BaseURL (inventory.url, or a
// store's inventory_url) that keeps its reservations in book. o.System is
// set to "inventory" when empty.
func New(o httpx.Options, book Book) *Client {
	if o.System == "" {
		o.System = System
	}
	return &Client{c: httpx.New(o), book: book, parallel: 8}
}

type wireReserve struct {
	OrderID    string          `json:"order_id"`
	LocationID string          `json:"location_id"`
	Lines      []order.LineQty `json:"lines"`
}

type wireLines struct {
	Lines []order.LineQty `json:"lines,omitempty"`
}

type wireAdjustment struct {
	OrderID  string `json:"order_id"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason"`
}

type wireAvailability struct {
	LocationID string `json:"location_id"`
	SKU        string `json:"sku"`
	OnHand     int64  `json:"on_hand"`
	Reserved   int64  `json:"reserved"`
	Available  int64  `json:"available"`
}

// Reserve holds every line at the store, all or nothing: POST
// {url}/reservations under key. A 409 insufficient_stock answers the short
// SKUs (nil error); any other refusal is an *order.Error. With keep > 0 the
// lines are first checked against the availability less keep, and the short
// ones answered without reserving.
func (c *Client) Reserve(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, keep int64) ([]string, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	if keep > 0 {
		var short []string
		for _, l := range lines {
			_, _, available, err := c.Availability(ctx, storeID, l.SKU)
			if de, ok := order.AsError(err); ok && de.Kind == order.KindNotFound {
				available, err = 0, nil
			}
			if err != nil {
				return nil, err
			}
			if available-keep < l.Quantity {
				short = append(short, l.SKU)
			}
		}
		if len(short) > 0 {
			return short, nil
		}
	}
	var out Reservation
	_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/reservations", Operation: "reserve",
		Key: key, OrderID: orderID, Body: wireReserve{OrderID: orderID, LocationID: storeID, Lines: lines}}, &out)
	if r, ok := httpx.AsRefusal(err); ok {
		if r.Status == http.StatusConflict && r.Code == "insufficient_stock" {
			return shortOf(r.Body, lines), nil
		}
		return nil, r.Domain()
	}
	if err != nil {
		return nil, err
	}
	if out.ID == "" {
		// A broken answer: retried, harmlessly (the key is the same).
		return nil, fmt.Errorf("inventory: POST /reservations answered without reservation_id")
	}
	held := out.Lines
	if len(held) == 0 {
		held = lines
	}
	if err := c.book.Record(ctx, orderID, storeID, out.ID, held); err != nil {
		return nil, err
	}
	return nil, nil
}

// shortOf reads the "short" SKUs of an insufficient_stock answer; an answer
// that names none means every line.
func shortOf(body []byte, lines []order.LineQty) []string {
	var p struct {
		Short []string `json:"short"`
	}
	_ = json.Unmarshal(body, &p)
	if len(p.Short) > 0 {
		return p.Short
	}
	all := make([]string, len(lines))
	for i, l := range lines {
		all[i] = l.SKU
	}
	return all
}

// TransferIn is refused: transfers between locations need the built-in
// inventory (the wiring refuses transfers.enabled with an external one).
func (c *Client) TransferIn(ctx context.Context, key, orderID, from, to string, lines []order.LineQty) error {
	return &order.Error{Kind: order.KindConflict, Code: "transfers_unsupported",
		Detail: "transfers between locations need Omni's built-in inventory, not the retailer's inventory service"}
}

// Release gives back what the order holds at the store: lines nil releases
// every reservation of the order there (POST …/release with no lines);
// otherwise the lines are split over the reservations that hold those SKUs.
func (c *Client) Release(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return c.settle(ctx, "release", key, orderID, storeID, lines)
}

// Commit turns held stock into a sale: the lines are split over the
// reservations that hold those SKUs (POST …/commit with their lines).
func (c *Client) Commit(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	if lines == nil {
		lines = []order.LineQty{}
	}
	return c.settle(ctx, "commit", key, orderID, storeID, lines)
}

func (c *Client) settle(ctx context.Context, op, key, orderID, storeID string, lines []order.LineQty) error {
	held, err := c.book.Reservations(ctx, orderID, storeID)
	if err != nil {
		return err
	}
	var calls []part
	if lines == nil {
		for _, r := range held {
			calls = append(calls, part{id: r.ID})
		}
	} else {
		calls = split(held, lines)
	}
	for _, p := range calls {
		k := key
		if len(calls) > 1 {
			k = key + "/" + p.id
		}
		_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost, Path: "/reservations/" + url.PathEscape(p.id) + "/" + op,
			Operation: op, Key: k, OrderID: orderID, Body: wireLines{Lines: p.lines}}, nil)
		if r, ok := httpx.AsRefusal(err); ok {
			return r.Domain()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// part is what one call moves of one reservation (lines nil: all it holds).
type part struct {
	id    string
	lines []order.LineQty
}

// split spreads lines over the reservations that hold their SKUs, newest
// first (an order moved back to a store holds its stock in the newest
// reservation there), each up to what it held when it was made; what is
// left of a line goes to the newest reservation of its SKU. SKUs no
// reservation holds are left out. The split depends only on the book and
// the lines, so a retry sends the same calls. The parts are in the book's
// order.
func split(held []Reservation, lines []order.LineQty) []part {
	moved := make([]map[string]int64, len(held))
	add := func(i int, sku string, n int64) {
		if moved[i] == nil {
			moved[i] = map[string]int64{}
		}
		moved[i][sku] += n
	}
	for _, l := range lines {
		left := l.Quantity
		newest := -1
		for i := len(held) - 1; i >= 0 && left > 0; i-- {
			q, ok := heldOf(held[i], l.SKU)
			if !ok {
				continue
			}
			if newest < 0 {
				newest = i
			}
			if n := min(left, q-moved[i][l.SKU]); n > 0 {
				add(i, l.SKU, n)
				left -= n
			}
		}
		if left > 0 && newest >= 0 {
			add(newest, l.SKU, left)
		}
	}
	var out []part
	for i, r := range held {
		if len(moved[i]) == 0 {
			continue
		}
		p := part{id: r.ID, lines: []order.LineQty{}}
		// Lines in the order they were asked for, one per SKU.
		for _, l := range lines {
			if n := moved[i][l.SKU]; n > 0 && !hasSKU(p.lines, l.SKU) {
				p.lines = append(p.lines, order.LineQty{SKU: l.SKU, Quantity: n})
			}
		}
		out = append(out, p)
	}
	return out
}

// heldOf is what r held of sku when it was made, and whether it held any.
func heldOf(r Reservation, sku string) (int64, bool) {
	var q int64
	found := false
	for _, h := range r.Lines {
		if h.SKU == sku {
			q += h.Quantity
			found = true
		}
	}
	return q, found
}

func hasSKU(lines []order.LineQty, sku string) bool {
	for _, l := range lines {
		if l.SKU == sku {
			return true
		}
	}
	return false
}

// Restock puts resellable goods brought back into the store's stock: POST
// {url}/locations/{store}/adjustments, reason return, one call per line
// under key/SKU.
func (c *Client) Restock(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return c.adjust(ctx, "restock", "return", key, orderID, storeID, lines)
}

// WriteOff records damaged goods brought back: adjustments with reason
// write_off (the contract's reason; Omni's own reason is not sent).
func (c *Client) WriteOff(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, reason string) error {
	return c.adjust(ctx, "write_off", "write_off", key, orderID, storeID, lines)
}

func (c *Client) adjust(ctx context.Context, op, reason, key, orderID, storeID string, lines []order.LineQty) error {
	for _, l := range lines {
		_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodPost,
			Path:      "/locations/" + url.PathEscape(storeID) + "/adjustments",
			Operation: op, Key: key + "/" + l.SKU, OrderID: orderID,
			Body: wireAdjustment{OrderID: orderID, SKU: l.SKU, Quantity: l.Quantity, Reason: reason}}, nil)
		if r, ok := httpx.AsRefusal(err); ok {
			return r.Domain()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Availability reads one SKU at one location: GET
// {url}/availability?location_id=…&sku=…. A SKU the location does not know
// (404) is an *order.Error of kind not_found.
func (c *Client) Availability(ctx context.Context, locationID, sku string) (onHand, reserved, available int64, err error) {
	q := url.Values{"location_id": {locationID}, "sku": {sku}}
	var out wireAvailability
	_, err = c.c.Do(ctx, httpx.Call{Method: http.MethodGet, Path: "/availability?" + q.Encode(),
		Operation: "availability"}, &out)
	if r, ok := httpx.AsRefusal(err); ok {
		return 0, 0, 0, r.Domain()
	}
	if err != nil {
		return 0, 0, 0, err
	}
	return out.OnHand, out.Reserved, out.Available, nil
}

// Available reads what each location has available of each SKU, one GET
// per pair (a few at once); a pair the service does not know (404) is
// absent.
func (c *Client) Available(ctx context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	type pair struct{ loc, sku string }
	var (
		mu       sync.Mutex
		out      = map[string]map[string]int64{}
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, max(c.parallel, 1))
	)
	for _, loc := range locations {
		for _, sku := range skus {
			p := pair{loc, sku}
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				_, _, n, err := c.Availability(ctx, p.loc, p.sku)
				mu.Lock()
				defer mu.Unlock()
				if de, ok := order.AsError(err); ok && de.Kind == order.KindNotFound {
					return
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				if out[p.loc] == nil {
					out[p.loc] = map[string]int64{}
				}
				out[p.loc][p.sku] = n
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
