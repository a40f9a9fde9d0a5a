package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/adapters/catalog"
	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/adapters/payments"
	"github.com/omni-retail/omni/internal/adapters/storetasks"
	"github.com/omni-retail/omni/internal/adapters/stripe"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

func loadConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("")
	require.NoError(t, err)
	return cfg
}

var discard = slog.New(slog.DiscardHandler)

// TestSystemsOfDefaults: with nothing configured every port is Omni's
// built-in PostgreSQL implementation (omni dev unchanged), and the API owns
// every store's stock.
func TestSystemsOfDefaults(t *testing.T) {
	cfg := loadConfig(t, nil)
	db := &postgres.DB{}
	sys := SystemsOf(cfg, db, nil, discard)
	require.Same(t, db, sys.Inventory)
	require.Same(t, db, sys.Stores)
	require.Same(t, db, sys.Payments)
	require.Same(t, db, sys.Prices)
	stock := stockAPIOf(cfg, db, nil, discard)
	require.Nil(t, stock.External)
	require.Nil(t, stock.Read)
}

// TestSystemsOfAdapters: each configured system gets its adapter.
func TestSystemsOfAdapters(t *testing.T) {
	db := &postgres.DB{}
	cfg := loadConfig(t, map[string]string{
		"OMNI_INVENTORY_URL": "https://erp.example", "OMNI_STORE_TASKS_URL": "https://tasks.example",
		"OMNI_PAYMENTS_PROVIDER": "http", "OMNI_PAYMENTS_URL": "https://psp.example", "OMNI_CATALOG_URL": "https://catalog.example",
	})
	sys := SystemsOf(cfg, db, nil, discard)
	require.IsType(t, &inventory.Client{}, sys.Inventory)
	require.IsType(t, &storetasks.Client{}, sys.Stores)
	require.IsType(t, &payments.Client{}, sys.Payments)
	require.IsType(t, &catalog.Client{}, sys.Prices)
	stock := stockAPIOf(cfg, db, nil, discard)
	require.True(t, stock.External("store-001"))
	require.True(t, stock.External("wh-north"), "a warehouse's stock is in the global inventory")

	cfg = loadConfig(t, map[string]string{"OMNI_PAYMENTS_PROVIDER": "stripe", "OMNI_PAYMENTS_STRIPE_SECRET_KEY": "sk_test_1",
		"OMNI_INVENTORY_URL": "", "OMNI_STORE_TASKS_URL": "", "OMNI_CATALOG_URL": ""})
	sys = SystemsOf(cfg, db, nil, discard)
	require.IsType(t, &stripe.Payments{}, sys.Payments)
	require.Same(t, db, sys.Inventory)
	require.Same(t, db, sys.Stores)
	require.Same(t, db, sys.Prices)
}

// TestSystemsOfPerStore: a store naming its own inventory and task system
// is routed to them; stores sharing a setting share one adapter; the others
// use the global setting (here the built-in ones).
func TestSystemsOfPerStore(t *testing.T) {
	db := &postgres.DB{}
	cfg := loadConfig(t, nil)
	cfg.Stores[0].InventoryURL = "https://franchise.example/inv"
	cfg.Stores[1].InventoryURL = "https://franchise.example/inv"
	cfg.Stores[1].StoreTasksURL = "https://franchise.example/tasks"
	require.NoError(t, cfg.Validate())

	sys := SystemsOf(cfg, db, nil, discard)
	inv, ok := sys.Inventory.(*inventoryRouter)
	require.True(t, ok, "a router: %T", sys.Inventory)
	franchise := inv.r.of("store-001")
	require.IsType(t, &inventory.Client{}, franchise)
	require.Same(t, franchise, inv.r.of("store-002"), "one adapter per distinct setting")
	require.Same(t, db, inv.r.of("store-003"))
	require.Same(t, db, inv.r.of("wh-north"))

	tasks, ok := sys.Stores.(*storeTasksRouter)
	require.True(t, ok, "a router: %T", sys.Stores)
	require.IsType(t, &storetasks.Client{}, tasks.r.of("store-002"))
	require.Same(t, db, tasks.r.of("store-001"))

	stock := stockAPIOf(cfg, db, nil, discard)
	require.True(t, stock.External("store-001"))
	require.False(t, stock.External("store-003"))
	require.False(t, stock.External("wh-north"))
}

// fakeInventory records the locations each call names.
type fakeInventory struct {
	name  string
	calls []string
	avail map[string]int64 // sku → available at each location asked
}

func (f *fakeInventory) Reserve(_ context.Context, _, _, storeID string, _ []order.LineQty, _ int64) ([]string, error) {
	f.calls = append(f.calls, "reserve "+storeID)
	return nil, nil
}
func (f *fakeInventory) TransferIn(_ context.Context, _, _, from, to string, _ []order.LineQty) error {
	f.calls = append(f.calls, "transfer "+from+">"+to)
	return nil
}
func (f *fakeInventory) Release(_ context.Context, _, _, storeID string, _ []order.LineQty) error {
	f.calls = append(f.calls, "release "+storeID)
	return nil
}
func (f *fakeInventory) Commit(_ context.Context, _, _, storeID string, _ []order.LineQty) error {
	f.calls = append(f.calls, "commit "+storeID)
	return nil
}
func (f *fakeInventory) Available(_ context.Context, locations, skus []string) (map[string]map[string]int64, error) {
	f.calls = append(f.calls, "available "+slices.Concat(locations)[0]+"+"+string(rune('0'+len(locations))))
	out := map[string]map[string]int64{}
	for _, l := range locations {
		out[l] = map[string]int64{}
		for _, s := range skus {
			out[l][s] = f.avail[s]
		}
	}
	return out, nil
}
func (f *fakeInventory) Restock(_ context.Context, _, _, storeID string, _ []order.LineQty) error {
	f.calls = append(f.calls, "restock "+storeID)
	return nil
}
func (f *fakeInventory) WriteOff(_ context.Context, _, _, storeID string, _ []order.LineQty, _ string) error {
	f.calls = append(f.calls, "write_off "+storeID)
	return nil
}

