package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotAllowed is the error of a connection Control refused. It names no
// address: what it refused is not the caller's to learn.
var ErrNotAllowed = errors.New("address not allowed")

// Prefixes refused besides those netip classifies itself.
var (
	carrierGradeNAT = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598
	reserved        = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (Linux connects 0.0.0.0 to the host itself)
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
		netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
		netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
		netip.MustParsePrefix("100::/64"),        // discard-only
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052: the IPv4 address is the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")       // RFC 3056: the IPv4 address is bits 16-47
	siit      = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765 IPv4-translated: the last 32 bits
)

// Reason says why a connection to ip is refused — "loopback", "private",
// "link-local", "multicast", "unspecified", "carrier-grade NAT" or "reserved"
// — or "" when it is allowed: a public unicast address. An IPv6 address that
// carries an IPv4 address (IPv4-mapped, NAT64, 6to4, IPv4-translated) is
// judged by the IPv4 address; a zone is ignored.
func Reason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.WithZone("").Unmap()
	if v4, ok := embeddedIPv4(ip); ok {
		return Reason(v4)
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsPrivate():
		return "private"
	case carrierGradeNAT.Contains(ip):
		return "carrier-grade NAT"
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return "reserved"
		}
	}
	if !ip.IsGlobalUnicast() {
		return "reserved"
	}
	return ""
}

// Allowed reports whether Omni may connect to ip on a caller's behalf: a
// public unicast address (Reason is "").
func Allowed(ip netip.Addr) bool { return Reason(ip) == "" }

// embeddedIPv4 returns the IPv4 address an IPv6 address routes to, for the
// forms that carry one.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), siit.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function that refuses, with ErrNotAllowed,
// a connection to an address Allowed refuses. It sees the address actually
// dialled, after name resolution, so a name that resolves differently now
// than when its URL was checked is caught here.
func Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !Allowed(ap.Addr()) {
		return ErrNotAllowed
	}
	return nil
}

// NewDialer returns a dialer that connects only to allowed addresses.
func NewDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: Control}
}

// NewTransport returns an HTTP transport, otherwise like
// http.DefaultTransport, that connects only to allowed addresses and never
// through a proxy from the environment (a proxy would connect on its behalf,
// where Control cannot see).
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = NewDialer(30 * time.Second).DialContext
	return t
}

// Resolver looks host names up (net.DefaultResolver does).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// URLError is CheckURL's refusal.
type URLError struct {
	// Reason says why, in words fit for the API's caller: it names the
	// kind of address, never an address the host resolved to.
	Reason string
}

func (e *URLError) Error() string { return "url not allowed: " + e.Reason }

// CheckURL refuses (with a *URLError) a URL Omni should not connect to on a
// caller's behalf: a scheme other than http or https, no host, a host that is
// an address Allowed refuses, an IPv4 address in a spelling other than four
// decimal numbers (2130706433, 0x7f.1, 127.1, 0177.0.0.1: resolvers differ on
// what they mean), or a name that does not resolve or resolves to any address
// Allowed refuses. r resolves names; nil uses net.DefaultResolver.
//
// Names can resolve differently later, so a client that connects to checked
// URLs still needs Control.
func CheckURL(ctx context.Context, rawURL string, r Resolver) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &URLError{"it is not a valid URL"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &URLError{"only http and https URLs are allowed"}
	}
	host := u.Hostname()
	if host == "" {
		return &URLError{"the URL has no host"}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := Reason(ip); why != "" {
			return &URLError{"the host is " + withArticle(why) + " address"}
		}
		return nil
	}
	if endsInNumber(host) {
		return &URLError{"the host is an IP address in an ambiguous spelling: write an IPv4 address as four decimal " +
			"numbers without leading zeros"}
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return &URLError{"unknown host: the name does not resolve"}
	}
	for _, ip := range ips {
		if why := Reason(ip); why != "" {
			return &URLError{"the host resolves to " + withArticle(why) + " address"}
		}
	}
	return nil
}

// endsInNumber reports whether host's last label is a number (decimal, or
// hexadecimal with 0x), as the WHATWG URL standard decides that a host is an
// IPv4 address: no domain name ends so, and inet_aton reads such a host as an
// address (2130706433 and 127.1 are 127.0.0.1 to it).
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := strings.ToLower(host[strings.LastIndexByte(host, '.')+1:])
	if last == "" {
		return false
	}
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = rest, "0123456789abcdef"
	}
	for _, c := range last {
		if !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}

func withArticle(reason string) string {
	if reason == "unspecified" {
		return "an " + reason
	}
	return "a " + reason
}
