// Package bench is Omni's load generator: it pushes orders through the whole
// click & collect flow (or, with -flow split, a home delivery split into two
// shipments from two stores) of a running Omni over HTTP, as the checkout, the
// stores, the carrier and the customer would, and reports throughput, latency
// per step and, when told the server's pid, its CPU per order and memory.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Main runs the load generator with command-line args.
func Main(args []string) error {
	if isCustomerMode(args) { // -seed-orders/-seed-customers/-customer-reads: seed.go
		return customerMain(args)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "Omni API base URL")
	n := fs.Int("orders", 1000, "orders to push through the whole flow")
	c := fs.Int("concurrency", 24, "concurrent clients for the flow")
	rate := fs.Int("place-rate", 20, "orders per second for the paced placement phase (0 skips it)")
	placeFor := fs.Duration("place-duration", 15*time.Second, "length of the paced placement phase")
	readers := fs.Int("readers", 32, "concurrent clients for the GET phase (0 skips it)")
	readFor := fs.Duration("read-duration", 15*time.Second, "length of the GET phase")
	pid := fs.Int("pid", 0, "pid of the omni process, to report its CPU and memory")
	stockURL := fs.String("stock-url", "", "the reference server (omni reference) Omni's inventory.url points at: seed stock through its "+
		"PUT /admin/stock/{location}/{sku} instead of Omni's PUT /v1/stores/{id}/stock/{sku} (which answers 409 stock_external then)")
	stockToken := fs.String("stock-token", "", "bearer token of -stock-url (its -token)")
	refPID := fs.Int("reference-pid", 0, "pid of the reference server behind Omni's adapters, to report its CPU per order apart from omni's")
	store := fs.String("store", "store-001", "store to order from")
	flowName := fs.String("flow", flowCollect, "the order's way to the customer: collect (one store, place → pick → collect) "+
		"or split (home delivery from two stores: place → pick and ship at each → both parcels delivered)")
	store2 := fs.String("store2", "store-002", "split flow: the second store shipping (the first is -store); both must ship_from_store")
	temporalAddr := fs.String("temporal", "", "Temporal frontend host:port, to count one complete order's history events (empty skips)")
	namespace := fs.String("namespace", "default", "Temporal namespace of the orders, with -temporal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *flowName != flowCollect && *flowName != flowSplit {
		return fmt.Errorf("-flow %q: want %s or %s", *flowName, flowCollect, flowSplit)
	}
	if *flowName == flowSplit && *store2 == *store {
		return errors.New("-flow split needs two different stores (-store, -store2)")
	}
	if *stockURL != "" && *stockToken == "" {
		return errors.New("-stock-url needs -stock-token (the reference server's -token)")
	}
	b := &bench{base: strings.TrimRight(*base, "/"), store: *store, store2: *store2, flowName: *flowName, pid: *pid,
		stockURL: strings.TrimRight(*stockURL, "/"), stockToken: *stockToken, refPID: *refPID,
		temporalAddr: *temporalAddr, namespace: *namespace,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		}}}
	run := time.Now().UnixNano()
	b.runID = strconv.FormatInt(run, 36)
	if err := b.stock(*n + *rate*int(placeFor.Seconds()) + 10); err != nil {
		return err
	}
	if err := b.flow(*n, *c); err != nil {
		return err
	}
	if *rate > 0 {
		if err := b.paced(*rate, *placeFor); err != nil {
			return err
		}
	}
	if *readers > 0 {
		if err := b.reads(*readers, *readFor); err != nil {
			return err
		}
	}
	return nil
}

type bench struct {
	base, store, runID      string
	store2, flowName        string
	temporalAddr, namespace string
	pid                     int
	stockURL, stockToken    string // the reference server holding the stock, if Omni's inventory is external
	refPID                  int    // the reference server's pid, if any
	http                    *http.Client
	ids                     []string
	seq                     atomic.Int64
	lastComplete            atomic.Value // string: id of an order that went the whole way
}

const (
	flowCollect = "collect"
	flowSplit   = "split"
)

var skus = []string{"BENCH-TEE", "BENCH-MUG", "BENCH-CAP"}

