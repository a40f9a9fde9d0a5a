package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Price is the list price of a SKU in one currency: what Omni trusts an item
// to cost when it is sold at a counter (the new items of an exchange).
type Price struct {
	SKU       string    `json:"sku" db:"sku"`
	Currency  string    `json:"currency" db:"currency"`
	UnitPrice int64     `json:"unit_price" db:"unit_price"` // minor units
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// SetPrice sets the list price of a SKU in a currency (the price feed),
// replacing the one it had.
func (db *DB) SetPrice(ctx context.Context, sku, currency string, unitPrice int64) (Price, error) {
	rows, _ := db.pool.Query(ctx, `insert into prices (sku, currency, unit_price) values ($1, $2, $3)
		on conflict (sku, currency) do update set unit_price = excluded.unit_price, updated_at = now()
		returning sku, currency, unit_price, updated_at`, sku, currency, unitPrice)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Price])
	return p, translate(err)
}

// Prices lists the list prices of a SKU, one per currency, by currency; a SKU
// with no price has none.
func (db *DB) Prices(ctx context.Context, sku string) ([]Price, error) {
	rows, _ := db.pool.Query(ctx, `select sku, currency, unit_price, updated_at from prices
		where sku = $1 order by currency`, sku)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Price])
	return out, translate(err)
}

// UnitPrices returns the list price in currency of each of skus that has one;
// SKUs without a price are absent from the map. It is the activities'
// PriceList.
func (db *DB) UnitPrices(ctx context.Context, currency string, skus []string) (map[string]int64, error) {
	out := make(map[string]int64, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	rows, _ := db.pool.Query(ctx, `select sku, unit_price from prices where currency = $1 and sku = any($2)`,
		currency, skus)
	var (
		sku   string
		price int64
	)
	_, err := pgx.ForEachRow(rows, []any{&sku, &price}, func() error {
		out[sku] = price
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}
