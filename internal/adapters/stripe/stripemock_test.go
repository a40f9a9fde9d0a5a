package stripe_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/adapters/stripe"
)

// startStripeMock builds stripe-mock (a tool of go.mod, from the module
// cache: no download beyond the Go module proxy) and serves it on a free
// port. stripe-mock validates each request against Stripe's OpenAPI spec and
// answers fixtures: it checks shapes, not state.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stripe-mock")
	build := exec.Command("go", "build", "-o", bin, "github.com/stripe/stripe-mock")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building stripe-mock from the module cache: %s", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	cmd := exec.Command(bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("stripe-mock:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStripeMockAcceptsTheRequests: the capture, cancel, metadata update and
// refund requests the adapter sends are valid for Stripe's API.
func TestStripeMockAcceptsTheRequests(t *testing.T) {
	base := startStripeMock(t)

	// The mock does check shapes: a parameter Stripe does not know is refused.
	form := url.Values{"amount_to_capture": {"100"}, "not_a_stripe_param": {"1"}}
	req, err := http.NewRequest(http.MethodPost, base+"/v1/payment_intents/pi_123/capture", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk_test_omni")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	obs := &observer{}
	p := stripe.New("sk_test_omni", base, obs, nil)

	// Capture: POST /v1/payment_intents/{id}/capture amount_to_capture.
	res, err := p.Capture(ctx, "ord-m:capture", "ord-m", 1000, "EUR", "pi_123")
	require.NoError(t, err)
	require.NotEmpty(t, res.PSPReference)

	// Void of everything (the fixture's amount is 1099, nothing captured):
	// GET the PaymentIntent, then POST …/cancel.
	require.NoError(t, p.Void(ctx, "ord-m:void", "ord-m", 1099, "EUR", "pi_123"))
	// A partial void: the note on the PaymentIntent's metadata.
	require.NoError(t, p.Void(ctx, "ord-m:void-part", "ord-m", 99, "EUR", "pi_123"))

	// Refund: POST /v1/refunds payment_intent, amount, metadata.
	res, err = p.Refund(ctx, "ord-m:refund", "ord-m", 500, "EUR", "pi_123")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.PSPReference, "re_"), res.PSPReference)

	// Charge at a counter with a PaymentIntent: a capture.
	_, err = p.Charge(ctx, "ord-m:charge", "ord-m", 300, "EUR", "pi_456")
	require.NoError(t, err)

	calls := obs.all()
	for _, want := range []call{
		{"payments", "capture", "ok"}, {"payments", "read", "ok"}, {"payments", "void", "ok"},
		{"payments", "void_note", "ok"}, {"payments", "refund", "ok"},
	} {
		require.Contains(t, calls, want)
	}
	for _, c := range calls {
		require.Equal(t, "ok", c.outcome, "%+v", c)
	}
}
