package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/internal/postgres"
)

func TestSearchPhoneTypedAnyWay(t *testing.T) {
	for _, typed := range []string{"+44 7700-900 001", "+44 (7700) 900.001", "0044 7700 900001", " +447700900001 ", "00447700900001"} {
		got, ok := searchPhone(typed)
		require.True(t, ok, typed)
		require.Equal(t, "+447700900001", got, typed)
	}
	for _, typed := range []string{"07700 900001", "not a phone", "+0 1234", ""} {
		_, ok := searchPhone(typed)
		require.False(t, ok, typed)
	}
}

func TestInteractionValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   interactionBody
		fields []string
	}{
		{"valid", interactionBody{Channel: "phone", Summary: "Where is it?"}, nil},
		{"valid with order and outcome", interactionBody{Channel: "store", Summary: "x", OrderID: "o-1", Outcome: "done"}, nil},
		{"unknown channel, no summary", interactionBody{Channel: "fax"}, []string{"channel", "summary"}},
		{"blank summary", interactionBody{Channel: "chat", Summary: "   "}, []string{"summary"}},
		{"too long", interactionBody{Channel: "email", Summary: strings.Repeat("é", MaxSummaryLength+1),
			Outcome: strings.Repeat("x", MaxOutcomeLength+1), OrderID: strings.Repeat("o", 65)}, []string{"summary", "outcome", "order_id"}},
		{"as long as allowed", interactionBody{Channel: "social", Summary: strings.Repeat("é", MaxSummaryLength),
			Outcome: strings.Repeat("x", MaxOutcomeLength)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.body.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			p := problemFor(err)
			require.Equal(t, http.StatusUnprocessableEntity, p.Status)
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
			}
			require.Equal(t, tc.fields, got)
		})
	}
}

// A search is refused before the database is asked when it asks nothing, or
// something no customer can match.
func TestSearchCustomersRefusals(t *testing.T) {
	s := New(Options{})
	for _, q := range []string{"", "?phone=abc", "?q=" + strings.Repeat("x", MaxSearchLength+1), "?email=" + strings.Repeat("x", 321)} {
		rec := httptest.NewRecorder()
		c := s.echo.NewContext(httptest.NewRequest(http.MethodGet, "/v1/customers"+q, nil), rec)
		err := s.searchCustomers(c)
		require.Error(t, err, q)
		p := problemFor(err)
		require.Equal(t, http.StatusBadRequest, p.Status, q)
		require.Equal(t, problemTypePrefix+"bad_query", p.Type, q)
	}
}

func TestTimelineCursorAndLimit(t *testing.T) {
	cur := postgres.Cursor{At: time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), ID: "e:o-1:000000000001"}
	got, err := parseCursor(cur.String(), "before")
	require.NoError(t, err)
	require.True(t, got.At.Equal(cur.At))
	require.Equal(t, cur.ID, got.ID)
	for _, bad := range []string{"x", "!!", strings.Repeat("A", MaxCursorLength+1)} {
		_, err := parseCursor(bad, "before")
		require.Equal(t, problemTypePrefix+"bad_cursor", problemFor(err).Type, bad)
	}
	later := postgres.Cursor{At: cur.At, ID: "i:x"}
	require.True(t, after(later, cur))
	require.False(t, after(cur, later))
	require.False(t, after(cur, cur))

	for q, want := range map[string]int{"": defaultTimelineLimit, "?limit=1": 1, "?limit=200": 200} {
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/"+q, nil), httptest.NewRecorder())
		n, err := queryLimit(c, defaultTimelineLimit, maxTimelineLimit)
		require.NoError(t, err)
		require.Equal(t, want, n)
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x"} {
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/"+q, nil), httptest.NewRecorder())
		_, err := queryLimit(c, defaultTimelineLimit, maxTimelineLimit)
		require.Equal(t, problemTypePrefix+"bad_query", problemFor(err).Type, q)
	}
}
