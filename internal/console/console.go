package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// contentSecurityPolicy lets the pages load and call nothing but Omni itself:
// no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the console at /console/ (and /console), the support
// console at /support/ (and /support), their assets under /console/assets/,
// and the customer's order page at /o/{token}.
func Handler() http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The customer's token is in the page's URL: never send it on.
		h.Set("Referrer-Policy", "no-referrer")
		p := r.URL.Path
		switch {
		case p == "/console" || p == "/console/":
			h.Set("Cache-Control", "no-cache")
			serveFile(w, r, static, "console.html")
		case p == "/support" || p == "/support/":
			h.Set("Cache-Control", "no-cache")
			serveFile(w, r, static, "support.html")
		case strings.HasPrefix(p, "/o/") && !strings.Contains(p[len("/o/"):], "/"):
			h.Set("Cache-Control", "no-store")
			serveFile(w, r, static, "order.html")
		case strings.HasPrefix(p, "/console/assets/"):
			name := path.Clean(strings.TrimPrefix(p, "/console/assets/"))
			if name == "." || strings.HasSuffix(name, ".html") {
				http.NotFound(w, r)
				return
			}
			h.Set("Cache-Control", "no-cache")
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + name
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}

// serveFile writes one embedded page.
func serveFile(w http.ResponseWriter, r *http.Request, static fs.FS, name string) {
	b, err := fs.ReadFile(static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
