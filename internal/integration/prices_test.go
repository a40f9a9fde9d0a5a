package integration

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// priceView is a price as the API answers it.
type priceView struct {
	SKU       string    `json:"sku"`
	Currency  string    `json:"currency"`
	UnitPrice int64     `json:"unit_price"`
	UpdatedAt time.Time `json:"updated_at"`
}

// setPrice puts a SKU's list price in a currency, as the admin's price feed.
func (c *api) setPrice(sku, currency string, unitPrice int64) priceView {
	c.t.Helper()
	r := c.do(http.MethodPut, "/v1/prices/"+sku, map[string]any{"currency": currency, "unit_price": unitPrice},
		"Authorization", "Bearer "+adminKey)
	require.Equal(c.t, http.StatusOK, r.Status, "set price: %s", r.Body)
	var p priceView
	require.NoError(c.t, json.Unmarshal(r.Body, &p))
	return p
}

// getPrice reads a SKU's price (query: "" or "?currency=XXX") as key.
func (c *api) getPrice(sku, query, key string) response {
	c.t.Helper()
	return c.do(http.MethodGet, "/v1/prices/"+sku+query, nil, "Authorization", "Bearer "+key)
}

func decodePrice(t *testing.T, r response) priceView {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	var p priceView
	require.NoError(t, json.Unmarshal(r.Body, &p))
	return p
}

// The admin feeds the price list like stock; every channel that sells may read it.
func TestPriceRoundTrip(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")

	put := c.setPrice(sku, "GBP", 1500)
	require.Equal(t, priceView{SKU: sku, Currency: "GBP", UnitPrice: 1500, UpdatedAt: put.UpdatedAt}, put)
	require.WithinDuration(t, time.Now(), put.UpdatedAt, time.Minute)

	for _, key := range []string{adminKey, store1Key, supportKey, checkoutKey} {
		got := decodePrice(t, c.getPrice(sku, "", key))
		require.Equal(t, put, got, "the only price, read as %s", key)
		require.Equal(t, put, decodePrice(t, c.getPrice(sku, "?currency=GBP", key)), "GBP, read as %s", key)
	}

	// Overwrite: the new price replaces the old one.
	again := c.setPrice(sku, "GBP", 1750)
	require.Equal(t, int64(1750), again.UnitPrice)
	require.False(t, again.UpdatedAt.Before(put.UpdatedAt), "updated_at %v, was %v", again.UpdatedAt, put.UpdatedAt)
	require.Equal(t, again, decodePrice(t, c.getPrice(sku, "", store1Key)))
}

// A SKU priced in two currencies needs the currency named.
func TestPriceCurrencies(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setPrice(sku, "GBP", 1500)
	c.setPrice(sku, "EUR", 1800)

	require.Equal(t, int64(1500), decodePrice(t, c.getPrice(sku, "?currency=GBP", checkoutKey)).UnitPrice)
	require.Equal(t, int64(1800), decodePrice(t, c.getPrice(sku, "?currency=EUR", checkoutKey)).UnitPrice)

	r := c.getPrice(sku, "", checkoutKey)
	require.Equal(t, "currency_required", problem(t, r, http.StatusBadRequest))
	require.Contains(t, r.json(t)["detail"], "EUR, GBP", "the detail lists the currencies")

	r = c.getPrice(sku, "?currency=USD", checkoutKey)
	require.Equal(t, "no_price", problem(t, r, http.StatusNotFound), "no price in that currency")
	r = c.getPrice(sku, "?currency=gbp", checkoutKey)
	require.Equal(t, "bad_query", problem(t, r, http.StatusBadRequest))
}

func TestPriceNotFound(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	require.Equal(t, "no_price", problem(t, c.getPrice(sku, "", store1Key), http.StatusNotFound))
	require.Equal(t, "no_price", problem(t, c.getPrice(sku, "?currency=GBP", store1Key), http.StatusNotFound))
}

