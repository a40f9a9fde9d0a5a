package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
)

// MaxBodyBytes is the largest request body Omni reads.
const MaxBodyBytes = 1 << 20

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: one object, no unknown fields, no
// trailing data, at most MaxBodyBytes. It also returns the raw bytes read.
func decode(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "application/problem+json") {
			return &badRequest{code: "unsupported_media_type", status: http.StatusUnsupportedMediaType,
				detail: "send the body as application/json"}
		}
	}
	if req.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return newBadRequest("unreadable_body", "the request body could not be read")
	}
	if len(body) == 0 {
		return newBadRequest("empty_body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	// Anything but whitespace after the value is refused: a second value, and
	// also a stray "}" or "]", which Decoder.More does not report.
	if rest := bytes.Trim(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return newBadRequest("malformed_json", "the body holds more than one JSON value, or data after it")
	}
	return nil
}

// validated is a request body that checks itself once decoded: every
// offending field at once, as a 422 validation problem.
type validated interface {
	Validate() error
}

// bind is the first step of every handler that takes a body: decode it
// strictly (see decode), then validate it. Every refusal is a 4xx problem.
func bind(c echo.Context, v validated) error {
	if err := decode(c, v); err != nil {
		return err
	}
	return v.Validate()
}

// bindOptional binds a body the request may leave out (no Content-Length or
// zero): then v is validated as it is.
func bindOptional(c echo.Context, v validated) error {
	if c.Request().ContentLength == 0 {
		return v.Validate()
	}
	return bind(c, v)
}

func tooLarge() error {
	return &badRequest{code: "body_too_large", status: http.StatusRequestEntityTooLarge,
		detail: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
}

func jsonProblem(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return newBadRequest("malformed_json", fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, syntax))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return newBadRequest("wrong_type", "a field has the wrong type",
			order.FieldError{Field: field, Detail: fmt.Sprintf("must be %s, got %s", jsonKind(typ.Type.Kind().String()), clip(typ.Value, 40))})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newBadRequest("malformed_json", "the JSON body ends too early")
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		name := clip(msg[len(unknown)+1:len(msg)-1], 100)
		if name == "" {
			name = `""` // a member with an empty name, as JSON spells it
		}
		return newBadRequest("unknown_field", "the body has a field Omni does not know",
			order.FieldError{Field: name, Detail: "unknown field"})
	}
	return newBadRequest("malformed_json", "the body is not valid JSON")
}

// clip shortens what a problem echoes of the request to at most n
// characters: a refusal names what is wrong without sending it all back.
func clip(s string, n int) string {
	if !order.TooLong(s, n) {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int32", "int64", "uint", "uint64", "float64":
		return "a number (integer)"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return goKind
}
