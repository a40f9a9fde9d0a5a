package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/postgres"
)

// TestReadyzTellsAnonymousCallersOnlyUpOrDown points the API at a PostgreSQL
// and a Temporal that are not there: a probe learns "down" and nothing of the
// database's user, host or name; the admin and support keys get the causes.
func TestReadyzTellsAnonymousCallersOnlyUpOrDown(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://omni_secret_user@127.0.0.1:1/omni_secret_db?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	s := api.New(api.Options{DB: postgres.New(pool), Temporal: tc, Logger: slog.New(slog.DiscardHandler),
		Auth: auth.New([]auth.Client{
			{Name: "ops", Role: auth.RoleAdmin, Key: "readyz-admin-key"},
			{Name: "cc", Role: auth.RoleSupport, Key: "readyz-support-key"},
			{Name: "web", Role: auth.RoleCheckout, Key: "readyz-checkout-key"},
		}, "readyz-token-secret-0123456789", time.Hour)})

	get := func(credential string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
		if credential != "" {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	for _, cred := range []string{"", "readyz-checkout-key", "not-a-key-at-all"} {
		code, body := get(cred)
		require.Equal(t, http.StatusServiceUnavailable, code, "credential %q: %s", cred, body)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Equal(t, map[string]any{"status": "down"}, got, "credential %q: only up or down", cred)
	}
	for _, cred := range []string{"readyz-admin-key", "readyz-support-key"} {
		code, body := get(cred)
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, `"status":"down"`)
		require.Contains(t, body, "omni_secret_user", "%s sees the cause: %s", cred, body)
	}
}

// nopLogger keeps the lazy Temporal client quiet.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
