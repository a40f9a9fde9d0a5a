package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// LookupLimits are the budgets of POST /v1/orders/lookup. They are counted in
// PostgreSQL, so every API process on the database spends the same ones.
// Every attempt counts, a successful one too: the budget is spent before the
// pair is checked, and an attempt over any budget is refused unchecked.
type LookupLimits struct {
	// PerAddress bounds attempts per client address (an IPv6 address by its
	// /64) per minute.
	PerAddress int
	// PerNumber bounds attempts per order number per Window, from anywhere.
	PerNumber int
	// PerContact bounds attempts per email and per phone per Window,
	// whatever the number.
	PerContact int
	// Window is the window of PerNumber and PerContact.
	Window time.Duration
}

// Budget kinds, as stored in lookup_attempts.
const (
	budgetAddress = "address"
	budgetNumber  = "number"
	budgetEmail   = "email"
	budgetPhone   = "phone"
)

// lookupSweepEvery is how often a process deletes budgets whose window ended.
const lookupSweepEvery = time.Minute

// lookupLimiter holds a process's lookup budgets and when it last swept.
type lookupLimiter struct {
	limits    LookupLimits
	lastSweep atomic.Int64 // unix nanoseconds
}

func newLookupLimiter(l LookupLimits) *lookupLimiter {
	l.PerAddress, l.PerNumber, l.PerContact = max(l.PerAddress, 1), max(l.PerNumber, 1), max(l.PerContact, 1)
	if l.Window <= 0 {
		l.Window = 15 * time.Minute
	}
	return &lookupLimiter{limits: l}
}

// sweep deletes lapsed budgets in the background, at most once every
// lookupSweepEvery per process: cheap, and the table stays as small as the
// budgets in use.
func (l *lookupLimiter) sweep(db *postgres.DB, log *slog.Logger) {
	now, last := time.Now().UnixNano(), l.lastSweep.Load()
	if now-last < int64(lookupSweepEvery) || !l.lastSweep.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ForgetLapsedLookups(ctx); err != nil && log != nil {
			log.Warn("forget lapsed lookup budgets", "err", err)
		}
	}()
}

// clientIPExtractor tells a request's client address for the lookup budgets:
// the connection's own address, unless it is one of the trusted proxies; then
// the right-most X-Forwarded-For address that is not itself a trusted proxy.
// Without trusted proxies the header is never read.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// Only the configured proxies: not loopback, link-local or private
	// networks, which echo trusts by default.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// addressBudget is the budget key of a client address: an IPv4 address as it
// is, an IPv6 address by its /64 (what one subscriber is usually given).
func addressBudget(ip string) string {
	a := net.ParseIP(ip)
	switch {
	case a == nil:
		return ip
	case a.To4() != nil:
		return a.To4().String()
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// lookupBody finds an order by what its customer knows.
type lookupBody struct {
	Number string `json:"number"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
}

var notDigits = regexp.MustCompile(`[^0-9+]`)

// normalEmail is an email as lookups compare and count it.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// lookup trades an order number and the customer's email or phone for a
// short-lived customer token for that order. The attempt is counted against
// the client address, the number and the contact first; over any budget it
// is refused (429) before the pair is even checked. A wrong pair answers
// exactly as an unknown order does, after the same work.
func (s *Server) lookup(c echo.Context) error {
	var body lookupBody
	if err := bind(c, &body); err != nil {
		return err
	}
	number, email := strings.TrimSpace(body.Number), normalEmail(body.Email)
	var f fieldErrors
	var phone string
	if p := strings.TrimSpace(body.Phone); p != "" {
		normal, ok := order.NormalPhone(p)
		if !ok {
			f.add("phone", order.PhoneDetail)
		}
		phone = normal
	}
	if number == "" || (email == "" && phone == "") {
		f.add("number", "the order number and the customer's email or phone are required")
	}
	if err := validation("the lookup is not valid", f); err != nil {
		return err
	}

	l := s.lookups.limits
	budgets := []postgres.LookupBudget{{Kind: budgetNumber, Value: number, Limit: l.PerNumber, Window: l.Window}}
	if email != "" {
		budgets = append(budgets, postgres.LookupBudget{Kind: budgetEmail, Value: email, Limit: l.PerContact, Window: l.Window})
	}
	if phone != "" {
		budgets = append(budgets, postgres.LookupBudget{Kind: budgetPhone, Value: phone, Limit: l.PerContact, Window: l.Window})
	}
	ctx := c.Request().Context()
	address := postgres.LookupBudget{Kind: budgetAddress, Value: addressBudget(c.RealIP()), Limit: l.PerAddress, Window: time.Minute}
	wait, err := s.db.SpendLookup(ctx, address, budgets...)
	if err != nil {
		return err
	}
	s.lookups.sweep(s.db, s.log)
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return &badRequest{code: "too_many_lookups", status: http.StatusTooManyRequests,
			detail: "too many order lookups; try again in " + strconv.Itoa(secs) + " seconds"}
	}

	contact, err := s.db.LookupContact(ctx, number)
	if err != nil {
		return err
	}
	if !contactMatches(contact, email, phone) {
		return order.Errorf(order.KindNotFound, "order_not_found", "no order matches that number and contact")
	}
	o, err := s.db.Order(ctx, contact.OrderID)
	if err != nil {
		return err
	}
	token, exp := s.auth.CustomerToken(o.ID, time.Now())
	return c.JSON(http.StatusOK, map[string]any{"token": token, "expires_at": exp, "order": o})
}

// contactMatches reports whether the order was found and the email or the
// phone given is its customer's. Both are compared, in constant time, whether
// or not an order was found, so that a wrong contact for a real number takes
// as long as any contact for an unknown one.
func contactMatches(stored postgres.LookupContact, email, phone string) bool {
	storedPhone, _ := order.NormalPhone(stored.Phone)
	emailOK := sameSecret(email, normalEmail(stored.Email)) && email != ""
	phoneOK := sameSecret(phone, storedPhone) && phone != ""
	return (emailOK || phoneOK) && stored.OrderID != ""
}

// sameSecret compares a and b in time independent of their contents and
// lengths.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
