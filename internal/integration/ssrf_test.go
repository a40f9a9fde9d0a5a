package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
	omniapi "github.com/omni-retail/omni/internal/api"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/internal/webhooks"
)

// guardedOmni starts another Omni on the tests' Temporal with the default
// webhooks.allow_private_networks (false), its own task queue and its own
// database, so that its webhook dispatcher (if it runs one) never takes the
// deliveries of the other tests, whose receivers are on loopback. It is
// stopped and its database dropped when the test ends.
func guardedOmni(t *testing.T, parts app.Parts) (*app.App, *config.Config) {
	t.Helper()
	defaults, err := config.Load("")
	require.NoError(t, err)
	require.False(t, defaults.Webhooks.AllowPrivateNetworks, "the default refuses private networks")

	n := seq.Add(1)
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Database.URL = withDatabase(dbURL, fmt.Sprintf("omni_it_ssrf_%d_%d", os.Getpid(), n))
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = fmt.Sprintf("omni-it-ssrf-%d", n)
	cfg.Webhooks.AllowPrivateNetworks = defaults.Webhooks.AllowPrivateNetworks
	a, err := app.Start(context.Background(), cfg, parts, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() {
		a.Stop()
		require.NoError(t, postgres.DropDatabase(context.Background(), cfg.Database.URL))
	})
	return a, cfg
}

// countingListener is a TCP port on loopback that counts the connections
// that reach it.
func countingListener(t *testing.T) (port int, conns *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	conns = &atomic.Int32{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, conns
}

// TestSSRFSubscriptionRefused: with private networks not allowed (the
// default of omni serve), a subscription to loopback, the cloud metadata
// service, a private address or a name that resolves to one is refused with
// 422 url_not_allowed naming the url field, and nothing is stored.
func TestSSRFSubscriptionRefused(t *testing.T) {
	t.Parallel()
	a, _ := guardedOmni(t, app.Parts{API: true})
	c := &api{t: t, base: "http://" + a.APIAddr()}
	port, conns := countingListener(t)
	p := strconv.Itoa(port)

	for _, u := range []string{
		"http://127.0.0.1:" + p + "/hook",
		"http://localhost:" + p + "/hook",
		"http://169.254.169.254/latest/meta-data",
		"http://[::1]:" + p + "/hook",
		"http://10.0.0.1/",
		"https://192.168.1.1/hook",
		"http://100.64.0.1/",
		"http://0.0.0.0:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/hook",
		"http://[fe80::1%25lo]:" + p + "/",
		"http://2130706433:" + p + "/",
		"http://0x7f.1:" + p + "/",
		"http://127.1:" + p + "/",
	} {
		r := c.do(http.MethodPost, "/v1/admin/webhooks", map[string]any{"url": u})
		require.Equal(t, "url_not_allowed", problem(t, r, http.StatusUnprocessableEntity), "%s: %s", u, r.Body)
		var body struct {
			Detail string `json:"detail"`
			Errors []struct {
				Field  string `json:"field"`
				Detail string `json:"detail"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		require.Len(t, body.Errors, 1, "%s: %s", u, r.Body)
		require.Equal(t, "url", body.Errors[0].Field)
		require.NotEmpty(t, body.Errors[0].Detail, "%s: the answer says why", u)
		require.NotContains(t, body.Detail, "127.0.0.1", "%s: the answer names no resolved address", u)
	}
	list := c.do(http.MethodGet, "/v1/admin/webhooks", nil)
	require.Equal(t, http.StatusOK, list.Status, "%s", list.Body)
	require.JSONEq(t, `{"webhooks": []}`, string(list.Body), "nothing was stored")
	require.Zero(t, conns.Load(), "the check connects to nothing")

	// A public address is taken (this Omni delivers nothing: it runs no worker).
	r := c.do(http.MethodPost, "/v1/admin/webhooks", map[string]any{"url": "https://93.184.216.34/omni/events"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}

// rebindingResolver is the DNS answer a subscription's host had when it was
// checked: public. By delivery it resolves as the system says.
type rebindingResolver map[string]string

func (r rebindingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestSSRFDeliveryRebound: a subscription whose host passed the check (its
// name resolved to a public address then) but resolves to loopback at
// delivery, and one stored before URLs were checked, are never connected to:
// each attempt is recorded with the neutral "address not allowed" and no
// connection reaches the listener behind them.
func TestSSRFDeliveryRebound(t *testing.T) {
	t.Parallel()
	// A worker process as `omni worker` runs it (the default: private networks
	// refused), with the API as `omni serve` builds it but with a resolver that
	// answers as DNS did before the rebinding.
	a, cfg := guardedOmni(t, app.Parts{Worker: true})
	srv := httptest.NewServer(omniapi.New(omniapi.Options{
		DB: a.DB(), Temporal: a.Client(), TaskQueue: cfg.Temporal.TaskQueue, Policy: app.PolicyOf(cfg),
		ReassignOrder: cfg.ReassignOrder, RequestTimeout: cfg.HTTP.RequestTimeout, Logger: testLogger(), Auth: app.AuthOf(cfg),
		AllowPrivateNetworks: cfg.Webhooks.AllowPrivateNetworks,
		Resolver:             rebindingResolver{"localhost": "93.184.216.34"},
	}).Handler())
	t.Cleanup(srv.Close)
	c := &api{t: t, base: srv.URL}
	port, conns := countingListener(t)

	rebound := c.subscribe("http://localhost:"+strconv.Itoa(port)+"/hook", nil)
	// Stored before subscriptions were checked, straight into the table.
	old, err := a.DB().CreateWebhook(context.Background(), webhooks.NewSubscriptionID(),
		"http://127.0.0.1:"+strconv.Itoa(port)+"/old", webhooks.NewSecret(), nil)
	require.NoError(t, err)

	sku := unique("SKU")
	c.setStock(store, sku, 3)
	id := c.place(orderBody(unique("ssrf"), store, line(sku, 1, 500)))
	c.waitStatus(id, "awaiting_pick")

	for _, sub := range []string{rebound.ID, old.ID} {
		var ds []deliveryView
		require.Eventually(t, func() bool {
			ds = c.deliveries(sub, "?order_id="+id)
			if len(ds) == 0 {
				return false
			}
			for _, d := range ds {
				// A claim counts the attempt before its outcome is recorded.
				if d.Attempts == 0 || d.LastError == nil {
					return false
				}
			}
			return true
		}, 30*time.Second, 100*time.Millisecond, "every event of the order is attempted, and the attempt recorded, for %s", sub)
		for _, d := range ds {
			require.Equal(t, "pending", d.Status, "%s %s: retried, never delivered", sub, d.EventID)
			require.Nil(t, d.LastStatus, "%s %s: no receiver answered", sub, d.EventID)
			require.Equal(t, "address not allowed", *d.LastError, "%s %s: the error says nothing of the target", sub, d.EventID)
		}
	}
	require.Zero(t, conns.Load(), "no delivery connected to the listener")
}
