package notify

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// DefaultLanguage is the language every template exists in; a customer
// without a language, or with one Omni has no template in, gets it.
const DefaultLanguage = "en"

// genericTemplate renders an event that has no template of its own, so that a
// new event in the workflow still reaches the customer instead of failing.
const genericTemplate = "generic"

// templateFiles are templates/<language>/<event>.txt: a "Subject: " line, a
// blank line, then the body, all Go text/template.
//
//go:embed templates
var templateFiles embed.FS

// catalog holds the parsed templates by language, then by event.
var catalog = mustParse(templateFiles)

// Rendered is a template executed for one notification.
type Rendered struct {
	// Language is the language the template was found in.
	Language string
	Subject  string
	Body     string
}

// Render executes the template of event in the language closest to lang (a
// BCP 47 tag: "fr-CA" tries fr-ca, then fr), else in English; an event
// without any template gets the generic one. data are the template's fields.
func Render(lang, event string, data map[string]any) (Rendered, error) {
	t, found := lookup(lang, event)
	fields := make(map[string]any, len(data)+1)
	for k, v := range data {
		fields[k] = v
	}
	fields["template"] = event
	var buf bytes.Buffer
	if err := t.Execute(&buf, fields); err != nil {
		return Rendered{}, fmt.Errorf("notify: render %s/%s: %w", found, event, err)
	}
	head, body, _ := strings.Cut(buf.String(), "\n")
	subject, ok := strings.CutPrefix(head, "Subject: ")
	if !ok {
		return Rendered{}, fmt.Errorf("notify: template %s/%s does not start with a Subject line", found, event)
	}
	return Rendered{Language: found, Subject: strings.TrimSpace(subject), Body: strings.TrimSpace(body) + "\n"}, nil
}

// Languages lists the languages that have templates.
func Languages() []string {
	out := make([]string, 0, len(catalog))
	for l := range catalog {
		out = append(out, l)
	}
	return out
}

// HasTemplate reports whether lang has its own template for event.
func HasTemplate(lang, event string) bool {
	_, ok := catalog[lang][event]
	return ok
}

// lookup finds the template of event for lang, and the language it is in.
func lookup(lang, event string) (*template.Template, string) {
	candidates := languageCandidates(lang)
	for _, name := range []string{event, genericTemplate} {
		for _, l := range candidates {
			if t, ok := catalog[l][name]; ok {
				return t, l
			}
		}
	}
	panic("notify: no " + DefaultLanguage + " generic template") // mustParse checked it is there
}

// languageCandidates lists the languages to try for a tag, most specific first.
func languageCandidates(tag string) []string {
	tag = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
	var out []string
	for tag != "" {
		out = append(out, tag)
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	return append(out, DefaultLanguage)
}

func mustParse(files fs.FS) map[string]map[string]*template.Template {
	out := map[string]map[string]*template.Template{}
	err := fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".txt" {
			return err
		}
		lang := path.Base(path.Dir(p))
		event := strings.TrimSuffix(path.Base(p), ".txt")
		src, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		t, err := template.New(event).Option("missingkey=zero").Funcs(funcsFor(lang)).Parse(string(src))
		if err != nil {
			return err
		}
		if out[lang] == nil {
			out[lang] = map[string]*template.Template{}
		}
		out[lang][event] = t
		return nil
	})
	if err != nil {
		panic("notify: templates: " + err.Error())
	}
	if _, ok := out[DefaultLanguage][genericTemplate]; !ok {
		panic("notify: templates: no " + DefaultLanguage + "/" + genericTemplate + ".txt")
	}
	return out
}

// locale is how a language writes dates and money.
type locale struct {
	date          string // time layout
	decimal       string
	currencyFirst bool
}

var locales = map[string]locale{
	"en": {date: "Mon 2 Jan 2006, 15:04 MST", decimal: ".", currencyFirst: true},
	"fr": {date: "02/01/2006 à 15:04 MST", decimal: ","},
	"de": {date: "02.01.2006, 15:04 MST", decimal: ","},
}

func funcsFor(lang string) template.FuncMap {
	loc, ok := locales[lang]
	if !ok {
		loc = locales[DefaultLanguage]
	}
	return template.FuncMap{
		// date writes a time (a time.Time or an RFC 3339 string, as times
		// arrive through the workflow) in UTC.
		"date": func(v any) string {
			t, ok := asTime(v)
			if !ok {
				return fmt.Sprint(v)
			}
			return t.UTC().Format(loc.date)
		},
		// product names a SKU as people recognise it, from the order's
		// lines (the "products" field), else the SKU itself.
		"product": func(sku, products any) string {
			if m, ok := products.(map[string]any); ok {
				if name, ok := m[fmt.Sprint(sku)].(string); ok && name != "" {
					return name
				}
			}
			return fmt.Sprint(sku)
		},
		// money writes an amount in minor units in its currency.
		"money": func(amount, currency any) string {
			n, ok := asInt(amount)
			cur := fmt.Sprint(currency)
			if !ok {
				return fmt.Sprint(amount) + " " + cur
			}
			s := formatMinor(n, minorDigits(cur), loc.decimal)
			if loc.currencyFirst {
				return cur + " " + s
			}
			return s + " " + cur
		},
	}
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case *time.Time:
		if t != nil {
			return *t, true
		}
	case string:
		if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return p, true
		}
	}
	return time.Time{}, false
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64: // JSON numbers
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case string:
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

// minorDigits is how many decimals a currency's minor unit has (ISO 4217).
func minorDigits(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

func formatMinor(n int64, digits int, decimal string) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	if digits == 0 {
		return sign + strconv.FormatInt(n, 10)
	}
	s := fmt.Sprintf("%0*d", digits+1, n)
	return sign + s[:len(s)-digits] + decimal + s[len(s)-digits:]
}
