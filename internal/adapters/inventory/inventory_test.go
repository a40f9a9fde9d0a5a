package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/omni-retail/omni/internal/adapters/httpx/httpxtest"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// The carrier, payment service, store task system… as the tests play it.
type (
	seen = httpxtest.Seen
	fake = httpxtest.Server
)

var reply = httpxtest.Reply

// memBook is an in-memory Book.
type memBook struct {
	mu   sync.Mutex
	rows []struct {
		order, loc string
		r          inventory.Reservation
	}
}

func (b *memBook) Record(_ context.Context, orderID, locationID, id string, lines []order.LineQty) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, row := range b.rows {
		if row.loc == locationID && row.r.ID == id {
			return nil
		}
	}
	b.rows = append(b.rows, struct {
		order, loc string
		r          inventory.Reservation
	}{orderID, locationID, inventory.Reservation{ID: id, Lines: lines}})
	return nil
}

func (b *memBook) Reservations(_ context.Context, orderID, locationID string) ([]inventory.Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []inventory.Reservation
	for _, row := range b.rows {
		if row.order == orderID && row.loc == locationID {
			out = append(out, row.r)
		}
	}
	return out, nil
}

func serve(t *testing.T, book inventory.Book, answer func(w http.ResponseWriter, r *http.Request)) (*fake, *inventory.Client) {
	f := &fake{Answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, inventory.New(httpx.Options{BaseURL: srv.URL + "/", Token: "inv-token", Timeout: time.Second}, book)
}

func lines(kv ...any) []order.LineQty {
	var out []order.LineQty
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, order.LineQty{SKU: kv[i].(string), Quantity: int64(kv[i+1].(int))})
	}
	return out
}

func wireLines(kv ...any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"sku": kv[i], "quantity": float64(kv[i+1].(int))})
	}
	return out
}

func requirePost(t *testing.T, got seen, path, key string, body map[string]any) {
	t.Helper()
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, path, got.Path)
	require.Equal(t, "Bearer inv-token", got.Header.Get("Authorization"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, key, got.Header.Get("Idempotency-Key"))
	require.Equal(t, body, got.Body)
}

// TestReserve: POST /reservations with the contract's body; a 201 records
// the reservation id in the book; a retry sends the same key and records
// nothing more.
func TestReserve(t *testing.T) {
	book := &memBook{}
	f, c := serve(t, book, reply(http.StatusCreated, "application/json",
		`{"reservation_id":"R-1","lines":[{"sku":"A","quantity":2},{"sku":"B","quantity":1}]}`))
	ctx := context.Background()
	for range 2 {
		short, err := c.Reserve(ctx, "ord-1/reserve", "ord-1", "store-1", lines("A", 2, "B", 1), 0)
		require.NoError(t, err)
		require.Empty(t, short)
	}
	reqs := f.All()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		requirePost(t, r, "/reservations", "ord-1/reserve", map[string]any{
			"order_id": "ord-1", "location_id": "store-1", "lines": wireLines("A", 2, "B", 1)})
	}
	got, err := book.Reservations(ctx, "ord-1", "store-1")
	require.NoError(t, err)
	require.Equal(t, []inventory.Reservation{{ID: "R-1", Lines: lines("A", 2, "B", 1)}}, got)

	// A 201 without a reservation id is not believed, and retried.
	f.Reset(reply(http.StatusCreated, "application/json", `{}`))
	_, err = c.Reserve(ctx, "k", "ord-2", "store-1", lines("A", 1), 0)
	require.Error(t, err)
	_, domain := order.AsError(err)
	require.False(t, domain)
}

