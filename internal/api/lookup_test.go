package api

import (
	"net"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
)

func TestAddressBudget(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"":                     "",
	} {
		require.Equal(t, want, addressBudget(ip), "address %q", ip)
	}
}

func TestClientIPExtractor(t *testing.T) {
	_, proxies, err := net.ParseCIDR("10.1.0.0/16")
	require.NoError(t, err)
	tests := []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		xff     string
		want    string
	}{
		{"no proxies: the header is ignored", nil, "192.0.2.1:5000", "198.51.100.1", "192.0.2.1"},
		{"untrusted peer: the header is ignored", []*net.IPNet{proxies}, "192.0.2.1:5000", "198.51.100.1", "192.0.2.1"},
		{"a private peer is not trusted by default", []*net.IPNet{proxies}, "10.2.0.1:5000", "198.51.100.1", "10.2.0.1"},
		{"trusted peer: the client it forwards", []*net.IPNet{proxies}, "10.1.0.1:5000", "198.51.100.1", "198.51.100.1"},
		{"the right-most untrusted entry", []*net.IPNet{proxies}, "10.1.0.1:5000", "203.0.113.9, 198.51.100.1, 10.1.0.2", "198.51.100.1"},
		{"trusted peer without the header", []*net.IPNet{proxies}, "10.1.0.1:5000", "", "10.1.0.1"},
		{"a garbled header is not believed", []*net.IPNet{proxies}, "10.1.0.1:5000", "198.51.100.1, nonsense", "10.1.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/orders/lookup", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			require.Equal(t, tc.want, clientIPExtractor(tc.trusted)(r))
		})
	}
}

func TestContactMatches(t *testing.T) {
	stored := postgres.LookupContact{OrderID: "o-1", Email: "Ada@Example.com", Phone: "+447700900001"}
	require.True(t, contactMatches(stored, "ada@example.com", ""))
	require.True(t, contactMatches(stored, "", "+447700900001"))
	require.True(t, contactMatches(stored, "wrong@example.com", "+447700900001"), "either contact may match")
	require.False(t, contactMatches(stored, "wrong@example.com", ""))
	require.False(t, contactMatches(stored, "", "+447700900002"))
	require.False(t, contactMatches(stored, "", ""), "no contact matches nothing")
	none := postgres.LookupContact{}
	require.False(t, contactMatches(none, "", ""), "no order matches nothing")
	require.False(t, contactMatches(none, "ada@example.com", ""))
	legacy := postgres.LookupContact{OrderID: "o-2", Email: "grace@example.com", Phone: "+44 7700 900003"}
	require.True(t, contactMatches(legacy, "", "+447700900003"), "a phone stored before normalisation")
}
