package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/postgres"
)

// maxAnalyticsRange is the longest period GET /v1/analytics/stores covers.
const maxAnalyticsRange = 366 * 24 * time.Hour

// storeAnalyticsColumns are the CSV header, in the order of storeAnalyticsRow.
var storeAnalyticsColumns = []string{"store_id", "channel", "currency", "orders", "ready",
	"ready_seconds_p50", "ready_seconds_p90", "pick_deadline_breaches", "escalations", "reassignments",
	"expired", "no_show_rate", "collected", "collection_rate", "returned", "return_rate", "refunded", "exchanges"}

// storeAnalytics answers GET /v1/analytics/stores?from=…&to=…: per store and
// channel, the figures of the orders placed in [from, to) (postgres.StoreAnalytics),
// as JSON or, for Accept: text/csv, as CSV with a header row.
func (s *Server) storeAnalytics(c echo.Context) error {
	var errs fieldErrors
	from := analyticsTime(&errs, "from", c.QueryParam("from"))
	to := analyticsTime(&errs, "to", c.QueryParam("to"))
	if len(errs) == 0 {
		switch {
		case !to.After(from):
			errs.add("to", "must be after from")
		case to.Sub(from) > maxAnalyticsRange:
			errs.add("to", "must be at most 366 days after from")
		}
	}
	if err := validation("the period is missing or not valid", errs); err != nil {
		return err
	}
	rows, err := s.db.StoreAnalytics(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	if wantsCSV(c.Request().Header.Get(echo.HeaderAccept)) {
		return writeAnalyticsCSV(c, from, to, rows)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "stores": rows})
}

// analyticsTime reads a period bound: an RFC 3339 time, or a date (its
// midnight in UTC).
func analyticsTime(errs *fieldErrors, field, v string) time.Time {
	if v == "" {
		errs.add(field, "is required: an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC)")
		return time.Time{}
	}
	if len(v) <= 40 {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t
		}
	}
	errs.add(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)")
	return time.Time{}
}

// wantsCSV reports whether the Accept header asks for text/csv.
func wantsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

func writeAnalyticsCSV(c echo.Context, from, to time.Time, rows []postgres.StoreAnalytics) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="store-analytics-%s-%s.csv"`,
		from.Format("20060102T150405Z"), to.Format("20060102T150405Z")))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(storeAnalyticsColumns); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(storeAnalyticsRow(r)); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func storeAnalyticsRow(r postgres.StoreAnalytics) []string {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return []string{csvText(r.StoreID), csvText(r.Channel), csvText(r.Currency), n(r.Orders), n(r.Ready),
		f(r.ReadySecondsP50), f(r.ReadySecondsP90), n(r.Breaches), n(r.Escalations), n(r.Reassignments),
		n(r.Expired), f(r.NoShowRate), n(r.Collected), f(r.CollectionRate), n(r.Returned), f(r.ReturnRate),
		n(r.Refunded), n(r.Exchanges)}
}

// csvText keeps a spreadsheet from reading a text cell as a formula.
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