// TestReserveShort: a 409 insufficient_stock is an answer (the short SKUs),
// not an error, and holds nothing; other refusals are domain errors.
func TestReserveShort(t *testing.T) {
	book := &memBook{}
	f, c := serve(t, book, reply(http.StatusConflict, "application/problem+json",
		`{"type":"https://inventory.example/problems/insufficient_stock","title":"Conflict","status":409,"short":["B"]}`))
	ctx := context.Background()
	short, err := c.Reserve(ctx, "ord-1/reserve", "ord-1", "store-1", lines("A", 2, "B", 1), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"B"}, short)
	got, err := book.Reservations(ctx, "ord-1", "store-1")
	require.NoError(t, err)
	require.Empty(t, got)

	// insufficient_stock naming no SKU: every line is short.
	f.Reset(reply(http.StatusConflict, "application/problem+json", `{"type":"urn:inv:insufficient_stock"}`))
	short, err = c.Reserve(ctx, "k", "ord-1", "store-1", lines("A", 2, "B", 1), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"A", "B"}, short)

	for _, tc := range []struct {
		status int
		body   string
		kind   order.Kind
		code   string
	}{
		{409, `{"type":"https://inventory.example/problems/location_closed"}`, order.KindConflict, "location_closed"},
		{422, `{"type":"https://inventory.example/problems/unknown_sku","detail":"no such SKU"}`, order.KindInvalid, "unknown_sku"},
	} {
		f.Reset(reply(tc.status, "application/problem+json", tc.body))
		_, err := c.Reserve(ctx, "k", "ord-1", "store-1", lines("A", 1), 0)
		de, ok := order.AsError(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, tc.kind, de.Kind)
		require.Equal(t, tc.code, de.Code)
	}
}

// TestReserveSafetyStock: with keep > 0 the lines are checked against
// availability first; a short line answers short without reserving.
func TestReserveSafetyStock(t *testing.T) {
	avail := map[string]int64{"A": 5, "B": 3}
	book := &memBook{}
	f, c := serve(t, book, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/availability" {
			sku := r.URL.Query().Get("sku")
			n, ok := avail[sku]
			if !ok {
				reply(404, "application/problem+json", `{"type":"about:blank","title":"Not Found"}`)(w, r)
				return
			}
			reply(200, "application/json", fmt.Sprintf(`{"location_id":%q,"sku":%q,"on_hand":%d,"reserved":0,"available":%d}`,
				r.URL.Query().Get("location_id"), sku, n, n))(w, r)
			return
		}
		reply(201, "application/json", `{"reservation_id":"R-9","lines":[]}`)(w, r)
	})
	ctx := context.Background()

	// B: 3 available, keep 2 → 1 for online orders, 2 asked: short.
	short, err := c.Reserve(ctx, "k1", "ord-1", "store 1", lines("A", 2, "B", 2), 2)
	require.NoError(t, err)
	require.Equal(t, []string{"B"}, short)
	reqs := f.All()
	require.Len(t, reqs, 2, "two reads, no reservation")
	for i, sku := range []string{"A", "B"} {
		require.Equal(t, http.MethodGet, reqs[i].Method)
		require.Equal(t, "/availability", reqs[i].Path)
		q, err := url.ParseQuery(reqs[i].RawQuery)
		require.NoError(t, err)
		require.Equal(t, url.Values{"location_id": {"store 1"}, "sku": {sku}}, q)
		require.Equal(t, "Bearer inv-token", reqs[i].Header.Get("Authorization"))
	}

	// A SKU the location does not know is short.
	f.Reset(f.Answer)
	short, err = c.Reserve(ctx, "k2", "ord-1", "store 1", lines("Z", 1), 1)
	require.NoError(t, err)
	require.Equal(t, []string{"Z"}, short)

	// Enough beyond the safety stock: reserved.
	f.Reset(f.Answer)
	short, err = c.Reserve(ctx, "k3", "ord-1", "store 1", lines("A", 3, "B", 1), 2)
	require.NoError(t, err)
	require.Empty(t, short)
	reqs = f.All()
	require.Len(t, reqs, 3)
	requirePost(t, reqs[2], "/reservations", "k3", map[string]any{
		"order_id": "ord-1", "location_id": "store 1", "lines": wireLines("A", 3, "B", 1)})
	got, _ := book.Reservations(ctx, "ord-1", "store 1")
	require.Equal(t, []inventory.Reservation{{ID: "R-9", Lines: lines("A", 3, "B", 1)}}, got,
		"an answer without lines records the lines asked for")
}

