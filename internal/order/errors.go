package order

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a domain error. Exactly one function, in the HTTP API, maps
// a kind to a status code.
type Kind string

// The kinds of domain error.
const (
	KindInvalid     Kind = "invalid"     // the request breaks a rule of its own (422)
	KindNotFound    Kind = "not_found"   // no such order, store or SKU (404)
	KindConflict    Kind = "conflict"    // not allowed in the order's current state (409)
	KindForbidden   Kind = "forbidden"   // e.g. a wrong pickup code (403)
	KindUnavailable Kind = "unavailable" // a dependency is down; retry later (503)
	KindPayment     Kind = "payment"     // the payment provider refused to take the money (402)
)

// Error is a domain error: a kind, a stable code, a human detail and, for
// validation, the offending fields.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
}

// FieldError names one offending field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Detail
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return e.Detail + " (" + strings.Join(parts, "; ") + ")"
}

// Type is the string carried across Temporal as an application error's type:
// "kind/code". ParseType reverses it.
func (e *Error) Type() string { return string(e.Kind) + "/" + e.Code }

// Errorf builds a domain error.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// ParseType splits an application error type written by Error.Type. ok is false
// for types that did not come from a domain error.
func ParseType(t string) (kind Kind, code string, ok bool) {
	k, c, found := strings.Cut(t, "/")
	if !found {
		return "", "", false
	}
	switch Kind(k) {
	case KindInvalid, KindNotFound, KindConflict, KindForbidden, KindUnavailable, KindPayment:
		return Kind(k), c, true
	}
	return "", "", false
}

// AsError returns err's domain error, if it has one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
