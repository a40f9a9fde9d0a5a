// Package console serves the store console (/console/) and the customer's
// order page (/o/{token}): static HTML, CSS and a little vanilla JavaScript
// embedded in the binary, so every Omni process that serves the API serves
// them too, with no build step and nothing loaded from elsewhere.
//
// The pages are public; the data they show comes from the API, called with
// the credential the user holds (a store staff key kept in sessionStorage, or
// the customer token in the page's own URL). Live updates read the API's
// Server-Sent Events streams through fetch(), which can send the
// Authorization header that EventSource cannot.
package console