// TestReleaseAndCommit: release of everything goes to each reservation of
// the order at the store without lines; lines are split over the
// reservations that hold the SKUs; one reservation gets the step's key, several
// the key and the reservation id.
func TestReleaseAndCommit(t *testing.T) {
	ctx := context.Background()
	book := &memBook{}
	f, c := serve(t, book, reply(200, "application/json", `{}`))
	require.NoError(t, book.Record(ctx, "ord-1", "store-1", "R-1", lines("A", 2, "B", 1)))

	// One reservation: the step's key.
	require.NoError(t, c.Release(ctx, "ord-1/release", "ord-1", "store-1", nil))
	reqs := f.All()
	require.Len(t, reqs, 1)
	requirePost(t, reqs[0], "/reservations/R-1/release", "ord-1/release", map[string]any{})

	f.Reset(f.Answer)
	require.NoError(t, c.Commit(ctx, "ord-1/commit", "ord-1", "store-1", lines("A", 1)))
	reqs = f.All()
	require.Len(t, reqs, 1)
	requirePost(t, reqs[0], "/reservations/R-1/commit", "ord-1/commit", map[string]any{"lines": wireLines("A", 1)})

	// Two reservations at the store (and one elsewhere).
	require.NoError(t, book.Record(ctx, "ord-1", "store-1", "R 2", lines("A", 1, "C", 4)))
	require.NoError(t, book.Record(ctx, "ord-1", "store-2", "R-3", lines("A", 1)))

	f.Reset(f.Answer)
	require.NoError(t, c.Release(ctx, "ord-1/cancel", "ord-1", "store-1", nil))
	reqs = f.All()
	require.Len(t, reqs, 2)
	requirePost(t, reqs[0], "/reservations/R-1/release", "ord-1/cancel/R-1", map[string]any{})
	requirePost(t, reqs[1], "/reservations/R%202/release", "ord-1/cancel/R 2", map[string]any{})

	// A: 3 over R 2 (newest, held 1) and R-1 (held 2); C only in R 2; B only in R-1.
	f.Reset(f.Answer)
	require.NoError(t, c.Commit(ctx, "ord-1/collect", "ord-1", "store-1", lines("A", 3, "B", 1, "C", 2)))
	reqs = f.All()
	require.Len(t, reqs, 2)
	requirePost(t, reqs[0], "/reservations/R-1/commit", "ord-1/collect/R-1", map[string]any{"lines": wireLines("A", 2, "B", 1)})
	requirePost(t, reqs[1], "/reservations/R%202/commit", "ord-1/collect/R 2", map[string]any{"lines": wireLines("A", 1, "C", 2)})

	// Lines held by one reservation only: one call, the step's key.
	f.Reset(f.Answer)
	require.NoError(t, c.Release(ctx, "ord-1/pick/release", "ord-1", "store-1", lines("C", 1)))
	reqs = f.All()
	require.Len(t, reqs, 1)
	requirePost(t, reqs[0], "/reservations/R%202/release", "ord-1/pick/release", map[string]any{"lines": wireLines("C", 1)})

	// Nothing held at the store: nothing to call.
	f.Reset(f.Answer)
	require.NoError(t, c.Release(ctx, "k", "ord-1", "store-9", nil))
	require.NoError(t, c.Commit(ctx, "k", "ord-1", "store-9", lines("A", 1)))
	require.Empty(t, f.All())

	// A refusal is a domain error; a 503 is retried.
	f.Reset(reply(409, "application/problem+json", `{"type":"https://inv/problems/reservation_expired"}`))
	err := c.Commit(ctx, "k", "ord-1", "store-2", lines("A", 1))
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "reservation_expired", de.Code)
	f.Reset(reply(503, "", ""))
	err = c.Release(ctx, "k", "ord-1", "store-2", nil)
	require.Error(t, err)
	_, ok = order.AsError(err)
	require.False(t, ok)
}

