package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/app"
)

// The budgets of the API processes these tests start (lookupAPI). The
// integration suite shares one database, so every test here uses client
// addresses, order numbers and contacts no other test uses.
const (
	perAddress = 5 // a minute
	perNumber  = 4 // per lookup window
	perContact = 4 // per lookup window
	// trustedProxy and innerProxy are the reverse proxies those processes
	// trust (every 127/8 address is this machine's own).
	trustedProxy = "127.0.1.100"
	innerProxy   = "127.0.1.101"
)

// lookupAPI starts an API-only Omni on the suite's database and Temporal,
// with small lookup budgets and trustedProxy and innerProxy as its proxies.
func lookupAPI(t *testing.T) string {
	t.Helper()
	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.HTTP.TrustedProxies = []string{trustedProxy, innerProxy + "/32"}
	cfg.Auth.LookupsPerMinute = perAddress
	cfg.Auth.LookupsPerNumber = perNumber
	cfg.Auth.LookupsPerContact = perContact
	cfg.Auth.LookupWindow = time.Minute
	a, err := app.Start(context.Background(), cfg, app.Parts{API: true}, testLogger())
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	return "http://" + a.APIAddr()
}

// lookupFrom sends order lookups to base from the loopback address source.
type lookupFrom struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newLookupFrom(t *testing.T, base, source string) *lookupFrom {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	return &lookupFrom{t: t, base: base, client: &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}}
}

