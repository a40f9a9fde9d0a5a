package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/netguard"
)

func TestReason(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		// Public addresses are allowed.
		{"93.184.216.34", ""},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},  // just past 172.16.0.0/12
		{"100.128.0.1", ""}, // just past 100.64.0.0/10
		{"169.253.255.255", ""},
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4009:81f::200e", ""},
		{"64:ff9b::5db8:d822", ""}, // NAT64 of 93.184.216.34
		{"2002:5db8:d822::1", ""},  // 6to4 of 93.184.216.34

		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"}, // IPv4-mapped
		{"::ffff:7f00:1", "loopback"},
		{"64:ff9b::7f00:1", "loopback"},   // NAT64 of 127.0.0.1
		{"2002:7f00:1::1", "loopback"},    // 6to4 of 127.0.0.1
		{"::ffff:0:7f00:1", "loopback"},   // IPv4-translated (SIIT)
		{"10.0.0.1", "private"},           // RFC 1918
		{"10.255.255.255", "private"},     //
		{"172.16.0.1", "private"},         //
		{"172.31.255.255", "private"},     //
		{"192.168.1.1", "private"},        //
		{"::ffff:10.1.2.3", "private"},    //
		{"::ffff:192.168.0.1", "private"}, //
		{"fc00::1", "private"},            // unique local
		{"fd12:3456:789a::1", "private"},  //
		{"64:ff9b::a00:1", "private"},     // NAT64 of 10.0.0.1
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"169.254.0.1", "link-local"},     //
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf::1", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"0.1.2.3", "reserved"},         // "this network": 0.0.0.0/8
		{"255.255.255.255", "reserved"}, // broadcast
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "reserved"},   // documentation
		{"198.18.0.1", "reserved"},  // benchmarking
		{"192.0.0.8", "reserved"},   // IETF protocol assignments
		{"::7f00:1", "reserved"},    // IPv4-compatible (deprecated)
		{"100::1", "reserved"},      // discard-only
		{"2001:db8::1", "reserved"}, // documentation
		{"fec0::1", "reserved"},     // site-local (deprecated)
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			got := netguard.Reason(ip)
			require.Equal(t, tc.want, got, "Reason(%s): got %q, want %q", tc.addr, got, tc.want)
			require.Equal(t, tc.want == "", netguard.Allowed(ip), "Allowed(%s)", tc.addr)
		})
	}
	require.False(t, netguard.Allowed(netip.Addr{}), "the zero Addr is not an address")
}

// resolver answers from a table, as a DNS server would.
type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	dns := resolver{
		"erp.example.com":          {"93.184.216.34"},
		"dual.example.com":         {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"localhost":                {"127.0.0.1", "::1"},
		"metadata.google.internal": {"169.254.169.254"},
		"intranet.example.com":     {"93.184.216.34", "10.0.0.7"}, // one bad answer is enough
		"mapped.example.com":       {"::ffff:127.0.0.1"},
		"empty.example.com":        {},
	}
	tests := []struct {
		url  string
		want string // "" allowed; else a part of the reason
	}{
		{"https://erp.example.com/omni/events", ""},
		{"http://erp.example.com:8443/hook?x=1", ""},
		{"https://dual.example.com/", ""},
		{"https://93.184.216.34/", ""},
		{"https://[2606:4700:4700::1111]:443/x", ""},

		{"ftp://erp.example.com/", "http and https"},
		{"file:///etc/passwd", "http and https"},
		{"gopher://127.0.0.1:6379/_", "http and https"},
		{"//erp.example.com/", "http and https"},
		{"http:///path", "no host"},
		{"http://", "no host"},
		{"http://127.0.0.1:8080/", "loopback"},
		{"http://127.0.0.1./", "spelling"},
		{"http://localhost:8080/", "resolves to a loopback address"},
		{"http://LOCALHOST/", "unknown host"}, // the table has no upper-case name; a real resolver folds case
		{"http://[::1]:8080/", "loopback"},
		{"http://[::ffff:127.0.0.1]/", "loopback"},
		{"http://[0:0:0:0:0:ffff:7f00:1]/", "loopback"},
		{"http://[fe80::1%25eth0]/", "link-local"},
		{"http://169.254.169.254/latest/meta-data", "link-local"},
		{"http://metadata.google.internal/computeMetadata/v1/", "resolves to a link-local address"},
		{"http://10.0.0.1/", "private"},
		{"http://192.168.0.1/", "private"},
		{"http://[fd00::1]/", "private"},
		{"http://100.64.1.1/", "carrier-grade NAT"},
		{"http://224.0.0.1/", "multicast"},
		{"http://0.0.0.0:8080/", "unspecified"},
		{"http://[::]/", "unspecified"},
		{"http://intranet.example.com/", "resolves to a private address"},
		{"http://mapped.example.com/", "resolves to a loopback address"},
		{"http://user:pw@127.0.0.1/", "loopback"},
		{"http://93.184.216.34@127.0.0.1/", "loopback"},
		// IPv4 in the spellings inet_aton (and so some resolvers) accept.
		{"http://2130706433/", "spelling"},
		{"http://0x7f000001/", "spelling"},
		{"http://0x7f.1/", "spelling"},
		{"http://127.1/", "spelling"},
		{"http://0177.0.0.1/", "spelling"},
		{"http://0/", "spelling"},
		{"http://1.2.3.4.5/", "spelling"},
		{"http://8.8.8.010/", "spelling"}, // even a public one: 010 is octal to some, decimal to others
		{"http://nxdomain.example.com/", "unknown host"},
		{"http://empty.example.com/", "unknown host"},
		{"http://exa mple.com/", "not a valid URL"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := netguard.CheckURL(context.Background(), tc.url, dns)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ue *netguard.URLError
			require.ErrorAs(t, err, &ue, "CheckURL(%q): got %v, want a refusal", tc.url, err)
			require.Contains(t, ue.Reason, tc.want)
		})
	}
}

