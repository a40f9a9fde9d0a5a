package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/omni-retail/omni/internal/order"
)

// decodeTarget has a field of every kind request bodies use, so that the
// fuzzer meets every way a value can have the wrong type.
type decodeTarget struct {
	S string          `json:"s"`
	N int64           `json:"n"`
	P *int64          `json:"p"`
	L []order.LineQty `json:"l"`
	T []string        `json:"t"`
	O *struct {
		X string `json:"x"`
		Y *[]int64
	} `json:"o"`
}

// FuzzDecode: the JSON decoder of every request body refuses anything but
// one JSON object of known fields, with a 4xx problem (never a 5xx or a Go
// error string), and what it accepts is exactly one valid JSON value.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"s": "a", "n": 1, "p": 2, "l": [{"sku": "SKU-1", "quantity": 2}], "t": ["picked"], "o": {"x": "y", "Y": [1]}}`,
		`{}`, `null`, `[]`, `{"s": 1}`, `{"n": "1"}`, `{"n": 1.5}`, `{"n": 1e400}`, `{"l": {}}`, `{"o": []}`,
		`{"unknown": true}`, `{"o": {"z": 1}}`, `{"s": "a"`, `{"s": "a"} {"s": "b"}`, `{"s": "\ud800"}`, "\xff",
		`{"lines": [{"sku": "SKU-1", "quantity": 2}]}`, `{"pickup_code": "K7M2Q9XP"}`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "application/json; charset=utf-8")
	f.Add([]byte(`{}`), "application/problem+json")
	f.Fuzz(func(t *testing.T, raw []byte, contentType string) {
		c, rec := newRequestContext(request{method: http.MethodPost, target: "/", contentType: contentType, body: raw})
		var v decodeTarget
		if err := decode(c, &v); err != nil {
			requireClientProblem(t, c, rec, err)
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("decode accepted %q, which is not one JSON value", raw)
		}
		// What was accepted is what a strict decoder of the whole body reads.
		var again decodeTarget
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&again); err != nil {
			t.Fatalf("decode accepted %q, which a strict decoder refuses: %v", raw, err)
		}
	})
}
