package config

import (
	"fmt"
	"net"
	"strings"
)

// TrustedProxyNets parses http.trusted_proxies: each entry an address
// (10.0.0.7, 2001:db8::7) or a CIDR (10.0.0.0/8). Entries may carry spaces
// around them (OMNI_HTTP_TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.7"); empty
// entries are skipped.
func (h HTTP) TrustedProxyNets() ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, entry := range h.TrustedProxies {
		for _, e := range strings.Split(entry, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if _, n, err := net.ParseCIDR(e); err == nil {
				nets = append(nets, n)
				continue
			}
			ip := net.ParseIP(e)
			if ip == nil {
				return nil, fmt.Errorf("want addresses or CIDRs (10.0.0.0/8, 192.0.2.7), got %q", e)
			}
			bits := 8 * net.IPv6len
			if v4 := ip.To4(); v4 != nil {
				ip, bits = v4, 8*net.IPv4len
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
		}
	}
	return nets, nil
}
