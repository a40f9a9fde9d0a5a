package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/api"
)

// TestOpenAPIBoundsWhatClientsSend walks every request body and parameter
// (path, query, header) of the OpenAPI document and fails on a string
// without maxLength (an enum or const bounds itself) or an array without
// maxItems: every string a client sends has a documented limit, which the
// server enforces (see the limits in internal/order and internal/api).
func TestOpenAPIBoundsWhatClientsSend(t *testing.T) {
	doc := fetchOpenAPI(t, api.New(api.Options{}))
	w := boundsWalker{t: t, doc: doc}
	for _, o := range operations(t, doc) {
		for _, p := range o.params {
			w.walk(p["schema"], o.name+" "+p["in"].(string)+" parameter "+p["name"].(string), nil)
		}
		if body, ok := o.op["requestBody"]; ok {
			content, _ := resolve(t, doc, body)["content"].(map[string]any)
			require.NotEmpty(t, content, "%s has a requestBody without content", o.name)
			for mediaType, mt := range content {
				w.walk(mt.(map[string]any)["schema"], o.name+" body ("+mediaType+")", nil)
			}
		}
	}
	slices.Sort(w.unbounded)
	w.unbounded = slices.Compact(w.unbounded)
	require.True(t, len(w.unbounded) == 0,
		"client-sent strings without maxLength and arrays without maxItems in internal/api/openapi.json:\n%s",
		strings.Join(w.unbounded, "\n"))
	require.Greater(t, w.checked, 50, "the walker found too few client-sent strings and arrays: is it walking the document?")
}

// boundsWalker collects the unbounded strings and arrays of request schemas.
type boundsWalker struct {
	t         *testing.T
	doc       map[string]any
	unbounded []string
	checked   int
}

// walk checks schema, reached at where; refs are the $refs followed to get
// here (a recursive schema is walked once).
func (w *boundsWalker) walk(raw any, where string, refs []string) {
	schema, ok := raw.(map[string]any)
	if !ok {
		return // true/false schemas or none: nothing a client sends is typed there
	}
	// A $ref's target and the keywords beside it apply together.
	merged := map[string]any{}
	if ref, ok := schema["$ref"].(string); ok {
		if slices.Contains(refs, ref) {
			return
		}
		target, err := lookup(w.doc, ref)
		require.NoError(w.t, err, "%s: $ref %q", where, ref)
		refs = append(slices.Clip(refs), ref)
		// Walk the target for what it contains, and check this node with both.
		for k, v := range target.(map[string]any) {
			merged[k] = v
		}
		where += " (" + strings.TrimPrefix(ref, "#/components/schemas/") + ")"
	}
	for k, v := range schema {
		if k != "$ref" {
			merged[k] = v
		}
	}
	types := typesOf(merged)
	_, enum := merged["enum"]
	_, constant := merged["const"]
	if slices.Contains(types, "string") {
		w.checked++
		if _, ok := merged["maxLength"]; !ok && !enum && !constant {
			w.unbounded = append(w.unbounded, where+": string without maxLength")
		}
	}
	if slices.Contains(types, "array") {
		w.checked++
		if _, ok := merged["maxItems"]; !ok {
			w.unbounded = append(w.unbounded, where+": array without maxItems")
		}
		w.walk(merged["items"], where+"[]", refs)
		if prefix, ok := merged["prefixItems"].([]any); ok {
			for _, item := range prefix {
				w.walk(item, where+"[]", refs)
			}
		}
	}
	if props, ok := merged["properties"].(map[string]any); ok {
		for name, prop := range props {
			w.walk(prop, where+"."+name, refs)
		}
	}
	for _, k := range []string{"additionalProperties", "unevaluatedProperties"} {
		w.walk(merged[k], where+".*", refs)
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := merged[k].([]any)
		for _, sub := range list {
			w.walk(sub, where, refs)
		}
	}
}

// typesOf is a schema's type keyword as a list ("string", ["string", "null"]).
func typesOf(schema map[string]any) []string {
	switch t := schema["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var types []string
		for _, v := range t {
			if s, ok := v.(string); ok {
				types = append(types, s)
			}
		}
		return types
	}
	return nil
}
