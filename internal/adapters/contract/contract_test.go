package contract_test

import (
	"net/http/httptest"
	"testing"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/catalog"
	"github.com/omni-retail/omni/internal/adapters/contract"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/adapters/inventory"
	"github.com/omni-retail/omni/internal/adapters/payments"
	"github.com/omni-retail/omni/internal/adapters/storetasks"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/reference"
)

// The built-in implementation: Omni's ledgers. One database for the run;
// every case uses identifiers of its own.
func TestBuiltin(t *testing.T) {
	db := contract.FreshDB(t, "contract_builtin")
	setup := contract.Ledgers(db)
	contract.RunInventory(t, func(t *testing.T) (activities.Inventory, contract.Setup) { return db, setup })
	contract.RunStoreTasks(t, func(t *testing.T) (activities.StoreTasks, contract.Setup) { return db, setup })
	contract.RunPayments(t, func(t *testing.T) (activities.Payments, contract.Setup) { return db, setup })
	contract.RunPrices(t, func(t *testing.T) (activities.PriceList, contract.Setup) { return db, setup })
}

const token = "contract-test-token"

// referenceServer is the reference server in-process, answering the first
// attempt of every step with a 503, on a database of its own; omni is
// Omni's own database (the inventory adapter's book of reservation ids).
func referenceServer(t *testing.T) (url string, ref, omni *postgres.DB) {
	ref = contract.FreshDB(t, "contract_reference")
	require(t, reference.Migrate(t.Context(), ref))
	srv := httptest.NewServer(reference.New(ref, token, true))
	t.Cleanup(srv.Close)
	return srv.URL, ref, contract.FreshDB(t, "contract_omni")
}

func require(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The HTTP adapters against the reference server with -fail-first.
func TestHTTPAdaptersAgainstReference(t *testing.T) {
	url, ref, omni := referenceServer(t)
	setup := contract.Reference(url, token, ref)
	opts := func(system string) httpx.Options {
		return httpx.Options{System: system, BaseURL: url, Token: token}
	}
	t.Run("inventory", func(t *testing.T) {
		inv := inventory.New(opts(inventory.System), omni)
		contract.RunInventory(t, func(t *testing.T) (activities.Inventory, contract.Setup) { return inv, setup })
	})
	t.Run("store tasks", func(t *testing.T) {
		st := storetasks.New(opts(storetasks.System), nil)
		contract.RunStoreTasks(t, func(t *testing.T) (activities.StoreTasks, contract.Setup) { return st, setup })
	})
	t.Run("payments", func(t *testing.T) {
		p := payments.New(opts(payments.System))
		contract.RunPayments(t, func(t *testing.T) (activities.Payments, contract.Setup) { return p, setup })
	})
	t.Run("prices", func(t *testing.T) {
		c := catalog.New(opts(catalog.System))
		contract.RunPrices(t, func(t *testing.T) (activities.PriceList, contract.Setup) { return c, setup })
	})
}