func (b *bench) stock(perSKU int) error {
	for _, s := range skus {
		if err := b.setStock(b.store, s, perSKU*2+1000); err != nil {
			return fmt.Errorf("stock %s: %w", s, err)
		}
	}
	if b.flowName == flowSplit {
		return b.splitStock(perSKU)
	}
	return nil
}

// setStock sets a store's stock of a SKU: in Omni's built-in ledger, or in
// the reference server's when Omni's inventory is external (-stock-url).
func (b *bench) setStock(store, sku string, onHand int) error {
	body := fmt.Sprintf(`{"on_hand": %d}`, onHand)
	if b.stockURL == "" {
		_, err := b.do(http.MethodPut, "/v1/stores/"+store+"/stock/"+sku, nil, body, 200)
		return err
	}
	req, err := http.NewRequest(http.MethodPut, b.stockURL+"/admin/stock/"+store+"/"+sku, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.stockToken)
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s/admin/stock/%s/%s: %d %s", b.stockURL, store, sku, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return nil
}

// sample collects durations of one step.
type sample struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sample) add(d time.Duration) { s.mu.Lock(); s.d = append(s.d, d); s.mu.Unlock() }

func (s *sample) pct(p float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	slices.Sort(s.d)
	i := int(float64(len(s.d)-1) * p)
	return s.d[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (b *bench) placeBody() (string, string) {
	if b.flowName == flowSplit {
		return b.splitPlaceBody()
	}
	i := b.seq.Add(1)
	key := fmt.Sprintf("bench-%s-%d", b.runID, i)
	return key, fmt.Sprintf(`{"channel":"web","customer":{"id":"c-%d","email":"shopper%d@example.com","name":"Bench Shopper"},
"currency":"GBP","fulfilment":{"type":"collect","store_id":"%s"},
"lines":[{"sku":"BENCH-TEE","quantity":1,"unit_price":1999},{"sku":"BENCH-MUG","quantity":2,"unit_price":850}],
"payment":{"method":"card","reference":"psp-%s-%d","amount":3699}}`, i, i, b.store, b.runID, i)
}

type orderView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Pickup struct {
		Code string `json:"code"`
	} `json:"pickup"`
}

// step is one measured step of a flow, as the report names it.
type step struct {
	name string
	s    *sample
}

// flow pushes n orders through the chosen flow with c clients.
func (b *bench) flow(n, c int) error {
	if b.flowName == flowSplit {
		return b.splitFlow(n, c)
	}
	return b.collectFlow(n, c)
}

// collectFlow pushes n orders through place → (reserved) → pick → collect with c clients.
func (b *bench) collectFlow(n, c int) error {
	var place, waitReserve, pick, collect, whole sample
	title := fmt.Sprintf("click & collect flow: %d orders, %d concurrent clients", n, c)
	return b.run(title, n, c, []step{{"POST /v1/orders", &place}, {"until awaiting_pick", &waitReserve},
		{"POST pick", &pick}, {"POST collect", &collect}, {"whole order", &whole}},
		func() error { return b.oneOrder(&place, &waitReserve, &pick, &collect, &whole) })
}

// run pushes n orders through one with c clients and reports throughput, the
// steps' p50/p99 and, when it can, CPU and memory per complete order and the
// history of one of them.
func (b *bench) run(title string, n, c int, steps []step, one func() error) error {
	var next atomic.Int64
	var failed atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	cpu0, ref0, sys0 := b.cpu(), procCPU(b.refPID), systemCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := one(); err != nil {
					failed.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, ref1, sys1 := b.cpu(), procCPU(b.refPID), systemCPU()
	done := int64(n) - failed.Load()
	fmt.Printf("== %s, %s\n", title, elapsed.Round(time.Millisecond))
	fmt.Printf("complete orders/s     %.1f   (%d complete, %d failed)\n", float64(done)/elapsed.Seconds(), done, failed.Load())
	if firstErr != nil {
		fmt.Printf("first failure         %v\n", firstErr)
	}
	fmt.Printf("%-22s %10s %10s\n", "step", "p50", "p99")
	for _, s := range steps {
		fmt.Printf("%-22s %10s %10s\n", s.name, ms(s.s.pct(0.5)), ms(s.s.pct(0.99)))
	}
	if done > 0 {
		if b.pid > 0 {
			fmt.Printf("omni CPU per order    %s\n", ms((cpu1-cpu0)/time.Duration(done)))
			fmt.Printf("omni RSS              %s\n", b.rss())
		}
		if b.refPID > 0 {
			fmt.Printf("reference CPU/order   %s   (the reference server behind the adapters, pid %d; its PostgreSQL is in the machine figure)\n",
				ms((ref1-ref0)/time.Duration(done)), b.refPID)
		}
		fmt.Printf("machine CPU per order %s   (all processes: omni, PostgreSQL, this load generator, any reference server)\n",
			ms((sys1-sys0)/time.Duration(done)))
	}
	if id, ok := b.lastComplete.Load().(string); ok && b.temporalAddr != "" {
		b.reportHistory(id)
	}
	return nil
}

// placeUntilPickable places the order body under key and, as a store screen
// refreshing would, looks at it every 25 ms (every look costs CPU on this same
// machine, so it does not spin) until it is awaiting pick: stock reserved,
// pick tasks open. It times both in place and waitReserve and decodes the
// order as last read into out.
func (b *bench) placeUntilPickable(key, body string, place, waitReserve *sample, out any) error {
	t0 := time.Now()
	raw, err := b.do(http.MethodPost, "/v1/orders", map[string]string{"Idempotency-Key": key}, body, 201)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	place.add(time.Since(t0))
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	t1 := time.Now()
	for o.Status == "placed" {
		time.Sleep(25 * time.Millisecond)
		if raw, err = b.do(http.MethodGet, "/v1/orders/"+o.ID, nil, "", 200); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		if time.Since(t1) > 30*time.Second {
			return errors.New("order never left placed")
		}
	}
	if o.Status != "awaiting_pick" {
		return fmt.Errorf("order %s is %s, want awaiting_pick", o.ID, o.Status)
	}
	waitReserve.add(time.Since(t1))
	return json.Unmarshal(raw, out)
}

func (b *bench) oneOrder(place, waitReserve, pick, collect, whole *sample) error {
	t0 := time.Now()
	key, body := b.placeBody()
	var o orderView
	if err := b.placeUntilPickable(key, body, place, waitReserve, &o); err != nil {
		return err
	}
	t2 := time.Now()
	// Store actions carry an Idempotency-Key per action, as a POS sends them.
	if _, err := b.do(http.MethodPost, "/v1/stores/"+b.store+"/orders/"+o.ID+"/pick", map[string]string{"Idempotency-Key": "pick-" + o.ID},
		`{"lines":[{"sku":"BENCH-TEE","quantity":1},{"sku":"BENCH-MUG","quantity":2}]}`, 200); err != nil {
		return fmt.Errorf("pick: %w", err)
	}
	pick.add(time.Since(t2))
	raw, err := b.do(http.MethodGet, "/v1/orders/"+o.ID, nil, "", 200)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	t3 := time.Now()
	if _, err := b.do(http.MethodPost, "/v1/stores/"+b.store+"/orders/"+o.ID+"/collect", map[string]string{"Idempotency-Key": "collect-" + o.ID},
		fmt.Sprintf(`{"pickup_code":%q,"collected_by":{"name":"Bench Shopper","relation":"customer"}}`, o.Pickup.Code), 200); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	collect.add(time.Since(t3))
	whole.add(time.Since(t0))
	b.lastComplete.Store(o.ID)
	return nil
}

// paced places orders at a fixed rate (an open loop: a slow answer does not
// slow the next request) and reports the placement latency.
func (b *bench) paced(rate int, d time.Duration) error {
	var place sample
	var failed atomic.Int64
	var ids sync.Map
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	sent := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, body := b.placeBody()
			t := time.Now()
			raw, err := b.do(http.MethodPost, "/v1/orders", map[string]string{"Idempotency-Key": key}, body, 201)
			if err != nil {
				failed.Add(1)
				return
			}
			place.add(time.Since(t))
			var o orderView
			if json.Unmarshal(raw, &o) == nil {
				ids.Store(o.ID, true)
			}
		}()
	}
	wg.Wait()
	ids.Range(func(k, _ any) bool { b.ids = append(b.ids, k.(string)); return true })
	fmt.Printf("== POST /v1/orders at %d orders/s for %s: %d sent, %d failed\n", rate, d, sent, failed.Load())
	fmt.Printf("%-22s %10s %10s\n", "POST /v1/orders", ms(place.pct(0.5)), ms(place.pct(0.99)))
	return nil
}

