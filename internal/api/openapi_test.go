package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/api"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// fetchOpenAPI gets the document from the server, as a client would.
func fetchOpenAPI(t *testing.T, s *api.Server) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code, "GET /openapi.json: %s", rec.Body)
	require.Equal(t, "application/json", rec.Header().Get(echo.HeaderContentType))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc), "the document is not JSON")
	return doc
}

// echoParam is a path parameter as echo writes it.
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// servedOperations lists the "METHOD /path" the server registers, in
// OpenAPI's path template form, leaving out echo's internal routes.
func servedOperations(s *api.Server) []string {
	var ops []string
	for _, r := range s.Routes() {
		if r.Method == echo.RouteNotFound || r.Path == "*" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		ops = append(ops, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(ops)
	return slices.Compact(ops)
}

// operation is one operation of the document, with the parameters it takes:
// its path item's and its own, each resolved.
type operation struct {
	name   string // "METHOD /path"
	path   string
	op     map[string]any
	params []map[string]any
}

// operations lists every operation of doc, failing the test on a path item or
// operation that is not an object.
func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	require.True(t, ok, "the document has no paths object")
	var ops []operation
	for path, item := range paths {
		item, ok := item.(map[string]any)
		require.True(t, ok, "path %s is not a path item object", path)
		for _, m := range openAPIMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			o := operation{name: strings.ToUpper(m) + " " + path, path: path}
			o.op, ok = raw.(map[string]any)
			require.True(t, ok, "%s is not an operation object", o.name)
			for _, params := range []any{item["parameters"], o.op["parameters"]} {
				list, _ := params.([]any)
				for _, p := range list {
					o.params = append(o.params, resolve(t, doc, p))
				}
			}
			ops = append(ops, o)
		}
	}
	return ops
}

// documentedOperations lists the "METHOD /path" of every operation in doc.
func documentedOperations(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var ops []string
	for _, o := range operations(t, doc) {
		ops = append(ops, o.name)
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPIMatchesRoutes fails when a route the server registers is not in
// the OpenAPI document, or the document describes an operation not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := api.New(api.Options{})
	served := servedOperations(s)
	documented := documentedOperations(t, fetchOpenAPI(t, s))
	require.NotEmpty(t, served, "the server registers no routes")

	var undocumented, unserved []string
	for _, op := range served {
		if !slices.Contains(documented, op) {
			undocumented = append(undocumented, op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			unserved = append(unserved, op)
		}
	}
	require.True(t, len(undocumented) == 0 && len(unserved) == 0,
		"routes registered in server.go but missing from internal/api/openapi.json: %v\n"+
			"operations in internal/api/openapi.json that the server does not register: %v", undocumented, unserved)
}

// TestOpenAPIDocument checks the document's own consistency: version, an
// operationId and a 2xx response on every operation, declared path
// parameters, and $refs that resolve inside the document.
func TestOpenAPIDocument(t *testing.T) {
	doc := fetchOpenAPI(t, api.New(api.Options{}))
	require.Equal(t, "3.1.0", doc["openapi"])
	info, ok := doc["info"].(map[string]any)
	require.True(t, ok, "the document has no info object")
	require.NotEmpty(t, info["title"], "info.title")
	require.NotEmpty(t, info["version"], "info.version")

	operationIDs := map[string]string{}
	for _, o := range operations(t, doc) {
		name, op := o.name, o.op
		id, _ := op["operationId"].(string)
		require.NotEmpty(t, id, "%s has no operationId", name)
		require.NotContains(t, operationIDs, id, "%s repeats the operationId of %s", name, operationIDs[id])
		operationIDs[id] = name

		responses, _ := op["responses"].(map[string]any)
		hasSuccess := false
		for code := range responses {
			if n, err := strconv.Atoi(code); (err == nil && n >= 200 && n < 300) || code == "2XX" {
				hasSuccess = true
			}
		}
		require.True(t, hasSuccess, "%s has no 2xx response", name)

		declared := map[string]bool{}
		for _, p := range o.params {
			if p["in"] == "path" {
				require.Equal(t, true, p["required"], "%s: path parameter %v must be required", name, p["name"])
				declared[p["name"].(string)] = true
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(o.path, -1) {
			require.True(t, declared[m[1]], "%s does not declare its path parameter %q", name, m[1])
		}
	}

	var refs []string
	collectRefs(doc, &refs)
	require.NotEmpty(t, refs)
	var broken []string
	for _, ref := range refs {
		if _, err := lookup(doc, ref); err != nil {
			broken = append(broken, ref+": "+err.Error())
		}
	}
	require.Empty(t, broken, "$refs that do not resolve inside the document")
}

// resolve follows v's $ref, if it has one, to the object it names.
func resolve(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	obj, ok := v.(map[string]any)
	require.True(t, ok, "%v is not an object", v)
	if ref, ok := obj["$ref"].(string); ok {
		target, err := lookup(doc, ref)
		require.NoError(t, err, "$ref %q", ref)
		obj, ok = target.(map[string]any)
		require.True(t, ok, "$ref %q does not name an object", ref)
	}
	return obj
}

// collectRefs appends every $ref string found anywhere under v.
func collectRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if ref, ok := child.(string); ok && k == "$ref" {
				*refs = append(*refs, ref)
				continue
			}
			collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, refs)
		}
	}
}

// lookup resolves a local reference ("#/a/b") as an RFC 6901 JSON pointer.
func lookup(doc map[string]any, ref string) (any, error) {
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, errNotLocal
	}
	var cur any = doc
	for _, token := range strings.Split(pointer, "/") {
		token = strings.NewReplacer("~1", "/", "~0", "~").Replace(token)
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, errUnresolved
		}
		if cur, ok = obj[token]; !ok {
			return nil, errUnresolved
		}
	}
	return cur, nil
}

type refError string

func (e refError) Error() string { return string(e) }

const (
	errNotLocal   refError = "does not point inside the document"
	errUnresolved refError = "does not resolve"
)
