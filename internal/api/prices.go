package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
)

// currencyPattern is an ISO 4217 code, as order placement checks it
// (internal/order keeps its own unexported).
var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

const currencyRule = "must be an ISO 4217 code such as GBP"

type priceBody struct {
	Currency  string `json:"currency"`
	UnitPrice *int64 `json:"unit_price"`
}

func badSKU() error {
	return newBadRequest("bad_sku", "the SKU in the path is not valid", order.FieldError{Field: "sku", Detail: "not a SKU"})
}

// setPrice is the price feed: the list price of a SKU in one currency, which
// exchanges take new items' prices from.
func (s *Server) setPrice(c echo.Context) error {
	sku := c.Param("sku")
	if !skuPattern.MatchString(sku) {
		return badSKU()
	}
	var body priceBody
	if err := bind(c, &body); err != nil {
		return err
	}
	p, err := s.db.SetPrice(c.Request().Context(), sku, body.Currency, *body.UnitPrice)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// getPrice answers the SKU's price in ?currency=, or its only price when the
// query names none.
func (s *Server) getPrice(c echo.Context) error {
	sku := c.Param("sku")
	if !skuPattern.MatchString(sku) {
		return badSKU()
	}
	currency := c.QueryParam("currency")
	if currency != "" && !currencyPattern.MatchString(currency) {
		return newBadRequest("bad_query", "the currency is not valid", order.FieldError{Field: "currency", Detail: currencyRule})
	}
	prices, err := s.db.Prices(c.Request().Context(), sku)
	if err != nil {
		return err
	}
	if currency == "" {
		switch len(prices) {
		case 0:
			return order.Errorf(order.KindNotFound, "no_price", "SKU %q has no price", sku)
		case 1:
			return c.JSON(http.StatusOK, prices[0])
		}
		currencies := make([]string, len(prices))
		for i, p := range prices {
			currencies[i] = p.Currency
		}
		list := strings.Join(currencies, ", ")
		return newBadRequest("currency_required", "SKU "+sku+" has prices in "+list+"; name one with ?currency=",
			order.FieldError{Field: "currency", Detail: "is required: one of " + list})
	}
	for _, p := range prices {
		if p.Currency == currency {
			return c.JSON(http.StatusOK, p)
		}
	}
	return order.Errorf(order.KindNotFound, "no_price", "SKU %q has no price in %s", sku, currency)
}
