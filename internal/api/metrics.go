package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// metricsRoute serves the Prometheus exposition from h (internal/metrics), or
// answers 404 when the process was built without metrics.
func metricsRoute(h http.Handler) echo.HandlerFunc {
	if h == nil {
		return func(echo.Context) error { return echo.ErrNotFound }
	}
	return echo.WrapHandler(h)
}
