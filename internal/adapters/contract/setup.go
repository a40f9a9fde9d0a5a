package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
)

// FreshDB is a fresh, migrated database of its own on the PostgreSQL of
// OMNI_DATABASE_URL (default 127.0.0.1:5432), dropped when the test ends.
func FreshDB(t *testing.T, prefix string) *postgres.DB {
	t.Helper()
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pu, err := url.Parse(base)
	require.NoError(t, err)
	pu.Path = fmt.Sprintf("/omni_%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano())
	dbURL := pu.String()
	c := context.Background()
	pool, err := postgres.Open(c, dbURL, 8)
	require.NoError(t, err, "this test needs PostgreSQL at %s", base)
	t.Cleanup(func() {
		pool.Close()
		_ = postgres.DropDatabase(context.Background(), dbURL)
	})
	require.NoError(t, postgres.Migrate(c, pool))
	return postgres.New(pool)
}

// Ledgers is the Setup of a system kept in Omni's built-in ledgers: the
// built-in implementation itself, or the reference server's database.
// Pick tasks are read from the built-in queue (pick_tasks).
func Ledgers(db *postgres.DB) Setup { return ledgers{db: db} }

type ledgers struct{ db *postgres.DB }

func (l ledgers) SetStock(t *testing.T, location, sku string, onHand int64) {
	t.Helper()
	_, err := l.db.Pool().Exec(ctx(t), `insert into stores (id, name) values ($1, $1) on conflict (id) do nothing`, location)
	require.NoError(t, err)
	_, err = l.db.SetStock(ctx(t), location, sku, onHand)
	require.NoError(t, err)
}

func (l ledgers) Stock(t *testing.T, location, sku string) (int64, int64) {
	t.Helper()
	var onHand, reserved int64
	err := l.db.Pool().QueryRow(ctx(t), `select on_hand, reserved from stock where store_id = $1 and sku = $2`, location, sku).
		Scan(&onHand, &reserved)
	if err == pgx.ErrNoRows {
		return 0, 0
	}
	require.NoError(t, err)
	return onHand, reserved
}

func (l ledgers) WrittenOff(t *testing.T, location, sku string) int64 {
	t.Helper()
	n, err := l.db.WrittenOff(ctx(t), location, sku)
	require.NoError(t, err)
	return n
}

func (l ledgers) SetPrice(t *testing.T, sku, currency string, unitPrice int64) {
	t.Helper()
	_, err := l.db.SetPrice(ctx(t), sku, currency, unitPrice)
	require.NoError(t, err)
}

// Authorize records the authorisation as Omni does when an order is placed.
func (l ledgers) Authorize(t *testing.T, orderID, reference string, amount int64, currency string) {
	t.Helper()
	_, err := l.db.Pool().Exec(ctx(t), `insert into payments (order_id, kind, amount, currency, reference, step_key)
		values ($1, 'authorization', $2, $3, $4, $5)`, orderID, amount, currency, reference, orderID+"/authorization")
	require.NoError(t, err)
}

func (l ledgers) Balance(t *testing.T, orderID string) Balance {
	t.Helper()
	b, err := l.db.PaymentBalance(ctx(t), orderID)
	require.NoError(t, err)
	return Balance{Authorized: b.Authorized, Captured: b.Captured, Voided: b.Voided, Refunded: b.Refunded}
}

func (l ledgers) PickTasks(t *testing.T, orderID, location string) []string {
	t.Helper()
	rows, _ := l.db.Pool().Query(ctx(t), `select status from pick_tasks where order_id = $1 and store_id = $2 order by created_at`,
		orderID, location)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// Reference is the Setup of the reference server at baseURL: it seeds
// through the server's admin endpoints and reads its ledgers in db (the
// server's database) and its books (GET /books).
func Reference(baseURL, token string, db *postgres.DB) Setup {
	return reference{ledgers: ledgers{db: db}, base: baseURL, token: token}
}

type reference struct {
	ledgers
	base, token string
}

func (r reference) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, r.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", method, path)
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
}

func (r reference) SetStock(t *testing.T, location, sku string, onHand int64) {
	t.Helper()
	r.call(t, http.MethodPut, "/admin/stock/"+url.PathEscape(location)+"/"+url.PathEscape(sku), map[string]any{"on_hand": onHand}, nil)
}

func (r reference) SetPrice(t *testing.T, sku, currency string, unitPrice int64) {
	t.Helper()
	r.call(t, http.MethodPut, "/admin/prices/"+url.PathEscape(sku), map[string]any{"currency": currency, "unit_price": unitPrice}, nil)
}

func (r reference) Authorize(t *testing.T, orderID, ref string, amount int64, currency string) {
	t.Helper()
	r.call(t, http.MethodPut, "/admin/authorizations/"+url.PathEscape(ref),
		map[string]any{"order_id": orderID, "amount": amount, "currency": currency}, nil)
}

// PickTasks reads the reference server's own task list (its books).
func (r reference) PickTasks(t *testing.T, orderID, location string) []string {
	t.Helper()
	var books struct {
		PickTasks []struct {
			LocationID string `json:"location_id"`
			Status     string `json:"status"`
		} `json:"pick_tasks"`
	}
	r.call(t, http.MethodGet, "/books?order_id="+url.QueryEscape(orderID), nil, &books)
	var out []string
	for _, pt := range books.PickTasks {
		if pt.LocationID == location {
			out = append(out, pt.Status)
		}
	}
	return out
}
