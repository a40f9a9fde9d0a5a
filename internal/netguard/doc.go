// Package netguard keeps outbound connections that an API caller can aim —
// webhook subscriptions today — away from the networks Omni itself sits in:
// loopback, private and link-local addresses (the cloud metadata service at
// 169.254.169.254), carrier-grade NAT, multicast, unspecified and reserved
// addresses, in every spelling that reaches them (IPv4-mapped IPv6, NAT64,
// 6to4, odd IPv4 forms such as 2130706433 or 0x7f.1).
//
// A URL is checked twice. CheckURL refuses it when it is stored: a scheme
// other than http or https, an IP address that is not allowed, an IPv4 address
// in an ambiguous spelling, or a host name that resolves to any address that
// is not allowed. Control, set on the net.Dialer of the client that connects
// (NewTransport does it), refuses the connection itself when the address it is
// about to connect to is not allowed, because a name's DNS answer can change
// between the two (DNS rebinding) and a receiver could otherwise answer with a
// redirect. Refused connections fail with ErrNotAllowed, which says nothing
// about the target.
//
// Allowed is the rule both use; other outbound clients can take it up.
package netguard
