package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/auth"
	"github.com/omni-retail/omni/internal/netguard"
	"github.com/omni-retail/omni/internal/postgres"
	"github.com/omni-retail/omni/workflows"
)

// Server serves the HTTP API.
type Server struct {
	db        *postgres.DB
	temporal  client.Client
	taskQueue string
	policy    workflows.Policy
	reassign  func(storeID string) []string
	timeout   time.Duration
	auth      *auth.Authenticator
	log       *slog.Logger
	echo      *echo.Echo
	streams   streams        // live timelines (stream.go)
	lookups   *lookupLimiter // budgets of POST /v1/orders/lookup (lookup.go)
	notifier  activities.Notifier

	// webhookURLs says which subscription URLs are allowed (webhooks.go).
	webhookURLs webhookURLPolicy
	// carrier is the carrier's side of the API (shipments.go).
	carrier CarrierOptions
	// stock says who owns each store's stock (stores.go).
	stock StockOptions
	// payments is the payment provider's side of the API (payments_callback.go).
	payments PaymentsOptions
}

// Options configures a Server.
type Options struct {
	DB        *postgres.DB
	Temporal  client.Client
	TaskQueue string
	Policy    workflows.Policy
	// ReassignOrder lists the stores an order may move to from its store.
	ReassignOrder  func(storeID string) []string
	RequestTimeout time.Duration
	// Auth checks API keys and customer tokens.
	Auth *auth.Authenticator
	// Lookups are the budgets of POST /v1/orders/lookup (lookup.go).
	Lookups LookupLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For tells the
	// client address; none: the connection's address, headers ignored.
	TrustedProxies []*net.IPNet
	Logger         *slog.Logger
	// Events wakes the live timeline streams when an order has new events
	// (nil: the streams poll). MaxStreams bounds them (0: DefaultMaxStreams).
	Events     *postgres.Listener
	MaxStreams int
	// Metrics serves GET /metrics (internal/metrics); nil answers 404.
	Metrics http.Handler
	// Notifier resends customer notifications (internal/notify); nil answers 503.
	Notifier activities.Notifier
	// AllowPrivateNetworks accepts webhook subscriptions to loopback, private
	// and link-local addresses (webhooks.allow_private_networks); Resolver
	// looks their hosts up otherwise (nil: the system's).
	AllowPrivateNetworks bool
	Resolver             netguard.Resolver
	// Carrier configures tracking callbacks and the built-in carrier's events (shipments.go).
	Carrier CarrierOptions
	// Stock says which stores' stock the retailer's inventory owns (stores.go).
	Stock StockOptions
	// Payments configures the payment provider's callbacks (payments_callback.go).
	Payments PaymentsOptions
}

