package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
)

// shipmentsDB is a fresh, migrated database of its own, dropped when the
// test ends.
func shipmentsDB(t *testing.T) *postgres.DB {
	t.Helper()
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = fmt.Sprintf("/omni_api_shipments_%d_%d", os.Getpid(), time.Now().UnixNano())
	ctx := context.Background()
	pool, err := postgres.Open(ctx, u.String(), 4)
	require.NoError(t, err, "this test needs PostgreSQL at %s", base)
	t.Cleanup(func() {
		pool.Close()
		_ = postgres.DropDatabase(context.Background(), u.String())
	})
	require.NoError(t, postgres.Migrate(ctx, pool))
	return postgres.New(pool)
}

// callbackServer is the API with a carrier callback secret, a database and
// a Temporal that is not there: what is checked before the order's workflow
// is asked.
func callbackServer(t *testing.T, db *postgres.DB, secret string, external bool) *api.Server {
	t.Helper()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	return api.New(api.Options{DB: db, Temporal: tc, Logger: slog.New(slog.DiscardHandler), RequestTimeout: time.Second,
		Auth: auth.New([]auth.Client{
			{Name: "cc", Role: auth.RoleSupport, Key: "shipments-support-key"},
			{Name: "till-1", Role: auth.RoleStore, Key: "shipments-store-key", Stores: []string{"store-001"}},
			{Name: "web", Role: auth.RoleCheckout, Key: "shipments-checkout-key"},
		}, "shipments-token-secret-0123456789", time.Hour),
		Carrier: api.CarrierOptions{External: external, CallbackSecret: config.SigningSecret(secret)}})
}

func send(s *api.Server, req *http.Request) (int, map[string]any, http.Header) {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body, rec.Header()
}

// signedCallback is a tracking callback signed with secret at at.
func signedCallback(t *testing.T, secret, body string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/shipments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sig, err := webhooks.Sign(config.SigningSecret(secret), "msg_1", at, []byte(body))
	require.NoError(t, err)
	req.Header.Set(webhooks.HeaderID, "msg_1")
	req.Header.Set(webhooks.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhooks.HeaderSignature, sig)
	return req
}

// TestShipmentCallbackSignature: the carrier's callback needs no API key but
// a Standard Webhooks signature under carrier.callback_secret, fresh;
// anything else is 401 before the body is looked at. A signed callback is
// read strictly (422 naming the fields) and must name a known shipment.
func TestShipmentCallbackSignature(t *testing.T) {
	const secret = "carrier-callback-secret-for-tests"
	db := shipmentsDB(t)
	s := callbackServer(t, db, secret, false)
	now := time.Now()
	good := `{"shipment_id":"shp_unknown","tracking_number":"OMNI123","status":"delivered","at":"2025-06-02T10:14:00Z"}`

	code, body, _ := send(s, signedCallback(t, secret, good, now))
	require.Equal(t, http.StatusNotFound, code, "signed, so verified; then the shipment is unknown: %v", body)
	require.Equal(t, "urn:omni:problem:shipment_not_found", body["type"])

	// A whsec_ secret works the same way.
	whsec := webhooks.NewSecret()
	code, _, _ = send(callbackServer(t, db, whsec, false), signedCallback(t, whsec, good, now))
	require.Equal(t, http.StatusNotFound, code)

	unsigned := httptest.NewRequest(http.MethodPost, "/v1/callbacks/shipments", strings.NewReader(good))
	unsigned.Header.Set("Content-Type", "application/json")
	unsigned.Header.Set("Authorization", "Bearer shipments-support-key")
	wrongSecret := signedCallback(t, "another-secret-of-some-length", good, now)
	stale := signedCallback(t, secret, good, now.Add(-6*time.Minute))
	tampered := signedCallback(t, secret, good, now)
	tampered.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(good, "delivered", "returned_to_sender", 1))).Body
	tampered.ContentLength = -1
	for name, req := range map[string]*http.Request{"unsigned (an API key is not enough)": unsigned,
		"wrong secret": wrongSecret, "stale timestamp": stale, "tampered body": tampered} {
		code, body, headers := send(s, req)
		require.Equal(t, http.StatusUnauthorized, code, "%s: %v", name, body)
		require.Equal(t, "urn:omni:problem:bad_signature", body["type"], name)
		require.Equal(t, "application/problem+json", headers.Get("Content-Type"), name)
	}

	// No secret configured: every callback is refused.
	code, _, _ = send(callbackServer(t, db, "", false), signedCallback(t, secret, good, now))
	require.Equal(t, http.StatusUnauthorized, code)

	code, body, _ = send(s, signedCallback(t, secret, `{"shipment_id":"","status":"lost","at":"yesterday","tracking_number":"`+
		strings.Repeat("9", 101)+`"}`, now))
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
	require.Equal(t, "urn:omni:problem:validation", body["type"])
	var fields []string
	for _, e := range body["errors"].([]any) {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	require.ElementsMatch(t, []string{"shipment_id", "tracking_number", "status", "at"}, fields)

	code, body, _ = send(s, signedCallback(t, secret, `{"shipment_id":"shp_1","status":"delivered","at":"2025-06-02T10:14:00Z","extra":1}`, now))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, "urn:omni:problem:unknown_field", body["type"])
}

func shipmentEvent(id, key, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/shipments/"+id+"/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req
}

// TestShipmentEvents: the built-in carrier's events route takes store and
// support keys, refuses when an external carrier tracks parcels, and hides
// shipments the caller may not know about.
func TestShipmentEvents(t *testing.T) {
	db := shipmentsDB(t)
	s := callbackServer(t, db, "carrier-callback-secret-for-tests", false)
	ctx := context.Background()
	require.NoError(t, db.RecordShipment(ctx, "ord-missing", "f1", activities.ShipmentLabel{ShipmentID: "shp_a", TrackingNumber: "OMNIA"}))

	code, _, _ := send(s, shipmentEvent("shp_a", "", `{"status":"delivered"}`))
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = send(s, shipmentEvent("shp_a", "shipments-checkout-key", `{"status":"delivered"}`))
	require.Equal(t, http.StatusForbidden, code)

	code, body, _ := send(s, shipmentEvent("shp_a", "shipments-support-key", `{"status":"lost","at":"soon"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
	require.Len(t, body["errors"], 2)

	code, body, _ = send(s, shipmentEvent("shp_nope", "shipments-store-key", `{"status":"delivered"}`))
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "urn:omni:problem:shipment_not_found", body["type"])
	code, body, _ = send(s, shipmentEvent(strings.Repeat("x", 101), "shipments-support-key", `{"status":"delivered"}`))
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "urn:omni:problem:shipment_not_found", body["type"])

	ext := callbackServer(t, db, "carrier-callback-secret-for-tests", true)
	code, body, _ = send(ext, shipmentEvent("shp_a", "shipments-support-key", `{"status":"delivered"}`))
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "urn:omni:problem:carrier_external", body["type"])
}