// TestCheckURLResolvesWithTheSystem: without a resolver of its own CheckURL
// asks the system's, where localhost is loopback.
func TestCheckURLResolvesWithTheSystem(t *testing.T) {
	err := netguard.CheckURL(context.Background(), "http://localhost:1/", nil)
	var ue *netguard.URLError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, ue.Reason, "loopback")
}

// listener counts the connections that reach it.
func listener(t *testing.T, network, addr string) (net.Listener, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s listener on %s here: %v", network, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return l, &n
}

// TestDialerRefusesForbiddenAddresses dials real local listeners: the
// connection is refused before it is made, whatever name or spelling led to
// the address.
func TestDialerRefusesForbiddenAddresses(t *testing.T) {
	l4, n4 := listener(t, "tcp4", "127.0.0.1:0")
	port := l4.Addr().(*net.TCPAddr).Port
	d := netguard.NewDialer(5 * time.Second)
	for _, addr := range []string{
		l4.Addr().String(),
		net.JoinHostPort("localhost", strconv.Itoa(port)), // resolved by the dialer: the check sees the IP
		net.JoinHostPort("::ffff:127.0.0.1", strconv.Itoa(port)),
	} {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if c != nil {
			c.Close()
		}
		require.ErrorIs(t, err, netguard.ErrNotAllowed, "dial %s", addr)
		require.NotContains(t, errors.Unwrap(err).Error(), "127.0.0.1", "the sentinel itself names no address")
	}
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, n4.Load(), "no connection reached the listener")

	// The same listener is reachable with a plain dialer: the test would see a connection.
	c, err := (&net.Dialer{}).Dial("tcp", l4.Addr().String())
	require.NoError(t, err)
	c.Close()
	require.Eventually(t, func() bool { return n4.Load() == 1 }, time.Second, 10*time.Millisecond)

	l6, n6 := listener(t, "tcp6", "[::1]:0")
	_, err = d.DialContext(context.Background(), "tcp", l6.Addr().String())
	require.ErrorIs(t, err, netguard.ErrNotAllowed)
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, n6.Load())
}

func TestControl(t *testing.T) {
	require.NoError(t, netguard.Control("tcp4", "93.184.216.34:443", nil))
	require.NoError(t, netguard.Control("tcp6", "[2606:4700:4700::1111]:443", nil))
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "169.254.169.254:80",
		"10.0.0.1:80", "[fe80::1%eth0]:80", "0.0.0.0:80", "not an address", "localhost:80"} {
		require.ErrorIs(t, netguard.Control("tcp", addr, nil), netguard.ErrNotAllowed, addr)
	}
}

// TestTransport: a client on NewTransport reaches no local server and says
// so neutrally, and it never hands a request to a proxy from the environment
// (the proxy would connect on Omni's behalf, out of the check's sight).
func TestTransport(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	t.Setenv("HTTP_PROXY", srv.URL)
	tr := netguard.NewTransport()
	require.Nil(t, tr.Proxy, "no proxy")
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := client.Get(srv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, netguard.ErrNotAllowed)
	require.Zero(t, hits.Load(), "the server was not reached")
}
