package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/auth"
)

func TestKeysAndCustomerTokens(t *testing.T) {
	a := auth.New([]auth.Client{
		{Name: "web", Role: auth.RoleCheckout, Key: "k-checkout"},
		{Name: "oxford-st", Role: auth.RoleStore, Key: "k-store", Stores: []string{"store-001"}},
	}, "secret", time.Hour)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	p, err := a.Authenticate("k-store", now)
	require.NoError(t, err)
	require.Equal(t, auth.RoleStore, p.Role)
	require.True(t, p.WorksAt("store-001"))
	require.False(t, p.WorksAt("store-002"))
	for _, bad := range []string{"", "k-unknown", "k-checkout ", "ct1.", "ct1.x.y"} {
		_, err := a.Authenticate(bad, now)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "%q", bad)
	}

	tok, exp := a.CustomerToken("ord_1", now)
	require.Equal(t, now.Add(time.Hour), exp)
	p, err = a.Authenticate(tok, now.Add(59*time.Minute))
	require.NoError(t, err)
	require.Equal(t, auth.Principal{Role: auth.RoleCustomer, Name: "customer", OrderID: "ord_1", Expires: exp}, p)
	_, err = a.Authenticate(tok, now.Add(time.Hour))
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "expired")

	// A token for another order cannot be made by editing this one.
	other, _ := a.CustomerToken("ord_2", now)
	forged := other[:strings.LastIndexByte(other, '.')] + tok[strings.LastIndexByte(tok, '.'):]
	_, err = a.Authenticate(forged, now)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	// Nor signed with another secret.
	tok2, _ := auth.New(nil, "other-secret", time.Hour).CustomerToken("ord_1", now)
	_, err = a.Authenticate(tok2, now)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}
