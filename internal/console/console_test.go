package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/console"
)

func get(t *testing.T, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	console.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

// TestPagesLoadOnlyOmnisOwnAssets: each page is served with a strict CSP,
// and every script, style and icon it names is served here too.
func TestPagesLoadOnlyOmnisOwnAssets(t *testing.T) {
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	for _, page := range []string{"/console/", "/support/", "/o/ct1.token.sig"} {
		res := get(t, page)
		require.Equal(t, http.StatusOK, res.StatusCode, page)
		csp := res.Header.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			require.Contains(t, csp, directive, page)
		}
		require.NotContains(t, csp, "unsafe-inline", page)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NotContains(t, string(body), "<script>", "%s: no inline script", page)
		require.NotContains(t, string(body), "style=", "%s: no inline style", page)
		refs := ref.FindAllStringSubmatch(string(body), -1)
		require.NotEmpty(t, refs)
		for _, m := range refs {
			if strings.HasPrefix(m[1], "#") { // a link within the page
				continue
			}
			require.True(t, strings.HasPrefix(m[1], "/console/assets/"), "%s names %s: assets are Omni's own", page, m[1])
			require.Equal(t, http.StatusOK, get(t, m[1]).StatusCode, "%s names %s", page, m[1])
		}
	}
}

func TestPaths(t *testing.T) {
	for path, want := range map[string]int{
		"/console":                     http.StatusOK,
		"/console/assets/qr.js":        http.StatusOK,
		"/console/assets/":             http.StatusNotFound,
		"/console/assets/console.html": http.StatusNotFound,
		"/console/other":               http.StatusNotFound,
		"/o/a/b":                       http.StatusNotFound,
		"/support":                     http.StatusOK,
		"/support/other":               http.StatusNotFound,
		"/console/assets/support.html": http.StatusNotFound,
	} {
		require.Equal(t, want, get(t, path).StatusCode, path)
	}
	require.Equal(t, "no-store", get(t, "/o/ct1.x").Header.Get("Cache-Control"))
	require.Equal(t, "text/javascript; charset=utf-8", get(t, "/console/assets/console.js").Header.Get("Content-Type"))
}
