package api

import (
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
)

// trackingNumberPattern is what a tracking number of the built-in carrier
// looks like (and a little more): anything else is not looked up.
var trackingNumberPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// trackingPage is the built-in carrier's public tracking page: a parcel's
// status and when it changed, and nothing about the order or the customer
// (a tracking number is a bearer of nothing else). No script, no style.
var trackingPage = template.Must(template.New("track").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parcel {{.Number}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Parcel {{.Number}}</h1>
<p>Status: <strong>{{.Status}}</strong></p><p>Last update: <time datetime="{{.At}}">{{.At}}</time></p>
<p><small>Omni's built-in development carrier.</small></p></main></body></html>
`))

// track serves the built-in carrier's tracking page, the tracking_url of its
// shipments. With an external carrier (carrier.url) the carrier's own
// tracking links are used and this page knows no parcels.
func (s *Server) track(c echo.Context) error {
	number := c.Param("tracking_number")
	if !trackingNumberPattern.MatchString(number) {
		return order.Errorf(order.KindNotFound, "parcel_not_found", "no parcel %q", number)
	}
	status, cancelled, at, err := s.db.CarrierTracking(c.Request().Context(), number)
	if err != nil {
		return err
	}
	if cancelled {
		status = "cancelled"
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return trackingPage.Execute(c.Response(), map[string]string{"Number": number,
		"Status": strings.ReplaceAll(status, "_", " "), "At": at.UTC().Format("2006-01-02 15:04 MST")})
}
