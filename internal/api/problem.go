package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/omni-retail/omni/internal/order"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail,omitempty"`
	Errors []order.FieldError `json:"errors,omitempty"`
}

const problemTypePrefix = "urn:omni:problem:"

// statusOf is the one place a domain error kind becomes an HTTP status.
func statusOf(k order.Kind) int {
	switch k {
	case order.KindInvalid:
		return http.StatusUnprocessableEntity
	case order.KindNotFound:
		return http.StatusNotFound
	case order.KindConflict:
		return http.StatusConflict
	case order.KindForbidden:
		return http.StatusForbidden
	case order.KindUnavailable:
		return http.StatusServiceUnavailable
	case order.KindPayment:
		return http.StatusPaymentRequired
	}
	return http.StatusInternalServerError
}

// badRequest is a request the server cannot even read (400).
type badRequest struct {
	code, detail string
	fields       []order.FieldError
	status       int
}

func (e *badRequest) Error() string { return e.detail }

func newBadRequest(code, detail string, fields ...order.FieldError) *badRequest {
	return &badRequest{code: code, detail: detail, fields: fields, status: http.StatusBadRequest}
}

// problemFor turns any error a handler returns into a problem document.
func problemFor(err error) Problem {
	var br *badRequest
	if errors.As(err, &br) {
		return Problem{Type: problemTypePrefix + br.code, Title: http.StatusText(br.status), Status: br.status,
			Detail: br.detail, Errors: br.fields}
	}
	if de, ok := order.AsError(err); ok {
		return domainProblem(de)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if kind, code, ok := order.ParseType(appErr.Type()); ok {
			return domainProblem(&order.Error{Kind: kind, Code: code, Detail: appErr.Message()})
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := map[int]string{
			http.StatusNotFound:              "route_not_found",
			http.StatusMethodNotAllowed:      "method_not_allowed",
			http.StatusRequestEntityTooLarge: "body_too_large",
			http.StatusUnsupportedMediaType:  "unsupported_media_type",
		}[he.Code]
		if code == "" {
			code = "http_error"
		}
		detail, _ := he.Message.(string)
		return Problem{Type: problemTypePrefix + code, Title: http.StatusText(he.Code), Status: he.Code, Detail: detail}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return Problem{Type: problemTypePrefix + "order_closed", Title: http.StatusText(http.StatusConflict),
			Status: http.StatusConflict, Detail: "the order's lifecycle has ended; it cannot be changed this way"}
	}
	var updateTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &updateTimeout) {
		return Problem{Type: problemTypePrefix + "timeout", Title: http.StatusText(http.StatusServiceUnavailable),
			Status: http.StatusServiceUnavailable, Detail: "the order did not answer in time; retry the request"}
	}
	return Problem{Type: problemTypePrefix + "internal", Title: http.StatusText(http.StatusInternalServerError),
		Status: http.StatusInternalServerError, Detail: "an internal error occurred; it has been logged"}
}

func domainProblem(e *order.Error) Problem {
	status := statusOf(e.Kind)
	return Problem{Type: problemTypePrefix + e.Code, Title: http.StatusText(status), Status: status,
		Detail: e.Detail, Errors: e.Fields}
}

// errorHandler writes every handler error as problem+json and logs the ones
// that are the server's fault.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "error", err)
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	_ = jsonEncode(c.Response(), p)
}