// reads hammers GET /v1/orders/{id} over the orders placed so far.
func (b *bench) reads(c int, d time.Duration) error {
	if len(b.ids) == 0 {
		key, body := b.placeBody()
		raw, err := b.do(http.MethodPost, "/v1/orders", map[string]string{"Idempotency-Key": key}, body, 201)
		if err != nil {
			return err
		}
		var o orderView
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		b.ids = []string{o.ID}
	}
	var lat sample
	var count, failed atomic.Int64
	cpu0, ref0, sys0 := b.cpu(), procCPU(b.refPID), systemCPU()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for i := w; time.Now().Before(deadline); i++ {
				t := time.Now()
				if _, err := b.do(http.MethodGet, "/v1/orders/"+b.ids[i%len(b.ids)], nil, "", 200); err != nil {
					failed.Add(1)
					continue
				}
				local = append(local, time.Since(t))
				count.Add(1)
			}
			lat.mu.Lock()
			lat.d = append(lat.d, local...)
			lat.mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("== GET /v1/orders/{id}, %d concurrent clients for %s\n", c, d)
	fmt.Printf("requests/s            %.0f   (%d failed)\n", float64(count.Load())/d.Seconds(), failed.Load())
	fmt.Printf("%-22s %10s %10s\n", "GET /v1/orders/{id}", ms(lat.pct(0.5)), ms(lat.pct(0.99)))
	if n := count.Load(); n > 0 {
		cpu1, ref1, sys1 := b.cpu(), procCPU(b.refPID), systemCPU()
		if b.pid > 0 {
			fmt.Printf("omni CPU per request  %.0f µs\n", float64((cpu1-cpu0).Microseconds())/float64(n))
		}
		if b.refPID > 0 {
			fmt.Printf("reference CPU/req.    %.0f µs\n", float64((ref1-ref0).Microseconds())/float64(n))
		}
		fmt.Printf("machine CPU per req.  %.0f µs   (omni, PostgreSQL and this load generator)\n",
			float64((sys1-sys0).Microseconds())/float64(n))
	}
	if b.pid > 0 {
		fmt.Printf("omni RSS              %s\n", b.rss())
	}
	return nil
}

