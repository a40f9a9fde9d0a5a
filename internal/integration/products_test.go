package integration

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Order lines carry the product people recognise, from the checkout.
func TestLinesCarryTheProduct(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 3)
	l := line(sku, 1, 3500)
	l["name"], l["variant"], l["image_url"] = "Linen shirt", "Navy, M", "https://shop.example/img/linen-navy.jpg"
	id := c.place(orderBody("", store, l))
	var o struct {
		Lines []struct {
			SKU      string `json:"sku"`
			Name     string `json:"name"`
			Variant  string `json:"variant"`
			ImageURL string `json:"image_url"`
		} `json:"lines"`
	}
	require.NoError(t, json.Unmarshal(c.do(http.MethodGet, "/v1/orders/"+id, nil).Body, &o))
	require.Equal(t, "Linen shirt", o.Lines[0].Name)
	require.Equal(t, "Navy, M", o.Lines[0].Variant)
	require.Equal(t, "https://shop.example/img/linen-navy.jpg", o.Lines[0].ImageURL)

	bad := line(unique("SKU"), 1, 100)
	bad["image_url"] = "javascript:alert(1)"
	r := c.do(http.MethodPost, "/v1/orders", orderBody("", store, bad), "Idempotency-Key", unique("key"))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Contains(t, string(r.Body), "lines[0].image_url")
}