// New builds the API and registers its routes.
func New(o Options) *Server {
	s := &Server{db: o.DB, temporal: o.Temporal, taskQueue: o.TaskQueue, policy: o.Policy, reassign: o.ReassignOrder,
		timeout: o.RequestTimeout, auth: o.Auth, log: o.Logger}
	s.streams.init(o.Events, o.MaxStreams)
	s.lookups = newLookupLimiter(o.Lookups)
	s.notifier = o.Notifier
	s.webhookURLs = webhookURLPolicy{allowPrivate: o.AllowPrivateNetworks, resolver: o.Resolver}
	s.carrier = o.Carrier
	s.stock, s.payments = o.Stock, o.Payments
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	// Client addresses (for lookup budgets) are the connection's, or behind a
	// trusted proxy what it forwards: headers a client sets are not trusted.
	e.IPExtractor = clientIPExtractor(o.TrustedProxies)
	s.echo = e

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", metricsRoute(o.Metrics))
	e.GET("/openapi.json", s.openAPI)

	// Budgeted per address, number and contact in PostgreSQL (lookup.go).
	e.POST("/v1/orders/lookup", s.lookup)
	// Signed by the carrier (Standard Webhooks), not an API key (shipments.go).
	e.POST("/v1/callbacks/shipments", s.shipmentCallback)
	// Signed by the payment provider (Standard Webhooks), not an API key (payments_callback.go).
	e.POST("/v1/callbacks/payments", s.paymentCallback)
	// The built-in carrier's public tracking page (its shipments' tracking_url).
	e.GET("/track/:tracking_number", s.track)

	// Everything else needs a credential, and each route names the roles it
	// allows; the handlers then check the order itself (404 for an order the
	// caller may not know about).
	const (
		checkout = auth.RoleCheckout
		store    = auth.RoleStore
		support  = auth.RoleSupport
		customer = auth.RoleCustomer
		admin    = auth.RoleAdmin
	)
	v1 := e.Group("/v1", s.authenticate)
	v1.POST("/orders", s.placeOrder, allow(checkout))
	v1.GET("/orders/:id", s.getOrder, allow(checkout, store, support, customer)) // one query: access checked inside
	v1.GET("/orders/:id/events", s.getEvents, allow(checkout, store, support, customer), s.visibleOrder)
	v1.GET("/orders/:id/events/stream", s.streamEvents, allow(checkout, store, support, customer), s.visibleOrder)
	v1.POST("/orders/:id/cancel", s.cancelOrder, allow(checkout, support, customer), s.visibleOrder)
	v1.POST("/orders/:id/extend-pickup", s.extendPickup, allow(support, customer), s.visibleOrder)
	v1.POST("/orders/:id/arrived", s.arrived, allow(checkout, customer), s.visibleOrder)
	v1.GET("/orders/:id/notifications", s.listNotifications, allow(checkout, support), s.visibleOrder)
	v1.POST("/orders/:id/notifications/resend", s.resendNotification, allow(support), s.visibleOrder)
	// The customer across channels (customers.go): the contact centre's view,
	// and the orders a checkout placed for a customer it serves.
	v1.GET("/customers", s.searchCustomers, allow(support))
	v1.GET("/customers/:customer_id", s.getCustomer, allow(support))
	v1.GET("/customers/:customer_id/orders", s.customerOrders, allow(checkout, support))
	v1.GET("/customers/:customer_id/timeline", s.customerTimeline, allow(support))
	v1.GET("/customers/:customer_id/timeline/stream", s.streamCustomerTimeline, allow(support))
	v1.POST("/customers/:customer_id/interactions", s.addInteraction, allow(support))
	stores := v1.Group("/stores/:store_id", allow(store, admin), storeStaff)
	staff := allow(store)
	stores.GET("/orders", s.storeQueue, staff)
	stores.POST("/orders/:id/pick", s.pick, staff, s.storeOrder)
	stores.POST("/orders/:id/collect", s.collect, staff, s.storeOrder)
	stores.POST("/orders/:id/reject", s.reject, staff, s.storeOrder)
	stores.POST("/orders/:id/ship", s.ship, staff, s.storeOrder)
	stores.POST("/orders/:id/receive", s.receive, staff, s.storeOrder)
	stores.POST("/orders", s.placeStoreOrder, staff) // endless aisle: staff order for a customer in the store
	stores.POST("/orders/:id/returns", s.takeBack, staff, s.returnableOrder)
	stores.POST("/orders/:id/exchanges", s.exchange, staff, s.returnableOrder)
	stores.PUT("/stock/:sku", s.setStock, allow(admin))
	stores.GET("/stock/:sku", s.getStock)
	v1.PUT("/prices/:sku", s.setPrice, allow(admin)) // the price list exchanges trust (prices.go)
	v1.GET("/prices/:sku", s.getPrice, allow(admin, store, support, checkout))
	v1.GET("/analytics/stores", s.storeAnalytics, allow(support, admin))
	s.consoleRoutes(e, v1, stores) // the store console and the customer page (console.go)
	v1.POST("/admin/webhooks", s.createWebhook, allow(admin))
	v1.GET("/admin/webhooks", s.listWebhooks, allow(admin))
	v1.DELETE("/admin/webhooks/:id", s.deleteWebhook, allow(admin))
	v1.POST("/shipments/:shipment_id/events", s.shipmentEvent, allow(store, support)) // built-in carrier (shipments.go)
	v1.GET("/admin/webhooks/:id/deliveries", s.webhookDeliveries, allow(admin))
	return s
}

// Handler is the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists the registered method and path pairs.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether PostgreSQL and Temporal answer. Anonymous callers
// (load balancers, probes) learn only up or down; the causes — which can name
// the database's host, user and name — go to the log, and to admin and
// support keys, which also get them in the answer.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	up := true
	if err := s.db.Ping(ctx); err != nil {
		checks["postgres"], up = err.Error(), false
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], up = err.Error(), false
	}
	body := map[string]any{"status": "up"}
	status := http.StatusOK
	if !up {
		body["status"], status = "down", http.StatusServiceUnavailable
		s.log.Warn("not ready", "postgres", checks["postgres"], "temporal", checks["temporal"])
	}
	if s.operator(c) {
		body["checks"] = checks
	}
	return c.JSON(status, body)
}

// operator reports whether an unauthenticated route's caller sent an admin or
// support key, which may see the process's internals.
func (s *Server) operator(c echo.Context) bool {
	p, err := s.bearer(c)
	return err == nil && (p.Role == auth.RoleAdmin || p.Role == auth.RoleSupport)
}
