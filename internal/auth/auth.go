package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Role is what a caller is.
type Role string

// The roles. Each endpoint names the roles it allows; any other is refused.
const (
	RoleCheckout Role = "checkout" // the e-commerce checkout: places orders, reads and cancels its own
	RoleStore    Role = "store"    // store staff: their stores' queues, picks, handovers, returns
	RoleSupport  Role = "support"  // the contact centre: reads any order, cancels, extends, resends
	RoleCustomer Role = "customer" // a customer holding a token for one order
	RoleAdmin    Role = "admin"    // stock feed and configuration
)

// Valid reports whether r is a role a client can be configured with.
func (r Role) Valid() bool {
	switch r {
	case RoleCheckout, RoleStore, RoleSupport, RoleAdmin:
		return true
	}
	return false
}

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Name identifies a configured client (orders record which checkout placed them).
	Name string
	// Stores are the stores a store-staff client works for.
	Stores []string
	// OrderID is the one order a customer token opens.
	OrderID string
	// Expires is when a customer token stops working (zero for API keys).
	Expires time.Time
	// OrderIDPrefix starts every order id a checkout with one chooses.
	OrderIDPrefix string
}

// WorksAt reports whether store staff p works for storeID.
func (p Principal) WorksAt(storeID string) bool {
	return p.Role == RoleStore && slices.Contains(p.Stores, storeID)
}

// Client is one configured API key.
type Client struct {
	Name   string
	Role   Role
	Key    string
	Stores []string
	// OrderIDPrefix is a checkout's own namespace of order ids (see
	// Authenticator.MayChooseOrderID).
	OrderIDPrefix string
}

// Authenticator checks API keys and customer tokens.
type Authenticator struct {
	clients map[[32]byte]Principal
	secret  []byte
	ttl     time.Duration
	// prefixes are the checkouts' order id namespaces.
	prefixes []string
}

// New builds an Authenticator for clients, signing customer tokens with
// secret; tokens live for ttl.
func New(clients []Client, secret string, ttl time.Duration) *Authenticator {
	a := &Authenticator{clients: map[[32]byte]Principal{}, secret: []byte(secret), ttl: ttl}
	for _, c := range clients {
		a.clients[sha256.Sum256([]byte(c.Key))] = Principal{Role: c.Role, Name: c.Name, Stores: c.Stores, OrderIDPrefix: c.OrderIDPrefix}
		if c.OrderIDPrefix != "" {
			a.prefixes = append(a.prefixes, c.OrderIDPrefix)
		}
	}
	return a
}

// GeneratedOrderIDPrefix starts the ids Omni draws for orders placed without
// one. Checkouts may not choose ids that start with it.
const GeneratedOrderIDPrefix = "ord_"

// MayChooseOrderID reports whether checkout p may place an order under id.
// Each checkout chooses ids in a namespace of its own — under its prefix, or,
// for the one checkout configured without a prefix, outside every other
// checkout's — and never among the ids Omni draws. So an id one checkout
// chose can never be asked for by another, and the answer to a taken id
// ("order_exists") only ever tells a checkout about its own orders. The
// decision rests on the id's spelling alone: it reveals nothing either.
func (a *Authenticator) MayChooseOrderID(p Principal, id string) bool {
	if strings.HasPrefix(id, GeneratedOrderIDPrefix) {
		return false
	}
	if p.OrderIDPrefix != "" {
		return strings.HasPrefix(id, p.OrderIDPrefix)
	}
	return !slices.ContainsFunc(a.prefixes, func(prefix string) bool { return strings.HasPrefix(id, prefix) })
}

// ErrUnauthenticated is a missing, unknown or expired credential.
var ErrUnauthenticated = errors.New("missing, unknown or expired credentials")

// tokenPrefix marks customer tokens, so they are never mistaken for keys.
const tokenPrefix = "ct1."

// Authenticate resolves a bearer credential: an API key or a customer token.
func (a *Authenticator) Authenticate(credential string, now time.Time) (Principal, error) {
	if credential == "" {
		return Principal{}, ErrUnauthenticated
	}
	if strings.HasPrefix(credential, tokenPrefix) {
		id, exp, err := a.verify(credential, now)
		if err != nil {
			return Principal{}, err
		}
		return Principal{Role: RoleCustomer, Name: "customer", OrderID: id, Expires: exp}, nil
	}
	// Keys are looked up by their hash: the lookup time says nothing about a key's bytes.
	p, ok := a.clients[sha256.Sum256([]byte(credential))]
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

type claims struct {
	Order   string `json:"o"`
	Expires int64  `json:"e"`
}

// CustomerToken signs a token that opens one order until it expires.
func (a *Authenticator) CustomerToken(orderID string, now time.Time) (string, time.Time) {
	exp := now.Add(a.ttl).UTC().Truncate(time.Second)
	payload, _ := json.Marshal(claims{Order: orderID, Expires: exp.Unix()})
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(a.sign(body)), exp
}

func (a *Authenticator) sign(body string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(body))
	return m.Sum(nil)
}

func (a *Authenticator) verify(token string, now time.Time) (string, time.Time, error) {
	i := strings.LastIndexByte(token, '.')
	if i <= len(tokenPrefix) {
		return "", time.Time{}, ErrUnauthenticated
	}
	body, sig := token[:i], token[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || subtle.ConstantTimeCompare(got, a.sign(body)) != 1 {
		return "", time.Time{}, ErrUnauthenticated
	}
	raw, err := base64.RawURLEncoding.DecodeString(body[len(tokenPrefix):])
	if err != nil {
		return "", time.Time{}, ErrUnauthenticated
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil || c.Order == "" || now.Unix() >= c.Expires {
		return "", time.Time{}, ErrUnauthenticated
	}
	return c.Order, time.Unix(c.Expires, 0).UTC(), nil
}
