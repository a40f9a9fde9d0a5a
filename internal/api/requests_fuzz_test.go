package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/order"
)

// The fuzz targets of the request bodies: each drives a handler's first
// step — its Idempotency-Key, then bind, the decode and validation the
// handler itself calls — with whatever the fuzzer makes of the bodies the
// tests and the OpenAPI examples send. Every refusal must be a 4xx problem
// of Omni's (never a 5xx, never a Go error string); every acceptance must be
// of one JSON value whose canonical form (the request hash's input) decodes
// and validates again to the same request.

// keyRule is how a request treats the Idempotency-Key header.
type keyRule int

const (
	noKey       keyRule = iota // not read (no mutation)
	optionalKey                // pick, reject, cancel
	requiredKey                // place, collect, returns, exchanges
)

// bodyOf is a pointer to a request body type that validates itself.
type bodyOf[T any] interface {
	*T
	validated
}

// fuzzBody runs one request body's fuzz target. The seeds are bodies; the
// fuzzer also varies the Content-Type, the Idempotency-Key and Omni-Actor.
func fuzzBody[T any, P bodyOf[T]](f *testing.F, keys keyRule, bindFn func(echo.Context, validated) error, seeds ...string) {
	for _, seed := range seeds {
		f.Add([]byte(seed), "application/json", "pos-key-1", "")
	}
	f.Add([]byte(`{}`), "", "", "associate-7")
	f.Add([]byte(``), "application/json", "k", "")
	f.Fuzz(func(t *testing.T, raw []byte, contentType, key, actor string) {
		header := http.Header{}
		if key != "" {
			header.Set(headerIdempotencyKey, key)
		}
		if actor != "" {
			header.Set("Omni-Actor", actor)
		}
		c, rec := newRequestContext(request{method: http.MethodPost, target: "/", contentType: contentType, body: raw, header: header})
		var err error
		if keys != noKey {
			_, err = idempotencyKey(c, keys == requiredKey)
		}
		var v T
		if err == nil {
			err = bindFn(c, P(&v))
		}
		if err != nil {
			requireClientProblem(t, c, rec, err)
			return
		}
		if len(raw) > 0 && !json.Valid(raw) {
			t.Fatalf("accepted %q, which is not one JSON value", raw)
		}
		requireCanonicalStable(t, P(&v))
		if keys != noKey {
			// Who acted, for the timeline: the header only when it is within bounds.
			a := actorFor(c, auth.Principal{Role: auth.RoleStore, Name: "pos"})
			if order.TooLong(a.Actor, MaxActorLength) || a.Actor == "" {
				t.Fatalf("actor %q recorded: want 1 to %d characters", a.Actor, MaxActorLength)
			}
			if !slices.Contains(roleChannels[auth.RoleStore], a.Channel) {
				t.Fatalf("channel %q recorded for store staff", a.Channel)
			}
		}
	})
}

// requireCanonicalStable: the canonical JSON of an accepted body (what the
// request hash is made of) decodes strictly and validates to the same body.
func requireCanonicalStable[T any, P bodyOf[T]](t *testing.T, v P) {
	t.Helper()
	canonical, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("an accepted body does not marshal: %v", err)
	}
	again := P(new(T))
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	if err := dec.Decode(again); err != nil {
		t.Fatalf("the canonical form %s of an accepted body does not decode: %v", canonical, err)
	}
	if err := again.Validate(); err != nil {
		t.Fatalf("the canonical form %s of an accepted body is refused: %v", canonical, err)
	}
	if !reflect.DeepEqual(v, again) {
		t.Fatalf("the canonical form %s decodes to %+v, not %+v", canonical, *again, *v)
	}
}

// placeSeed is the README's and the OpenAPI example's order.
const placeSeed = `{"id": "web-1001", "channel": "web",
  "customer": {"id": "c-1", "email": "ada@example.com", "phone": "+447700900001", "name": "Ada Lovelace"},
  "currency": "GBP", "fulfilment": {"type": "collect", "store_id": "store-001"},
  "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": 1999}],
  "payment": {"method": "card", "reference": "psp-auth-123", "amount": 3998},
  "nominee": {"name": "Charles Babbage", "phone": "+447700900002"}}`

func FuzzPlaceOrder(f *testing.F) {
	fuzzBody[order.PlaceRequest](f, requiredKey, bind,
		placeSeed,
		`{"customer": {"email": "ada@example.com", "notify": "sms", "phone": "+44 7700 900001", "language": "fr-CA"},
		  "currency": "GBP", "fulfilment": {"type": "collect", "store_id": "store-001"},
		  "lines": [{"sku": "A", "quantity": 1, "unit_price": 1000}, {"sku": "B", "quantity": 3, "unit_price": 250}],
		  "payment": {"method": "CARD", "reference": "psp-1", "amount": 1750}}`,
		`{"customer": {"email": "ada@example.com", "notify": "push", "push_token": "fcm:abc-123_XYZ"}, "currency": "EUR",
		  "fulfilment": {"type": "collect", "store_id": "store-002"}, "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": 1}],
		  "payment": {"method": "card", "reference": "psp-2", "amount": 1}}`,
		`{"customer": {"email": "not-an-email"}, "currency": "pounds", "fulfilment": {"type": "drone"}, "lines": [],
		  "payment": {"method": "", "reference": "", "amount": 1}}`,
		`{"customer": {"email": "ada@example.com"}, "currency": "GBP", "fulfilment": {"type": "collect", "store_id": "store-001"},
		  "lines": [{"sku": "A", "quantity": 0, "unit_price": -5}], "payment": {"method": "card", "reference": "r", "amount": 0}}`,
	)
}

