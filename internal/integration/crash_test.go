package integration

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
)

// child is an Omni process (the test binary acting as `omni dev`) that the
// test can kill with SIGKILL and start again on the same data.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	env []string
}

func startChild(t *testing.T, env []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.TrimSpace(s.Text()) == "ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "child omni exited before it was ready")
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child omni did not start in 60s")
	}
	return &child{t: t, cmd: cmd, env: env}
}

func (c *child) kill() {
	require.NoError(c.t, c.cmd.Process.Signal(syscall.SIGKILL))
	_ = c.cmd.Wait()
}

// A process killed with SIGKILL in the middle of orders loses none of them:
// after a restart on the same data every order, reservation and pickup code
// is where it was, and the flows go on to the end.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	crashDB := withDatabase(dbURL, "omni_crash_"+strings.ReplaceAll(unique("x"), "-", "_"))
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), crashDB) })
	httpAddr := freeAddr(t)
	env := []string{
		childEnv + "=1",
		"OMNI_DATABASE_URL=" + crashDB,
		"OMNI_DATA_DIR=" + t.TempDir(),
		"OMNI_HTTP_ADDR=" + httpAddr,
		"OMNI_TEMPORAL_EMBEDDED_ADDR=" + freeAddr(t),
	}
	proc := startChild(t, env)
	c := &api{t: t, base: "http://" + httpAddr}
	sku := unique("SKU")
	c.setStock(store, sku, 100)

	// One order ready for collection, one awaiting pick, then a burst of new
	// orders with the kill landing among them.
	ready := c.place(orderBody("", store, line(sku, 2, 1000)))
	c.waitStatus(ready, "awaiting_pick")
	r := c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+ready+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 2}}})
	require.Equal(t, http.StatusOK, r.Status, "pick: %s", r.Body)
	code := c.order(ready).Pickup.Code
	waiting := c.place(orderBody("", store, line(sku, 1, 1000)))
	c.waitStatus(waiting, "awaiting_pick")
	var burst []string
	for range 10 {
		burst = append(burst, c.place(orderBody("", store, line(sku, 1, 1000))))
	}
	proc.kill()

	proc = startChild(t, env)
	defer proc.kill()
	o := c.order(ready)
	require.Equal(t, "ready_for_collection", o.Status)
	require.Equal(t, code, o.Pickup.Code, "the pickup code survives the restart")
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+ready+"/collect", map[string]any{"pickup_code": code})
	require.Equal(t, http.StatusOK, r.Status, "collect after restart: %s", r.Body)
	require.Equal(t, "collected", c.order(ready).Status)

	for _, id := range append(burst, waiting) {
		c.waitStatus(id, "awaiting_pick")
	}
	r = c.do(http.MethodPost, "/v1/stores/"+store+"/orders/"+waiting+"/pick", map[string]any{"lines": []any{map[string]any{"sku": sku, "quantity": 1}}})
	require.Equal(t, http.StatusOK, r.Status, "pick after restart: %s", r.Body)
	require.Equal(t, stock{OnHand: 98, Reserved: 11, Available: 87}, c.stock(store, sku),
		"every order holds its stock exactly once")
}