// devCredential is the development key of omni.yaml (the bench drives `omni
// dev`) for a request: the admin feeds stock, each store's staff pick, ship
// and hand over with their store's key (dev-<store>-key), support reports the
// built-in carrier's tracking, the checkout places and reads orders.
func devCredential(method, path string) string {
	switch {
	case strings.Contains(path, "/stock/") && method == http.MethodPut:
		return "dev-admin-key"
	case strings.HasPrefix(path, "/v1/stores/"):
		store, _, _ := strings.Cut(strings.TrimPrefix(path, "/v1/stores/"), "/")
		return "dev-" + store + "-key"
	case strings.HasPrefix(path, "/v1/shipments/"):
		return "dev-support-key"
	}
	return "dev-checkout-key"
}

func (b *bench) do(method, path string, headers map[string]string, body string, want int) ([]byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", "Bearer "+devCredential(method, path))
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(buf.String()))
	}
	return buf.Bytes(), nil
}

// cpu is the omni process's user+system CPU time so far.
func (b *bench) cpu() time.Duration { return procCPU(b.pid) }

// procCPU is a process's user+system CPU time so far (0 for pid 0).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
}

func (b *bench) rss() string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.pid))
	if err != nil {
		return "unknown"
	}
	var out []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

// systemCPU is the machine's busy CPU time so far (all cores, all processes).
func systemCPU() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := strings.SplitN(string(raw), "\n", 2)[0]
	f := strings.Fields(line)[1:]
	var busy int64
	for i, v := range f {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest (already in user)
			continue
		}
		busy += n
	}
	return time.Duration(busy) * (time.Second / 100)
}
