package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Development credentials of `omni dev` (README "Roles and access").
const (
	checkoutKey = "dev-checkout-key"
	supportKey  = "dev-support-key"
	adminKey    = "dev-admin-key"
)

// storeKey is the staff key of a store.
func storeKey(store string) string { return "dev-" + store + "-key" }

// api talks to Omni over HTTP as the checkout, the stores, support and the
// admin. A request that gets no definite answer — a connection error while
// Omni is down, a 5xx, a 429, a 409 request_in_progress — is sent again with
// the same Idempotency-Key until it gets one or its time is up: exactly the
// guarantee under test.
type api struct {
	base   string
	http   *http.Client
	budget time.Duration // how long one action keeps retrying

	// requests sent, retries of them, and definite answers that were a
	// stored first answer served again (Idempotent-Replayed).
	requests, retries, replayed atomic.Int64
	// inFlight counts POSTs sent and not yet answered: the schedule aims
	// its kills at moments when some are.
	inFlight atomic.Int64
}

func newAPI(base string, budget time.Duration) *api {
	return &api{base: base, budget: budget, http: &http.Client{Timeout: 20 * time.Second}}
}

// answer is a definite answer of Omni.
type answer struct {
	Status   int
	Body     []byte
	Problem  string // the problem type's last part, for 4xx
	Replayed bool
	Attempts int
}

// errIndefinite is an action that got no definite answer in its time.
var errIndefinite = errors.New("no definite answer")

// do sends one action and retries it (same key, same body) until Omni answers
// it definitely. ctx bounds it too.
func (c *api) do(ctx context.Context, method, path, bearer, key string, body any) (answer, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return answer{}, err
		}
	}
	deadline := time.Now().Add(c.budget)
	wait := 200 * time.Millisecond
	var last string
	for attempt := 1; ; attempt++ {
		c.requests.Add(1)
		a, err := c.once(ctx, method, path, bearer, key, raw)
		a.Attempts = attempt
		switch {
		case err != nil:
			last = err.Error()
		case a.Status >= 500 || a.Status == http.StatusTooManyRequests ||
			(a.Status == http.StatusConflict && a.Problem == "request_in_progress"):
			last = fmt.Sprintf("%d %s", a.Status, truncate(string(a.Body), 200))
		default:
			if a.Replayed {
				c.replayed.Add(1)
			}
			return a, nil
		}
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return answer{}, fmt.Errorf("%w: %s %s after %d attempts, last: %s", errIndefinite, method, path, attempt, last)
		}
		c.retries.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (c *api) once(ctx context.Context, method, path, bearer, key string, raw []byte) (answer, error) {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if method == http.MethodPost {
		c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{Status: resp.StatusCode, Body: b, Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if resp.StatusCode >= 400 {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &p)
		a.Problem = p.Type[strings.LastIndex(p.Type, ":")+1:]
	}
	return a, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