type fakeTasks struct{ calls []string }

func (f *fakeTasks) OpenPickTask(_ context.Context, t activities.PickTask) error {
	f.calls = append(f.calls, "open "+t.StoreID)
	return nil
}
func (f *fakeTasks) ClosePickTask(_ context.Context, _, storeID, status string) error {
	f.calls = append(f.calls, "close "+storeID+" "+status)
	return nil
}

// TestInventoryRouter: every call goes to the store's own inventory or the
// default; availability asks each inventory for its own locations only and
// merges; a transfer between two inventories is refused.
func TestInventoryRouter(t *testing.T) {
	ctx := context.Background()
	def := &fakeInventory{name: "default", avail: map[string]int64{"A": 1}}
	own := &fakeInventory{name: "franchise", avail: map[string]int64{"A": 9}}
	r := newRoutes[activities.Inventory](def)
	r.add("s2", config.System{URL: "https://franchise.example"}, func() activities.Inventory { return own })
	inv := &inventoryRouter{r}
	lines := []order.LineQty{{SKU: "A", Quantity: 1}}

	_, err := inv.Reserve(ctx, "k", "o", "s1", lines, 0)
	require.NoError(t, err)
	_, err = inv.Reserve(ctx, "k", "o", "s2", lines, 0)
	require.NoError(t, err)
	require.NoError(t, inv.Release(ctx, "k", "o", "s2", nil))
	require.NoError(t, inv.Commit(ctx, "k", "o", "s1", lines))
	require.NoError(t, inv.Restock(ctx, "k", "o", "s2", lines))
	require.NoError(t, inv.WriteOff(ctx, "k", "o", "s1", lines, "damaged"))
	require.NoError(t, inv.TransferIn(ctx, "k", "o", "s1", "s3", lines))
	err = inv.TransferIn(ctx, "k", "o", "s1", "s2", lines)
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "transfer_across_inventories", de.Code)

	got, err := inv.Available(ctx, []string{"s1", "s2", "s3"}, []string{"A"})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]int64{"s1": {"A": 1}, "s2": {"A": 9}, "s3": {"A": 1}}, got)

	require.Equal(t, []string{"reserve s1", "commit s1", "write_off s1", "transfer s1>s3", "available s1+2"}, def.calls)
	require.Equal(t, []string{"reserve s2", "release s2", "restock s2", "available s2+1"}, own.calls)
}

// TestStoreTasksRouter: pick tasks go to the store's own task system.
func TestStoreTasksRouter(t *testing.T) {
	ctx := context.Background()
	def, own := &fakeTasks{}, &fakeTasks{}
	r := newRoutes[activities.StoreTasks](def)
	r.add("s2", config.System{URL: "https://franchise.example"}, func() activities.StoreTasks { return own })
	tasks := &storeTasksRouter{r}
	require.NoError(t, tasks.OpenPickTask(ctx, activities.PickTask{OrderID: "o", StoreID: "s1"}))
	require.NoError(t, tasks.OpenPickTask(ctx, activities.PickTask{OrderID: "o", StoreID: "s2"}))
	require.NoError(t, tasks.ClosePickTask(ctx, "o", "s2", "picked"))
	require.Equal(t, []string{"open s1"}, def.calls)
	require.Equal(t, []string{"open s2", "close s2 picked"}, own.calls)
}

// TestStockReadThrough: with an external inventory the API reads a
// store's stock through the inventory's availability, from that store's
// own inventory; a SKU the inventory does not know reads as zero.
func TestStockReadThrough(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/inv/availability", r.URL.Path)
		require.Equal(t, "Bearer franchise-token", r.Header.Get("Authorization"))
		asked = append(asked, r.URL.Query().Get("location_id")+"/"+r.URL.Query().Get("sku"))
		if r.URL.Query().Get("sku") == "NOPE" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type":"https://inventory.example/problems/not_found","title":"unknown sku"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"location_id":"store-002","sku":"SKU-1","on_hand":7,"reserved":2,"available":5}`))
	}))
	defer srv.Close()

	cfg := loadConfig(t, nil)
	cfg.Stores[1].InventoryURL = srv.URL + "/inv"
	cfg.Stores[1].InventoryToken = "franchise-token"
	require.NoError(t, cfg.Validate())
	stock := stockAPIOf(cfg, &postgres.DB{}, nil, discard)
	require.False(t, stock.External("store-001"))
	require.True(t, stock.External("store-002"))

	st, err := stock.Read(context.Background(), "store-002", "SKU-1")
	require.NoError(t, err)
	require.Equal(t, postgres.Stock{StoreID: "store-002", SKU: "SKU-1", OnHand: 7, Reserved: 2, Available: 5}, st)
	st, err = stock.Read(context.Background(), "store-002", "NOPE")
	require.NoError(t, err)
	require.Equal(t, postgres.Stock{StoreID: "store-002", SKU: "NOPE"}, st)
	require.Equal(t, []string{"store-002/SKU-1", "store-002/NOPE"}, asked)
}