// A price the feed sends wrong is refused, naming the field, and changes nothing.
func TestPriceValidation(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setPrice(sku, "GBP", 1500)

	put := func(path string, body any) response {
		return c.do(http.MethodPut, path, body, "Authorization", "Bearer "+adminKey)
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"lower-case currency", "/v1/prices/" + sku, map[string]any{"currency": "gbp", "unit_price": 1}, 422, "validation", "currency"},
		{"four-letter currency", "/v1/prices/" + sku, map[string]any{"currency": "GBPX", "unit_price": 1}, 422, "validation", "currency"},
		{"no currency", "/v1/prices/" + sku, map[string]any{"unit_price": 1}, 422, "validation", "currency"},
		{"unit_price 0", "/v1/prices/" + sku, map[string]any{"currency": "GBP", "unit_price": 0}, 422, "validation", "unit_price"},
		{"negative unit_price", "/v1/prices/" + sku, map[string]any{"currency": "GBP", "unit_price": -5}, 422, "validation", "unit_price"},
		{"unit_price too large", "/v1/prices/" + sku, map[string]any{"currency": "GBP", "unit_price": 100_000_001}, 422, "validation", "unit_price"},
		{"no unit_price", "/v1/prices/" + sku, map[string]any{"currency": "GBP"}, 422, "validation", "unit_price"},
		{"fractional unit_price", "/v1/prices/" + sku, `{"currency": "GBP", "unit_price": 15.5}`, 400, "wrong_type", "unit_price"},
		{"unknown field", "/v1/prices/" + sku, map[string]any{"currency": "GBP", "unit_price": 1, "price": 1}, 400, "unknown_field", "price"},
		{"bad SKU", "/v1/prices/-bad", map[string]any{"currency": "GBP", "unit_price": 1}, 400, "bad_sku", "sku"},
		{"empty body", "/v1/prices/" + sku, "", 400, "empty_body", ""},
	} {
		r := put(tc.path, tc.body)
		require.Equal(t, tc.code, problem(t, r, tc.status), tc.name)
		if tc.field != "" {
			errs, _ := r.json(t)["errors"].([]any)
			require.NotEmpty(t, errs, "%s: the offending field is named: %s", tc.name, r.Body)
			require.Equal(t, tc.field, errs[0].(map[string]any)["field"], tc.name)
		}
	}
	// Both fields wrong: both named at once.
	r := put("/v1/prices/"+sku, map[string]any{"currency": "x", "unit_price": 0})
	require.Equal(t, "validation", problem(t, r, http.StatusUnprocessableEntity))
	require.Len(t, r.json(t)["errors"], 2, "every offending field: %s", r.Body)
	// The largest allowed price is taken.
	require.Equal(t, int64(100_000_000), c.setPrice(sku, "USD", 100_000_000).UnitPrice)

	require.Equal(t, "bad_sku", problem(t, c.getPrice("-bad", "", adminKey), http.StatusBadRequest))
	r = c.getPrice(sku, "?currency=GBP", adminKey)
	require.Equal(t, int64(1500), decodePrice(t, r).UnitPrice, "no refused request changed the price")
}

// Only the admin feeds prices; a customer token may not read them.
func TestPriceAccess(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setPrice(sku, "GBP", 1500)
	body := map[string]any{"currency": "GBP", "unit_price": 1}
	for _, key := range []string{store1Key, allStoresKey, checkoutKey, supportKey} {
		r := c.do(http.MethodPut, "/v1/prices/"+sku, body, "Authorization", "Bearer "+key)
		require.Equal(t, "forbidden", problem(t, r, http.StatusForbidden), "PUT as %s", key)
	}
	r := c.do(http.MethodPut, "/v1/prices/"+sku, body, "Authorization", "none")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "forbidden", problem(t, c.getPrice(sku, "", customerToken("any-order")), http.StatusForbidden))
	require.Equal(t, int64(1500), decodePrice(t, c.getPrice(sku, "", adminKey)).UnitPrice, "the refused PUTs changed nothing")
}
