package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// Store is a store that can fulfil orders.
type Store struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is "store" (the default when empty) or "warehouse": a warehouse
	// ships and sends transfers but takes no collections.
	Kind string `json:"kind,omitempty" db:"-"`
}

// UpsertStores makes sure every configured store exists, updating names.
func (db *DB) UpsertStores(ctx context.Context, stores []Store) error {
	b := &pgx.Batch{}
	for _, s := range stores {
		kind := s.Kind
		if kind == "" {
			kind = "store"
		}
		b.Queue(`insert into stores (id, name, kind) values ($1, $2, $3)
			on conflict (id) do update set name = excluded.name, kind = excluded.kind`, s.ID, s.Name, kind)
	}
	return translate(db.pool.SendBatch(ctx, b).Close())
}

// StoreExists reports whether Omni knows the store.
func (db *DB) StoreExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, "select exists (select 1 from stores where id = $1)", id).Scan(&ok)
	return ok, translate(err)
}

func storeNotFound(id string) error {
	return order.Errorf(order.KindNotFound, "store_not_found", "no store %q", id)
}

// Stock is a store's stock of one SKU.
type Stock struct {
	StoreID   string `json:"store_id"`
	SKU       string `json:"sku"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// SetStock sets the on-hand quantity of a SKU in a store (the inventory feed).
// It refuses to go below what is reserved for orders.
func (db *DB) SetStock(ctx context.Context, storeID, sku string, onHand int64) (Stock, error) {
	s := Stock{StoreID: storeID, SKU: sku}
	err := db.pool.QueryRow(ctx, `insert into stock (store_id, sku, on_hand) values ($1, $2, $3)
		on conflict (store_id, sku) do update set on_hand = excluded.on_hand, updated_at = now()
		returning on_hand, reserved`, storeID, sku, onHand).Scan(&s.OnHand, &s.Reserved)
	if err != nil {
		if e := translate(err); e != nil {
			if de, ok := order.AsError(e); ok && de.Code == "foreign_key" {
				return s, storeNotFound(storeID)
			}
			if de, ok := order.AsError(e); ok && de.Code == "check_violation" {
				return s, order.Errorf(order.KindConflict, "below_reserved",
					"on_hand %d is below the quantity reserved for orders", onHand)
			}
			return s, e
		}
	}
	s.Available = s.OnHand - s.Reserved
	return s, nil
}

// GetStock reads a store's stock of a SKU; a SKU never stocked there reads as zero.
func (db *DB) GetStock(ctx context.Context, storeID, sku string) (Stock, error) {
	s := Stock{StoreID: storeID, SKU: sku}
	err := db.pool.QueryRow(ctx, `select coalesce(st.on_hand, 0), coalesce(st.reserved, 0) from stores s
		left join stock st on st.store_id = s.id and st.sku = $2 where s.id = $1`, storeID, sku).
		Scan(&s.OnHand, &s.Reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, storeNotFound(storeID)
	}
	if err != nil {
		return s, translate(err)
	}
	s.Available = s.OnHand - s.Reserved
	return s, nil
}