func FuzzPick(f *testing.F) {
	fuzzBody[pickBody](f, optionalKey, bind,
		`{"lines": [{"sku": "SKU-1", "quantity": 2}]}`, `{"lines": [{"sku": "SKU-1", "quantity": 1}]}`,
		`{"lines": []}`, `{"lines": [{"sku": "SKU-1", "quantity": -1}]}`, `{}`)
}

func FuzzCollect(f *testing.F) {
	fuzzBody[collectBody](f, requiredKey, bind,
		`{"pickup_code": "K7M2Q9XP", "collected_by": {"name": "Ada Lovelace", "relation": "customer"}}`,
		`{"pickup_code": "K7M2Q9XP", "lines": [{"sku": "SKU-1", "quantity": 1}], "refused": [{"sku": "SKU-1", "quantity": 1, "reason": "damaged"}],
		  "collected_by": {"name": "Charles Babbage", "relation": "nominee"}}`,
		`{"pickup_code": "K7M2Q9XP", "refused": [{"sku": "B", "quantity": 0}]}`,
		`{"pickup_code": "K7M2Q9XP", "lines": [{"sku": "B", "quantity": 1}], "refused": [{"sku": "B", "quantity": 1, "reason": "box crushed"}]}`,
		`{"pickup_code": "K7M2Q9XP", "collected_by": {"name": "Ada", "relation": "friend"}}`,
		`{"pickup_code": ""}`)
}

func FuzzReject(f *testing.F) {
	fuzzBody[rejectBody](f, optionalKey, bind,
		`{"reason": "last unit damaged in the stockroom"}`, `{"reason": "no staff today"}`, `{"reason": ""}`)
}

func FuzzCancel(f *testing.F) {
	fuzzBody[cancelBody](f, optionalKey, bindOptional,
		`{"reason": "changed my mind"}`, `{"reason": "duplicate order"}`, ``, `{}`)
}

func FuzzReturn(f *testing.F) {
	fuzzBody[returnBody](f, requiredKey, bind,
		`{"lines": [{"sku": "SKU-1", "quantity": 1, "reason": "too_small", "condition": "resellable"}]}`,
		`{"lines": [{"sku": "SKU-1", "quantity": 2, "reason": "changed_mind", "condition": "resellable"},
		  {"sku": "SKU-2", "quantity": 1, "reason": "arrived_broken", "condition": "damaged"}]}`,
		`{"lines": [{"sku": "SKU-1", "quantity": 1, "reason": "x", "condition": "like new"}]}`,
		`{"lines": [{"sku": "SKU-1", "quantity": 1, "condition": "damaged"}]}`)
}

func FuzzExchange(f *testing.F) {
	fuzzBody[exchangeBody](f, requiredKey, bind,
		`{"return_lines": [{"sku": "SKU-1", "quantity": 1, "reason": "too_small", "condition": "resellable"}],
		  "new_lines": [{"sku": "SKU-1-L", "quantity": 1, "unit_price": 1999}]}`,
		`{"return_lines": [{"sku": "SKU-1", "quantity": 1, "reason": "wrong_colour", "condition": "resellable"}],
		  "new_lines": [{"sku": "SKU-2", "quantity": 1, "unit_price": 2499}], "tender": {"method": "card", "reference": "pos-123"}}`,
		`{"return_lines": [{"sku": "B", "quantity": 1, "reason": "r", "condition": "damaged"}], "new_lines": [{"sku": "TV", "quantity": 1}]}`,
		`{"return_lines": [], "new_lines": [], "tender": {"reference": ""}}`)
}

func FuzzWebhookSubscription(f *testing.F) {
	fuzzBody[webhookBody](f, noKey, bind,
		`{"url": "https://erp.example.com/omni/events"}`,
		`{"url": "https://crm.example.com/hooks/omni", "event_types": ["collected", "expired"]}`,
		`{"url": "http://127.0.0.1:8081/hook", "event_types": ["picked", "picked"]}`,
		`{"url": "ftp://example.com/x#frag", "event_types": ["Not An Event"]}`)
}

func FuzzLookup(f *testing.F) {
	fuzzBody[lookupBody](f, noKey, bind,
		`{"number": "100001", "email": "ada@example.com"}`, `{"number": "100001", "phone": "+44 7700 900001"}`,
		`{"number": "100001"}`, `{"email": "ada@example.com"}`)
}

func FuzzSetPrice(f *testing.F) {
	fuzzBody[priceBody](f, noKey, bind,
		`{"currency": "GBP", "unit_price": 1500}`, `{"currency": "gbp", "unit_price": 1}`, `{"unit_price": 100000001}`)
}

func FuzzSetStock(f *testing.F) {
	fuzzBody[stockBody](f, noKey, bind, `{"on_hand": 10}`, `{"on_hand": -1}`, `{}`)
}
