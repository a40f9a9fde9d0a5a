package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 description of every route New
// registers. It is written by hand; a unit test checks that it and the
// registered routes name the same operations.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document as it is embedded.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
