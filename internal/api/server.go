package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"

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
	log       *slog.Logger
	echo      *echo.Echo
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
	Logger         *slog.Logger
}

// New builds the API and registers its routes.
func New(o Options) *Server {
	s := &Server{db: o.DB, temporal: o.Temporal, taskQueue: o.TaskQueue, policy: o.Policy, reassign: o.ReassignOrder,
		timeout: o.RequestTimeout, log: o.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	s.echo = e

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", s.openAPI)

	v1 := e.Group("/v1")
	v1.POST("/orders", s.placeOrder)
	v1.GET("/orders/:id", s.getOrder)
	v1.GET("/orders/:id/events", s.getEvents)
	v1.POST("/orders/:id/cancel", s.cancelOrder)
	v1.POST("/orders/:id/extend-pickup", s.extendPickup)
	v1.GET("/stores/:store_id/orders", s.storeQueue)
	v1.POST("/stores/:store_id/orders/:id/pick", s.pick)
	v1.POST("/stores/:store_id/orders/:id/collect", s.collect)
	v1.POST("/stores/:store_id/orders/:id/reject", s.reject)
	v1.POST("/stores/:store_id/orders/:id/returns", s.takeBack)
	v1.POST("/stores/:store_id/orders/:id/exchanges", s.exchange)
	v1.PUT("/stores/:store_id/stock/:sku", s.setStock)
	v1.GET("/stores/:store_id/stock/:sku", s.getStock)
	return s
}

// Handler is the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists the registered method and path pairs.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.db.Ping(ctx); err != nil {
		checks["postgres"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = err.Error(), http.StatusServiceUnavailable
	}
	return c.JSON(status, checks)
}
