package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/omni-retail/omni/internal/adapters/httpx/httpxtest"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/internal/adapters/catalog"
	"github.com/omni-retail/omni/internal/adapters/httpx"
	"github.com/omni-retail/omni/internal/order"
)

// The carrier, payment service, store task system… as the tests play it.
type (
	seen = httpxtest.Seen
	fake = httpxtest.Server
)

var reply = httpxtest.Reply

func serve(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*fake, *catalog.Client) {
	f := &fake{Answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, catalog.New(httpx.Options{BaseURL: srv.URL, Token: "cat-token", Timeout: time.Second})
}

// prices answers GET /prices/{sku} from a table, 404 for the rest.
func prices(table map[string]int64) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		sku, _ := url.PathUnescape(r.URL.EscapedPath()[len("/prices/"):])
		n, ok := table[sku]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"title":"Not Found","status":404}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"sku":%q,"currency":%q,"unit_price":%d}`, sku, r.URL.Query().Get("currency"), n)
	}
}

// TestUnitPrices: one GET per SKU with the currency; a 404 is absent.
func TestUnitPrices(t *testing.T) {
	f, c := serve(t, prices(map[string]int64{"A": 1999, "B/2": 0}))
	got, err := c.UnitPrices(context.Background(), "EUR", []string{"A", "B/2", "C", "A"})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"A": 1999, "B/2": 0}, got)
	require.Len(t, f.Requests, 3, "a SKU asked twice is read once")
	require.Equal(t, http.MethodGet, f.Requests[0].Method)
	require.Equal(t, "/prices/A", f.Requests[0].Path)
	require.Equal(t, "/prices/B%2F2", f.Requests[1].Path)
	require.Equal(t, url.Values{"currency": {"EUR"}}, f.Requests[0].Query, "no location: none sent")
	require.Equal(t, "Bearer cat-token", f.Requests[0].Header.Get("Authorization"))
	require.Empty(t, f.Requests[0].Header.Get("Idempotency-Key"), "a GET carries no key")

	got, err = c.UnitPricesAt(context.Background(), "EUR", "store-1", []string{"A"})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"A": 1999}, got)
	require.Equal(t, url.Values{"currency": {"EUR"}, "location_id": {"store-1"}}, f.Requests[3].Query)

	got, err = c.UnitPrices(context.Background(), "EUR", nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestOtherCurrencyIsNotBelieved: an answer in another currency is absent.
func TestOtherCurrencyIsNotBelieved(t *testing.T) {
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sku":"A","currency":"USD","unit_price":10}`)
	})
	got, err := c.UnitPrices(context.Background(), "EUR", []string{"A"})
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestUnavailableIsRetried: 503, 500 and 408 are retryable errors; a 422
// is a domain error.
func TestUnavailableIsRetried(t *testing.T) {
	for _, status := range []int{503, 500, 408, 429} {
		_, c := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
		_, err := c.UnitPrices(context.Background(), "EUR", []string{"A"})
		require.Error(t, err)
		_, domain := order.AsError(err)
		require.False(t, domain, "%d", status)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			require.False(t, appErr.NonRetryable())
		}
	}
	_, c := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(422)
		_, _ = io.WriteString(w, `{"type":"https://cat/problems/unknown_currency"}`)
	})
	_, err := c.UnitPrices(context.Background(), "XXX", []string{"A"})
	de, ok := order.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "unknown_currency", de.Code)
}
