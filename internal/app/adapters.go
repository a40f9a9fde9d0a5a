package app

import (
	"context"
	"log/slog"
	"maps"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/adapters/catalog"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/adapters/payments"
	"github.com/omni-retail/omni/internal/adapters/storetasks"
	"github.com/omni-retail/omni/internal/adapters/stripe"
	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/metrics"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// Systems are the retailer's systems the order activities call (ADAPTERS.md):
// each Omni's built-in implementation (*postgres.DB) when nothing is
// configured, else the adapter configuration names, per store where a store
// names its own.
type Systems struct {
	Inventory activities.Inventory
	Stores    activities.StoreTasks
	Payments  activities.Payments
	Prices    activities.PriceList
}

// SystemsOf selects the systems from the configuration. Every adapter call
// is counted by m (may be nil) and logged to log.
func SystemsOf(cfg *config.Config, db *postgres.DB, m *metrics.Metrics, log *slog.Logger) Systems {
	w := wiring{cfg: cfg, db: db, m: m, log: log}
	return Systems{Inventory: w.inventory(), Stores: w.storeTasks(), Payments: w.payments(), Prices: w.prices()}
}

// wiring builds adapters from the configuration.
type wiring struct {
	cfg *config.Config
	db  *postgres.DB
	m   *metrics.Metrics
	log *slog.Logger
}

// options are the httpx options of a system's adapter.
func (w wiring) options(system string, s config.System) httpx.Options {
	o := httpx.Options{System: system, BaseURL: s.URL, Token: s.Token, Timeout: s.Timeout,
		Log: w.log.With("component", "adapter", "system", system)}
	if w.m != nil {
		o.Observer = w.m
	}
	return o
}

// inventoryAt is the inventory adapter of s (one per distinct setting, so
// stores sharing a franchise's system share its client).
func (w wiring) inventoryAt(s config.System) *inventory.Client {
	return inventory.New(w.options(inventory.System, s), w.db)
}

// inventory is the built-in ledger, the retailer's inventory (inventory.url),
// or a router when stores name their own (stores[].inventory_url).
func (w wiring) inventory() activities.Inventory {
	var def activities.Inventory = w.db
	if w.cfg.Inventory.External() {
		def = w.inventoryAt(w.cfg.Inventory)
	}
	r := newRoutes(def)
	for _, s := range w.cfg.Stores {
		if s.InventoryURL != "" {
			sys := w.cfg.StoreInventory(s)
			r.add(s.ID, sys, func() activities.Inventory { return w.inventoryAt(sys) })
		}
	}
	if r.single() {
		return def
	}
	return &inventoryRouter{r}
}

// storeTasks is Omni's own queue, the retailer's store task system
// (store_tasks.url), or a router when stores name their own
// (stores[].store_tasks_url).
func (w wiring) storeTasks() activities.StoreTasks {
	var def activities.StoreTasks = w.db
	if w.cfg.StoreTasks.External() {
		def = w.storeTasksAt(w.cfg.StoreTasks)
	}
	r := newRoutes(def)
	for _, s := range w.cfg.Stores {
		if s.StoreTasksURL != "" {
			sys := w.cfg.StoreTaskSystem(s)
			r.add(s.ID, sys, func() activities.StoreTasks { return w.storeTasksAt(sys) })
		}
	}
	if r.single() {
		return def
	}
	return &storeTasksRouter{r}
}

// storeTasksAt is the store task system of s, with Omni's own queue kept
// beside it as the read model.
func (w wiring) storeTasksAt(s config.System) *storetasks.Client {
	return storetasks.New(w.options(storetasks.System, s), w.db)
}

// payments is the provider payments.provider names.
func (w wiring) payments() activities.Payments {
	p := w.cfg.Payments
	switch p.Provider {
	case config.PaymentsHTTP:
		return payments.New(w.options(payments.System, config.System{URL: p.URL, Token: p.Token, Timeout: p.Timeout}))
	case config.PaymentsStripe:
		var obs httpx.Observer
		if w.m != nil {
			obs = w.m
		}
		return stripe.New(p.Stripe.SecretKey, p.Stripe.APIBase, obs, w.log.With("component", "adapter", "system", stripe.System),
			stripe.WithTimeout(p.Timeout))
	default:
		return w.db
	}
}

// prices is the built-in price list, or the retailer's catalog (catalog.url).
func (w wiring) prices() activities.PriceList {
	if w.cfg.Catalog.External() {
		return catalog.New(w.options(catalog.System, w.cfg.Catalog))
	}
	return w.db
}

// stockAPIOf tells the API which locations' stock the retailer's inventory
// owns (PUT answers 409 stock_external) and reads it through the adapter's
// availability (GET).
func stockAPIOf(cfg *config.Config, db *postgres.DB, m *metrics.Metrics, log *slog.Logger) api.StockOptions {
	if !cfg.ExternalInventory() {
		return api.StockOptions{}
	}
	w := wiring{cfg: cfg, db: db, m: m, log: log}
	def := w.inventoryAt(cfg.Inventory)
	r := newRoutes(def)
	for _, s := range cfg.Stores {
		if s.InventoryURL != "" {
			sys := cfg.StoreInventory(s)
			r.add(s.ID, sys, func() *inventory.Client { return w.inventoryAt(sys) })
		}
	}
	return api.StockOptions{
		External: cfg.StockOwnedExternally,
		Read: func(ctx context.Context, storeID, sku string) (postgres.Stock, error) {
			st := postgres.Stock{StoreID: storeID, SKU: sku}
			onHand, reserved, available, err := r.of(storeID).Availability(ctx, storeID, sku)
			if de, ok := order.AsError(err); ok && de.Kind == order.KindNotFound {
				return st, nil // a SKU never stocked at the store reads as zero
			}
			if err != nil {
				return st, err
			}
			st.OnHand, st.Reserved, st.Available = onHand, reserved, available
			return st, nil
		},
	}
}

// routes sends each location to its implementation of a port: the
// location's own or the default (impls[0]).
type routes[T any] struct {
	impls []T
	at    map[string]int        // location id → index in impls; absent: 0
	byKey map[config.System]int // one implementation per distinct setting
}

func newRoutes[T any](def T) *routes[T] {
	return &routes[T]{impls: []T{def}, at: map[string]int{}, byKey: map[config.System]int{}}
}

// add routes location id to the implementation of setting key, built by
// build the first time the setting is seen.
func (r *routes[T]) add(id string, key config.System, build func() T) {
	i, ok := r.byKey[key]
	if !ok {
		i = len(r.impls)
		r.impls = append(r.impls, build())
		r.byKey[key] = i
	}
	r.at[id] = i
}

// single reports whether every location uses the default.
func (r *routes[T]) single() bool { return len(r.impls) == 1 }

// of is the implementation of location id.
func (r *routes[T]) of(id string) T { return r.impls[r.at[id]] }

// groups splits ids by implementation, in the order of ids.
func (r *routes[T]) groups(ids []string) map[int][]string {
	out := map[int][]string{}
	for _, id := range ids {
		i := r.at[id]
		out[i] = append(out[i], id)
	}
	return out
}

// inventoryRouter is the inventory of a chain whose stores are not all on
// one system: each call goes to the store's own inventory or the default.
type inventoryRouter struct{ r *routes[activities.Inventory] }

var _ activities.Inventory = (*inventoryRouter)(nil)

func (i *inventoryRouter) Reserve(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, keep int64) ([]string, error) {
	return i.r.of(storeID).Reserve(ctx, key, orderID, storeID, lines, keep)
}

// TransferIn moves stock within one inventory; transfers between two
// systems are refused (configuration refuses transfers with any external
// inventory in the first place).
func (i *inventoryRouter) TransferIn(ctx context.Context, key, orderID, from, to string, lines []order.LineQty) error {
	if i.r.at[from] != i.r.at[to] {
		return order.Errorf(order.KindConflict, "transfer_across_inventories",
			"%s and %s keep their stock in different inventories: no transfer between them", from, to)
	}
	return i.r.of(to).TransferIn(ctx, key, orderID, from, to, lines)
}

func (i *inventoryRouter) Release(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return i.r.of(storeID).Release(ctx, key, orderID, storeID, lines)
}

func (i *inventoryRouter) Commit(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return i.r.of(storeID).Commit(ctx, key, orderID, storeID, lines)
}

// Available asks each inventory for its own locations and merges the answers.
func (i *inventoryRouter) Available(ctx context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	for idx, locs := range i.r.groups(locations) {
		got, err := i.r.impls[idx].Available(ctx, locs, skus)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, got)
	}
	return out, nil
}

func (i *inventoryRouter) Restock(ctx context.Context, key, orderID, storeID string, lines []order.LineQty) error {
	return i.r.of(storeID).Restock(ctx, key, orderID, storeID, lines)
}

func (i *inventoryRouter) WriteOff(ctx context.Context, key, orderID, storeID string, lines []order.LineQty, reason string) error {
	return i.r.of(storeID).WriteOff(ctx, key, orderID, storeID, lines, reason)
}

// storeTasksRouter sends each store's pick tasks to its own task system or
// the default.
type storeTasksRouter struct {
	r *routes[activities.StoreTasks]
}

var _ activities.StoreTasks = (*storeTasksRouter)(nil)

func (s *storeTasksRouter) OpenPickTask(ctx context.Context, t activities.PickTask) error {
	return s.r.of(t.StoreID).OpenPickTask(ctx, t)
}

func (s *storeTasksRouter) ClosePickTask(ctx context.Context, orderID, storeID, status string) error {
	return s.r.of(storeID).ClosePickTask(ctx, orderID, storeID, status)
}