// lookup posts the lookup body; headers are name, value pairs.
func (l *lookupFrom) lookup(body map[string]any, headers ...string) response {
	l.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(l.t, err)
	req, err := http.NewRequest(http.MethodPost, l.base+"/v1/orders/lookup", bytes.NewReader(raw))
	require.NoError(l.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := l.client.Do(req)
	require.NoError(l.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(l.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// requireTooMany checks r is the over-budget answer, with a Retry-After
// within the window.
func requireTooMany(t *testing.T, r response, window time.Duration, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s (body: %s)", fmt.Sprint(msgAndArgs...), r.Body)
	require.Equal(t, "too_many_lookups", problem(t, r, http.StatusTooManyRequests))
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", r.Header.Get("Retry-After"))
	require.True(t, secs >= 1 && secs <= int(window/time.Second), "Retry-After %d s is within the %s window", secs, window)
}

// freshNumber is an order number no order has and no other test looks up.
func freshNumber() string {
	return fmt.Sprintf("9%09d%04d", time.Now().UnixNano()%1_000_000_000, seq.Add(1)%10_000)
}

func freshEmail() string { return unique("guess") + "@example.com" }

func freshPhone() string {
	return fmt.Sprintf("+4477%08d", (time.Now().UnixNano()/1000+seq.Add(1))%100_000_000)
}

// freshSource is a loopback address to connect from that no other test (and
// no other run of this one) uses.
func freshSource() string {
	n := seq.Add(1)
	return fmt.Sprintf("127.%d.%d.%d", 10+(n/62500)%200, (n/250)%250, n%250+1)
}

// freshClient is a client address (as a proxy reports it) no other test uses.
func freshClient() string {
	n := seq.Add(1)
	return fmt.Sprintf("203.0.%d.%d", (n/250)%256, n%250+1)
}

// customerOrder places an order for a customer of its own and returns its number.
func customerOrder(t *testing.T, email, phone string) string {
	c := newAPI(t)
	sku := unique("SKU")
	c.setStock(store, sku, 1)
	body := orderBody("", store, line(sku, 1, 1000))
	body["customer"] = map[string]any{"id": unique("c"), "email": email, "phone": phone, "name": "Grace Hopper"}
	return c.order(c.place(body)).Number
}

// Guessing one order's contact from many addresses runs out of the order
// number's budget: once it is spent, even the right pair is refused, unchecked.
func TestLookupBudgetPerNumber(t *testing.T) {
	t.Parallel()
	base := lookupAPI(t)
	email := freshEmail()
	number := customerOrder(t, email, freshPhone())

	for i := range perNumber {
		l := newLookupFrom(t, base, freshSource())
		r := l.lookup(map[string]any{"number": number, "email": freshEmail()})
		require.Equal(t, "order_not_found", problem(t, r, http.StatusNotFound), "guess %d", i+1)
	}
	fresh := newLookupFrom(t, base, freshSource())
	requireTooMany(t, fresh.lookup(map[string]any{"number": number, "email": email}), time.Minute,
		"the number's budget is spent: the right pair is not even checked")
	requireTooMany(t, fresh.lookup(map[string]any{"number": number, "phone": freshPhone()}), time.Minute)

	// The address and the contact still have budget: another order is found.
	other := freshEmail()
	otherNumber := customerOrder(t, other, freshPhone())
	r := fresh.lookup(map[string]any{"number": otherNumber, "email": other})
	require.Equal(t, http.StatusOK, r.Status, "another number: %s", r.Body)
}

// Guessing numbers for a known email runs out of the email's budget, whatever
// the number and the address.
func TestLookupBudgetPerContact(t *testing.T) {
	t.Parallel()
	base := lookupAPI(t)
	email := freshEmail()
	number := customerOrder(t, email, freshPhone())
	for i := range perContact {
		l := newLookupFrom(t, base, freshSource())
		r := l.lookup(map[string]any{"number": freshNumber(), "email": email})
		require.Equal(t, http.StatusNotFound, r.Status, "guess %d: %s", i+1, r.Body)
	}
	// The same email in another case and with spaces is the same contact.
	l := newLookupFrom(t, base, freshSource())
	requireTooMany(t, l.lookup(map[string]any{"number": number, "email": "  " + strings.ToUpper(email) + " "}), time.Minute)
}

// Two API processes on one database share every budget: a second replica does
// not double it.
func TestLookupBudgetSharedByProcesses(t *testing.T) {
	t.Parallel()
	a, b := lookupAPI(t), lookupAPI(t)
	email := freshEmail()
	number := customerOrder(t, email, freshPhone())
	for i := range perNumber {
		base := []string{a, b}[i%2]
		l := newLookupFrom(t, base, freshSource())
		require.Equal(t, http.StatusNotFound, l.lookup(map[string]any{"number": number, "email": freshEmail()}).Status)
	}
	requireTooMany(t, newLookupFrom(t, b, freshSource()).lookup(map[string]any{"number": number, "email": email}), time.Minute,
		"the number's budget spent across both processes")

	// One address, half of its budget at each process.
	source := freshSource()
	for i := range perAddress {
		base := []string{a, b}[i%2]
		r := newLookupFrom(t, base, source).lookup(map[string]any{"number": freshNumber(), "email": freshEmail()})
		require.Equal(t, http.StatusNotFound, r.Status, "attempt %d: %s", i+1, r.Body)
	}
	requireTooMany(t, newLookupFrom(t, a, source).lookup(map[string]any{"number": freshNumber(), "email": freshEmail()}),
		time.Minute, "the address's budget spent across both processes")
}

// X-Forwarded-For is believed only from a trusted proxy, and then its
// right-most address that is not a trusted proxy is the client's.
func TestLookupClientAddressBehindProxy(t *testing.T) {
	t.Parallel()
	base := lookupAPI(t)
	guess := func() map[string]any { return map[string]any{"number": freshNumber(), "email": freshEmail()} }

	// A client that is no trusted proxy cannot escape its budget by sending
	// the header.
	direct := newLookupFrom(t, base, freshSource())
	for i := range perAddress {
		r := direct.lookup(guess(), "X-Forwarded-For", freshClient())
		require.Equal(t, http.StatusNotFound, r.Status, "attempt %d: %s", i+1, r.Body)
	}
	requireTooMany(t, direct.lookup(guess(), "X-Forwarded-For", freshClient()), time.Minute,
		"X-Forwarded-For from an untrusted peer is ignored")

	// Through the trusted proxy, each client has a budget of its own ...
	proxy := newLookupFrom(t, base, trustedProxy)
	for i := range 3 * perAddress {
		r := proxy.lookup(guess(), "X-Forwarded-For", freshClient())
		require.Equal(t, http.StatusNotFound, r.Status, "client %d behind the proxy: %s", i+1, r.Body)
	}
	// ... which what the client itself put in the header does not escape,
	// and which holds through a chain of trusted proxies.
	client := freshClient()
	for i := range perAddress {
		xff := freshClient() + ", " + client
		if i%2 == 1 {
			xff += ", " + innerProxy
		}
		r := proxy.lookup(guess(), "X-Forwarded-For", xff)
		require.Equal(t, http.StatusNotFound, r.Status, "attempt %d: %s", i+1, r.Body)
	}
	requireTooMany(t, proxy.lookup(guess(), "X-Forwarded-For", "198.51.100.1, "+client), time.Minute,
		"the right-most untrusted address is the client")
	r := proxy.lookup(guess(), "X-Forwarded-For", client+", "+freshClient())
	require.Equal(t, http.StatusNotFound, r.Status, "another client behind the proxy: %s", r.Body)
}

// A wrong contact for a real order answers exactly as an unknown order
// (status, headers, body); the right one matches however the customer types it.
func TestLookupWrongPairReadsAsUnknown(t *testing.T) {
	t.Parallel()
	base := lookupAPI(t)
	l := newLookupFrom(t, base, freshSource())
	email, phone := freshEmail(), freshPhone()
	number := customerOrder(t, email, phone)

	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("Date")
		return h
	}
	wrong := l.lookup(map[string]any{"number": number, "email": freshEmail()})
	unknown := l.lookup(map[string]any{"number": freshNumber(), "email": email})
	require.Equal(t, http.StatusNotFound, wrong.Status)
	require.Equal(t, unknown.Status, wrong.Status)
	require.Equal(t, strip(unknown.Header), strip(wrong.Header))
	require.Equal(t, string(unknown.Body), string(wrong.Body), "a wrong pair reads as an unknown order")
	wrongPhone := l.lookup(map[string]any{"number": number, "phone": freshPhone()})
	require.Equal(t, strip(unknown.Header), strip(wrongPhone.Header))
	require.Equal(t, string(unknown.Body), string(wrongPhone.Body))

	// The email in any case with spaces around it; the phone as people write it.
	l = newLookupFrom(t, base, freshSource())
	r := l.lookup(map[string]any{"number": number, "email": " " + strings.ToUpper(email) + "\t"})
	require.Equal(t, http.StatusOK, r.Status, "email in capitals, with spaces: %s", r.Body)
	spaced := phone[:3] + " " + phone[3:7] + "-" + phone[7:]
	r = l.lookup(map[string]any{"number": number, "phone": spaced})
	require.Equal(t, http.StatusOK, r.Status, "phone %q: %s", spaced, r.Body)
}
