// Package catalog is the HTTP adapter of the price list port
// (activities.PriceList): it reads list prices from the retailer's catalog
// over the wire contract of ADAPTERS.md ("Prices"), GET
// {url}/prices/{sku}?currency=…&location_id=…, built on httpx. A 404 is a
// SKU without a price (absent from the answer); a 200 in another currency
// than asked is not believed (absent too); anything else not done is a
// retryable error.
package catalog

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/adapters/httpx"
)

// System is the adapter's name in metrics, logs and errors.
const System = "catalog"

// Client is the retailer's catalog.
type Client struct {
	c *httpx.Client
}

var _ activities.PriceList = (*Client)(nil)

// New is an adapter of the catalog at o.BaseURL (catalog.url,
// catalog.token). o.System is set to "catalog" when empty.
func New(o httpx.Options) *Client {
	if o.System == "" {
		o.System = System
	}
	return &Client{c: httpx.New(o)}
}

// UnitPrices reads the list price in currency of each SKU, with no location.
func (c *Client) UnitPrices(ctx context.Context, currency string, skus []string) (map[string]int64, error) {
	return c.UnitPricesAt(ctx, currency, "", skus)
}

// UnitPricesAt reads the list price in currency of each SKU at a location
// (sent as location_id when not empty): one GET per SKU. SKUs without a
// price are absent.
func (c *Client) UnitPricesAt(ctx context.Context, currency, locationID string, skus []string) (map[string]int64, error) {
	out := make(map[string]int64, len(skus))
	for _, sku := range skus {
		if _, done := out[sku]; done {
			continue
		}
		q := url.Values{"currency": {currency}}
		if locationID != "" {
			q.Set("location_id", locationID)
		}
		var p struct {
			SKU       string `json:"sku"`
			Currency  string `json:"currency"`
			UnitPrice *int64 `json:"unit_price"`
		}
		_, err := c.c.Do(ctx, httpx.Call{Method: http.MethodGet, Path: "/prices/" + url.PathEscape(sku) + "?" + q.Encode(),
			Operation: "price"}, &p)
		if r, ok := httpx.AsRefusal(err); ok && r.Status == http.StatusNotFound {
			continue
		} else if ok {
			return nil, r.Domain()
		}
		if err != nil {
			return nil, err
		}
		if p.UnitPrice == nil || (p.Currency != "" && !strings.EqualFold(p.Currency, currency)) {
			continue
		}
		out[sku] = *p.UnitPrice
	}
	return out, nil
}