// TestAdjustments: restock and write-off are one adjustment per line, under
// the step's key and the SKU.
func TestAdjustments(t *testing.T) {
	ctx := context.Background()
	f, c := serve(t, &memBook{}, reply(200, "application/json", `{}`))
	require.NoError(t, c.Restock(ctx, "ord-1/x1/restock", "ord-1", "store/1", lines("A", 1, "B", 2)))
	require.NoError(t, c.WriteOff(ctx, "ord-1/x1/write-off", "ord-1", "store/1", lines("C", 1), "damaged"))
	reqs := f.All()
	require.Len(t, reqs, 3)
	requirePost(t, reqs[0], "/locations/store%2F1/adjustments", "ord-1/x1/restock/A",
		map[string]any{"order_id": "ord-1", "sku": "A", "quantity": float64(1), "reason": "return"})
	requirePost(t, reqs[1], "/locations/store%2F1/adjustments", "ord-1/x1/restock/B",
		map[string]any{"order_id": "ord-1", "sku": "B", "quantity": float64(2), "reason": "return"})
	requirePost(t, reqs[2], "/locations/store%2F1/adjustments", "ord-1/x1/write-off/C",
		map[string]any{"order_id": "ord-1", "sku": "C", "quantity": float64(1), "reason": "write_off"})
}

// TestAvailable: one read per location and SKU; a 404 is absent; a system
// that is down is a retryable error.
func TestAvailable(t *testing.T) {
	ctx := context.Background()
	f, c := serve(t, &memBook{}, func(w http.ResponseWriter, r *http.Request) {
		loc, sku := r.URL.Query().Get("location_id"), r.URL.Query().Get("sku")
		if loc == "s2" && sku == "B" {
			reply(404, "application/problem+json", `{"title":"Not Found"}`)(w, r)
			return
		}
		n := len(loc) + len(sku)
		reply(200, "application/json", fmt.Sprintf(`{"location_id":%q,"sku":%q,"on_hand":%d,"reserved":1,"available":%d}`, loc, sku, n+1, n))(w, r)
	})
	got, err := c.Available(ctx, []string{"s1", "s2"}, []string{"A", "B"})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]int64{"s1": {"A": 3, "B": 3}, "s2": {"A": 3}}, got)
	require.Len(t, f.All(), 4)

	onHand, reserved, available, err := c.Availability(ctx, "s1", "A")
	require.NoError(t, err)
	require.Equal(t, []int64{4, 1, 3}, []int64{onHand, reserved, available})
	_, _, _, err = c.Availability(ctx, "s2", "B")
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, order.KindNotFound, de.Kind)

	f.Reset(reply(503, "", ""))
	_, err = c.Available(ctx, []string{"s1"}, []string{"A"})
	require.Error(t, err)
	_, ok = order.AsError(err)
	require.False(t, ok)
}

// TestTransferInRefused: transfers need the built-in inventory.
func TestTransferInRefused(t *testing.T) {
	f, c := serve(t, &memBook{}, reply(200, "", ""))
	err := c.TransferIn(context.Background(), "k", "ord-1", "wh", "s1", lines("A", 1))
	de, ok := order.AsError(err)
	require.True(t, ok)
	require.Equal(t, "transfers_unsupported", de.Code)
	require.NotEqual(t, order.KindUnavailable, de.Kind, "never retried")
	require.Empty(t, f.All())
}

