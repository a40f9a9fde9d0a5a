package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
)

func TestTrustedProxies(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Empty(t, c.HTTP.TrustedProxies, "no proxy is trusted by default")
	nets, err := c.HTTP.TrustedProxyNets()
	require.NoError(t, err)
	require.Empty(t, nets)

	t.Setenv("OMNI_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::1")
	c, err = config.Load("")
	require.NoError(t, err)
	nets, err = c.HTTP.TrustedProxyNets()
	require.NoError(t, err)
	var got []string
	for _, n := range nets {
		got = append(got, n.String())
	}
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128"}, got)

	t.Setenv("OMNI_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")
	_, err = config.Load("")
	require.ErrorContains(t, err, `http.trusted_proxies (OMNI_HTTP_TRUSTED_PROXIES): want addresses or CIDRs`)
	require.ErrorContains(t, err, `"proxy.internal"`)
}

func TestLookupBudgets(t *testing.T) {
	c, err := config.Load("")
	require.NoError(t, err)
	require.Equal(t, 10, c.Auth.LookupsPerMinute)
	require.Equal(t, 5, c.Auth.LookupsPerNumber)
	require.Equal(t, 10, c.Auth.LookupsPerContact)
	require.Equal(t, "15m0s", c.Auth.LookupWindow.String())

	for env, want := range map[string]string{
		"OMNI_AUTH_LOOKUPS_PER_NUMBER":  "auth.lookups_per_number (OMNI_AUTH_LOOKUPS_PER_NUMBER)",
		"OMNI_AUTH_LOOKUPS_PER_CONTACT": "auth.lookups_per_contact (OMNI_AUTH_LOOKUPS_PER_CONTACT)",
		"OMNI_AUTH_LOOKUP_WINDOW":       "auth.lookup_window (OMNI_AUTH_LOOKUP_WINDOW)",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "0")
			_, err := config.Load("")
			require.ErrorContains(t, err, want)
		})
	}
}
