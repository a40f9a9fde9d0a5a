package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.HTTP.Addr)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/omni?sslmode=disable", c.Database.URL)
	require.Equal(t, ".omni", c.Data.Dir)
	require.Empty(t, c.Temporal.Address, "omni dev runs its own Temporal")
	require.Equal(t, "default", c.Temporal.Namespace)
	require.Equal(t, "127.0.0.1:8233", c.Temporal.UIAddr)
	require.Equal(t, 120*time.Hour, c.Pickup.Hold)
	require.Equal(t, 72*time.Hour, c.Pickup.Reminder)
	require.Equal(t, 4*time.Hour, c.Pick.Deadline)
	require.Equal(t, 720*time.Hour, c.Returns.Window)
	require.NotEmpty(t, c.Stores)
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Setenv("OMNI_HTTP_ADDR", "0.0.0.0:9000")
	t.Setenv("OMNI_DATABASE_URL", "postgres://omni@db:5432/orders")
	t.Setenv("OMNI_DATA_DIR", "/var/lib/omni")
	t.Setenv("OMNI_TEMPORAL_ADDRESS", "temporal:7233")
	t.Setenv("OMNI_TEMPORAL_NAMESPACE", "retail")
	t.Setenv("OMNI_TEMPORAL_UI_ADDR", "") // empty turns the UI off
	t.Setenv("OMNI_PICKUP_HOLD", "30s")
	t.Setenv("OMNI_PICKUP_REMINDER", "10s")
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.HTTP.Addr)
	require.Equal(t, "postgres://omni@db:5432/orders", c.Database.URL)
	require.Equal(t, "/var/lib/omni", c.Data.Dir)
	require.Equal(t, "temporal:7233", c.Temporal.Address)
	require.Equal(t, "retail", c.Temporal.Namespace)
	require.Empty(t, c.Temporal.UIAddr)
	require.Equal(t, 30*time.Second, c.Pickup.Hold)
	require.Equal(t, 10*time.Second, c.Pickup.Reminder)
}

func TestFileOverridesDefaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "omni.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`pick:
  deadline: 90m
stores:
  - id: s-9
    name: Nine
auth:
  token_secret: a-production-secret-of-some-length
  clients:
    - {name: till-9, role: store, key: k-9-0123456789, stores: [s-9]}
carrier:
  callback_secret: a-production-carrier-callback-secret
payments:
  callback_secret: a-production-payments-callback-secret
`), 0o600))
	c, err := config.Load(file)
	require.NoError(t, err)
	require.Empty(t, c.DevCredentials())
	require.Equal(t, 90*time.Minute, c.Pick.Deadline)
	require.Equal(t, []config.Store{{ID: "s-9", Name: "Nine"}}, c.Stores)
	require.Equal(t, "127.0.0.1:8080", c.HTTP.Addr, "keys the file does not name keep their defaults")
}

func TestInvalidValuesNameTheKey(t *testing.T) {
	tests := []struct {
		env, value, want string
	}{
		{"OMNI_PICKUP_HOLD", "-1s", "pickup.hold (OMNI_PICKUP_HOLD)"},
		{"OMNI_HTTP_ADDR", "nonsense", "http.addr (OMNI_HTTP_ADDR)"},
		{"OMNI_DATABASE_URL", "mysql://x/y", "database.url (OMNI_DATABASE_URL)"},
		{"OMNI_TEMPORAL_ADDRESS", "no-port", "temporal.address (OMNI_TEMPORAL_ADDRESS)"},
		{"OMNI_PICKUP_REMINDER", "200h", "pickup.reminder (OMNI_PICKUP_REMINDER)"},
		{"OMNI_LOG_LEVEL", "loud", "log.level (OMNI_LOG_LEVEL)"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := config.Load("")
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestReassignOrder(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	// London → Manchester (≈ 262 km) before Leeds (≈ 272 km); Leeds → Manchester (≈ 58 km) before London.
	require.Equal(t, []string{"store-002", "store-003"}, c.ReassignOrder("store-001"))
	require.Equal(t, []string{"store-002", "store-001"}, c.ReassignOrder("store-003"))

	t.Setenv("OMNI_REASSIGN_ORDER", "list")
	c, err = config.Load("")
	require.NoError(t, err)
	require.Equal(t, []string{"store-001", "store-002"}, c.ReassignOrder("store-003"), "the order of the stores list")

	t.Setenv("OMNI_REASSIGN_ORDER", "nearest")
	_, err = config.Load("")
	require.ErrorContains(t, err, "reassign.order (OMNI_REASSIGN_ORDER)")
	t.Setenv("OMNI_REASSIGN_ORDER", "distance")
	t.Setenv("OMNI_PICK_ESCALATION", "1h")
	_, err = config.Load("")
	require.ErrorContains(t, err, "pick.escalation (OMNI_PICK_ESCALATION): must come after pick.deadline")
}