// TestUnavailableIsRetried: 503, 500, 408, 429, a timeout and a refused
// connection are plain (retryable) errors.
func TestUnavailableIsRetried(t *testing.T) {
	ctx := context.Background()
	for _, status := range []int{503, 500, 502, 408, 429} {
		_, c := serve(t, &memBook{}, reply(status, "text/plain", "busy"))
		_, err := c.Reserve(ctx, "k", "o", "s", lines("A", 1), 0)
		require.Error(t, err)
		_, domain := order.AsError(err)
		require.False(t, domain, "%d: %v", status, err)
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
	c := inventory.New(httpx.Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond}, &memBook{})
	_, err := c.Reserve(ctx, "k", "o", "s", lines("A", 1), 0)
	require.Error(t, err)
	_, domain := order.AsError(err)
	require.False(t, domain)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c = inventory.New(httpx.Options{BaseURL: "http://" + addr, Timeout: time.Second}, &memBook{})
	_, err = c.Reserve(ctx, "k", "o", "s", lines("A", 1), 0)
	require.Error(t, err)
	_, domain = order.AsError(err)
	require.False(t, domain)
}

// TestLongKeys: keys over 64 characters are sent shortened, the same on a
// retry and distinct per reservation.
func TestLongKeys(t *testing.T) {
	ctx := context.Background()
	book := &memBook{}
	f, c := serve(t, book, reply(200, "application/json", `{}`))
	oid := "order-" + strings.Repeat("x", 60)
	require.NoError(t, book.Record(ctx, oid, "s", "reservation-000000000001", lines("A", 1)))
	require.NoError(t, book.Record(ctx, oid, "s", "reservation-000000000002", lines("A", 1)))
	key := oid + "/cancel/release-s"
	for range 2 {
		require.NoError(t, c.Release(ctx, key, oid, "s", nil))
	}
	reqs := f.All()
	require.Len(t, reqs, 4)
	k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key")
	require.LessOrEqual(t, len(k1), 64)
	require.LessOrEqual(t, len(k2), 64)
	require.NotEqual(t, k1, k2)
	require.Equal(t, k1, reqs[2].Header.Get("Idempotency-Key"))
	require.Equal(t, k2, reqs[3].Header.Get("Idempotency-Key"))
	require.Equal(t, httpx.IdempotencyKey(key+"/reservation-000000000001"), k1)
}

// TestPostgresBook: the adapter over Omni's PostgreSQL book: a reservation
// made, then committed and released by the order and store only.
func TestPostgresBook(t *testing.T) {
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pu, err := url.Parse(base)
	require.NoError(t, err)
	pu.Path = fmt.Sprintf("/omni_invadapter_%d_%d", os.Getpid(), time.Now().UnixNano())
	ctx := context.Background()
	pool, err := postgres.Open(ctx, pu.String(), 4)
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Close()
		_ = postgres.DropDatabase(context.Background(), pu.String())
	})
	require.NoError(t, postgres.Migrate(ctx, pool))
	db := postgres.New(pool)

	f, c := serve(t, db, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reservations" {
			reply(201, "application/json", `{"reservation_id":"R-77","lines":[{"sku":"A","quantity":2}]}`)(w, r)
			return
		}
		reply(200, "application/json", `{}`)(w, r)
	})
	short, err := c.Reserve(ctx, "ord-9/reserve", "ord-9", "store-1", lines("A", 2), 0)
	require.NoError(t, err)
	require.Empty(t, short)
	// A retry after a lost answer: the same reservation, recorded once.
	_, err = c.Reserve(ctx, "ord-9/reserve", "ord-9", "store-1", lines("A", 2), 0)
	require.NoError(t, err)
	require.NoError(t, c.Commit(ctx, "ord-9/collect/commit", "ord-9", "store-1", lines("A", 1)))
	require.NoError(t, c.Release(ctx, "ord-9/collect/refused-release", "ord-9", "store-1", nil))
	reqs := f.All()
	require.Len(t, reqs, 4)
	requirePost(t, reqs[2], "/reservations/R-77/commit", "ord-9/collect/commit", map[string]any{"lines": wireLines("A", 1)})
	requirePost(t, reqs[3], "/reservations/R-77/release", "ord-9/collect/refused-release", map[string]any{})
}
