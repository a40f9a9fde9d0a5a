package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/auth"
)

var (
	fuzzNow     = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	fuzzClients = []auth.Client{
		{Name: "web", Role: auth.RoleCheckout, Key: "k-checkout-0001"},
		{Name: "oxford-st", Role: auth.RoleStore, Key: "k-store-0001", Stores: []string{"store-001"}},
	}
)

// FuzzAuthenticate: any bearer credential is either a configured key, a
// customer token Omni signed that has not expired, or ErrUnauthenticated —
// never a panic, never another error.
func FuzzAuthenticate(f *testing.F) {
	a := auth.New(fuzzClients, "fuzz-secret-0123456789", time.Hour)
	tok, _ := a.CustomerToken("web-1001", fuzzNow)
	other, _ := auth.New(nil, "other-secret-0123456789", time.Hour).CustomerToken("web-1001", fuzzNow)
	for _, seed := range []string{"", "k-checkout-0001", "k-store-0001", "k-unknown", "k-checkout-0001 ", "ct1.", "ct1.x.y",
		"ct1..", "ct1.e30.", tok, other, tok[:len(tok)-1], tok + "A", strings.Replace(tok, "ct1.", "ct2.", 1)} {
		f.Add(seed, int64(0))
	}
	f.Fuzz(func(t *testing.T, credential string, offset int64) {
		now := fuzzNow.Add(time.Duration(offset % int64(48*time.Hour)))
		p, err := a.Authenticate(credential, now)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Authenticate(%q) = %v, want ErrUnauthenticated", credential, err)
			}
			return
		}
		switch p.Role {
		case auth.RoleCustomer:
			if p.OrderID == "" || !p.Expires.After(now) || !strings.HasPrefix(credential, "ct1.") {
				t.Fatalf("Authenticate(%q) = %+v: a customer token for no order, expired or not a token", credential, p)
			}
		default:
			found := false
			for _, c := range fuzzClients {
				found = found || (c.Key == credential && c.Name == p.Name && c.Role == p.Role)
			}
			if !found {
				t.Fatalf("Authenticate(%q) = %+v: not a configured key", credential, p)
			}
		}
	})
}

// FuzzCustomerToken: a token verifies, until it expires, to the order it was
// signed for, and an edited one verifies to nothing.
func FuzzCustomerToken(f *testing.F) {
	for _, seed := range []string{"web-1001", "ord_ABCDEFGHIJKLMNOPQRST", "a", "web.1001:x", `"quoted"<tag>&`, "Zoë"} {
		f.Add(seed, int64(59*time.Minute), uint16(7))
	}
	a := auth.New(fuzzClients, "fuzz-secret-0123456789", time.Hour)
	f.Fuzz(func(t *testing.T, orderID string, age int64, flip uint16) {
		if orderID == "" || !utf8.ValidString(orderID) {
			return // order ids are non-empty ASCII (see internal/order); a token is made only for one
		}
		tok, exp := a.CustomerToken(orderID, fuzzNow)
		age %= int64(time.Hour)
		if age < 0 {
			age = -age
		}
		at := fuzzNow.Add(time.Duration(age))
		p, err := a.Authenticate(tok, at)
		if err != nil {
			t.Fatalf("a fresh token for %q (at +%s) does not verify: %v", orderID, time.Duration(age), err)
		}
		if p.Role != auth.RoleCustomer || p.OrderID != orderID || !p.Expires.Equal(exp) {
			t.Fatalf("the token for %q verifies to %+v", orderID, p)
		}
		if _, err := a.Authenticate(tok, exp); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the token for %q still verifies when it expires: %v", orderID, err)
		}
		// Edit one character of the signed part: it verifies to nothing.
		body := tok[:strings.LastIndexByte(tok, '.')]
		i := len("ct1.") + int(flip)%(len(body)-len("ct1."))
		c := byte('A')
		if body[i] == 'A' {
			c = 'B'
		}
		edited := tok[:i] + string(c) + tok[i+1:]
		if p, err := a.Authenticate(edited, at); err == nil {
			t.Fatalf("the edited token %q verifies to %+v", edited, p)
		}
	})
}
