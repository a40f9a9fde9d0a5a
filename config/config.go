// Package config loads Omni's configuration: the defaults in omni.yaml (embedded,
// so the binary runs with no file beside it), then an optional file, then OMNI_*
// environment variables, and validates the result with errors that name the key.
package config

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"
)

//go:embed omni.yaml
var defaults []byte

// Config is Omni's whole configuration.
type Config struct {
	HTTP     HTTP     `mapstructure:"http"`
	Database Database `mapstructure:"database"`
	Data     Data     `mapstructure:"data"`
	Temporal Temporal `mapstructure:"temporal"`
	Pick     Pick     `mapstructure:"pick"`
	Pickup   Pickup   `mapstructure:"pickup"`
	Returns  Returns  `mapstructure:"returns"`
	Reassign Reassign `mapstructure:"reassign"`
	Auth     Auth     `mapstructure:"auth"`
	Notify   Notify   `mapstructure:"notify"`
	Webhooks Webhooks `mapstructure:"webhooks"`
	Carrier  Carrier  `mapstructure:"carrier"`
	// The retailer's systems (ADAPTERS.md, config/adapters.go); an empty
	// url is Omni's built-in implementation.
	Inventory  System   `mapstructure:"inventory"`
	StoreTasks System   `mapstructure:"store_tasks"`
	Payments   Payments `mapstructure:"payments"`
	Catalog    System   `mapstructure:"catalog"`
	Stores     []Store  `mapstructure:"stores"`
	// Warehouses are locations that pick and ship online orders (and send
	// transfers) but take no collect orders.
	Warehouses []Warehouse `mapstructure:"warehouses"`
	Transfers  Transfers   `mapstructure:"transfers"`
	Log        Log         `mapstructure:"log"`
	Debug      Debug       `mapstructure:"debug"`
}

// HTTP configures the API listener.
type HTTP struct {
	Addr           string        `mapstructure:"addr"`
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// TrustedProxies are the reverse proxies (addresses or CIDRs) whose
	// X-Forwarded-For is believed; see TrustedProxyNets.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// Database configures PostgreSQL.
type Database struct {
	URL      string `mapstructure:"url"`
	MaxConns int32  `mapstructure:"max_conns"`
}

// Data configures local files of the embedded default.
type Data struct {
	Dir string `mapstructure:"dir"`
}

// Temporal configures the Temporal client, and the embedded server under `omni dev`.
type Temporal struct {
	Address   string `mapstructure:"address"`
	Namespace string `mapstructure:"namespace"`
	TaskQueue string `mapstructure:"task_queue"`
	// WorkflowCacheSize bounds the workflows a process keeps in memory.
	WorkflowCacheSize int `mapstructure:"workflow_cache_size"`
	// HistoryBudget is the number of history events past which an order's
	// workflow continues as new, carrying its state.
	HistoryBudget int    `mapstructure:"history_budget"`
	EmbeddedAddr  string `mapstructure:"embedded_addr"`
	UIAddr        string `mapstructure:"ui_addr"`
	TLS           TLS    `mapstructure:"tls"`
}

// TLS configures the connection to an external Temporal.
type TLS struct {
	Enabled    bool   `mapstructure:"enabled"`
	CAFile     string `mapstructure:"ca_file"`
	CertFile   string `mapstructure:"cert_file"`
	KeyFile    string `mapstructure:"key_file"`
	ServerName string `mapstructure:"server_name"`
}

// Pick holds the store's picking clocks.
type Pick struct {
	Deadline             time.Duration `mapstructure:"deadline"`
	Escalation           time.Duration `mapstructure:"escalation"`
	ReassignOnEscalation bool          `mapstructure:"reassign_on_escalation"`
}

// Reassign says where an order goes when its store cannot fulfil it.
type Reassign struct {
	// Order is "distance" (nearest store first, by the stores' coordinates)
	// or "list" (the order of the stores list).
	Order string `mapstructure:"order"`
}

// Pickup holds the collection clocks.
type Pickup struct {
	Hold      time.Duration `mapstructure:"hold"`
	Reminder  time.Duration `mapstructure:"reminder"`
	Extension time.Duration `mapstructure:"extension"`
}

// Returns holds the return clocks.
type Returns struct {
	Window time.Duration `mapstructure:"window"`
}

// Store is one store that takes click & collect orders.
type Store struct {
	ID   string `mapstructure:"id"`
	Name string `mapstructure:"name"`
	// Lat and Lon place the store, for reassignment by distance. Optional.
	Lat *float64 `mapstructure:"lat"`
	Lon *float64 `mapstructure:"lon"`
	// ShipFromStore lets the store pick and send home deliveries.
	ShipFromStore bool `mapstructure:"ship_from_store"`
	// SafetyStock is what the store keeps back of every SKU from online
	// orders: the web may not sell its last units.
	SafetyStock int64 `mapstructure:"safety_stock"`
	// InventoryURL and StoreTasksURL name the store's own systems (a
	// franchise on another system) instead of inventory.url and
	// store_tasks.url; their tokens default to the global ones.
	InventoryURL    string `mapstructure:"inventory_url"`
	InventoryToken  string `mapstructure:"inventory_token"`
	StoreTasksURL   string `mapstructure:"store_tasks_url"`
	StoreTasksToken string `mapstructure:"store_tasks_token"`
}

// Warehouse is a location that ships online orders and sends transfers.
type Warehouse struct {
	ID          string   `mapstructure:"id"`
	Name        string   `mapstructure:"name"`
	Lat         *float64 `mapstructure:"lat"`
	Lon         *float64 `mapstructure:"lon"`
	SafetyStock int64    `mapstructure:"safety_stock"`
}

// Transfers configures transfers for collection.
type Transfers struct {
	// Enabled brings the lines a collect order's store lacks from other
	// locations, instead of moving the whole order to another store.
	Enabled bool `mapstructure:"enabled"`
	// LeadTime is how long a transfer is expected to take (the date the
	// customer is told).
	LeadTime time.Duration `mapstructure:"lead_time"`
}

// Location is a store or warehouse sourcing may choose from.
type Location struct {
	ID          string
	Lat, Lon    *float64
	Ships       bool
	SafetyStock int64
	Warehouse   bool
}

// Locations lists the warehouses, then the stores, in configuration order.
func (c *Config) Locations() []Location {
	out := make([]Location, 0, len(c.Warehouses)+len(c.Stores))
	for _, w := range c.Warehouses {
		out = append(out, Location{ID: w.ID, Lat: w.Lat, Lon: w.Lon, Ships: true, SafetyStock: w.SafetyStock, Warehouse: true})
	}
	for _, s := range c.Stores {
		out = append(out, Location{ID: s.ID, Lat: s.Lat, Lon: s.Lon, Ships: s.ShipFromStore, SafetyStock: s.SafetyStock})
	}
	return out
}

// Debug configures diagnostics.
type Debug struct {
	// PprofAddr serves Go's profiler (net/http/pprof) when set. Keep it on
	// loopback: profiles show the process's internals.
	PprofAddr string `mapstructure:"pprof_addr"`
}

// Log configures the process logger.
type Log struct {
	Level string `mapstructure:"level"`
}

// Load reads the defaults, then file (if not empty), then the environment.
func Load(file string) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaults)); err != nil {
		return nil, fmt.Errorf("config: embedded defaults: %w", err)
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.MergeInConfig(); err != nil {
			return nil, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	v.SetEnvPrefix("OMNI")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	// An empty variable is a value, not an absence: OMNI_TEMPORAL_UI_ADDR= turns the UI off.
	v.AllowEmptyEnv(true)

	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var err error
	if c.Webhooks.allowPrivateSet, err = setByOperator(file, allowPrivateNetworksKey); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks every key and reports all problems at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		where := "OMNI_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if strings.Contains(key, "[") {
			where = "set in the config file" // list items have no environment variable
		}
		errs = append(errs, fmt.Errorf("config: %s (%s): %s", key, where, fmt.Sprintf(format, args...)))
	}
	hostPort := func(key, value string, optional bool) {
		if value == "" && optional {
			return
		}
		if _, _, err := net.SplitHostPort(value); err != nil {
			bad(key, "want host:port, got %q", value)
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, got %s", d)
		}
	}

	hostPort("http.addr", c.HTTP.Addr, false)
	positive("http.request_timeout", c.HTTP.RequestTimeout)
	if _, err := c.HTTP.TrustedProxyNets(); err != nil {
		bad("http.trusted_proxies", "%v", err)
	}
	if u, err := url.Parse(c.Database.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") ||
		strings.TrimPrefix(u.Path, "/") == "" {
		bad("database.url", "want postgres://user@host:port/dbname, got %q", c.Database.URL)
	}
	if c.Database.MaxConns < 1 {
		bad("database.max_conns", "must be at least 1, got %d", c.Database.MaxConns)
	}
	if c.Data.Dir == "" {
		bad("data.dir", "must not be empty")
	}
	hostPort("temporal.address", c.Temporal.Address, true)
	if c.Temporal.Namespace == "" {
		bad("temporal.namespace", "must not be empty")
	}
	if c.Temporal.WorkflowCacheSize < 16 {
		bad("temporal.workflow_cache_size", "must be at least 16, got %d", c.Temporal.WorkflowCacheSize)
	}
	if c.Temporal.HistoryBudget < 100 || c.Temporal.HistoryBudget > 40000 {
		bad("temporal.history_budget", "must be between 100 and 40000 events, got %d", c.Temporal.HistoryBudget)
	}
	if c.Notify.GiveUpAfter < time.Minute {
		bad("notify.give_up_after", "must be at least 1m, got %s", c.Notify.GiveUpAfter)
	}
	if c.Temporal.TaskQueue == "" {
		bad("temporal.task_queue", "must not be empty")
	}
	hostPort("temporal.embedded_addr", c.Temporal.EmbeddedAddr, false)
	hostPort("temporal.ui_addr", c.Temporal.UIAddr, true)
	hostPort("debug.pprof_addr", c.Debug.PprofAddr, true)
	if (c.Temporal.TLS.CertFile == "") != (c.Temporal.TLS.KeyFile == "") {
		bad("temporal.tls.cert_file", "cert_file and key_file go together")
	}
	positive("pick.deadline", c.Pick.Deadline)
	if c.Pick.Escalation <= c.Pick.Deadline {
		bad("pick.escalation", "must come after pick.deadline (%s), got %s", c.Pick.Deadline, c.Pick.Escalation)
	}
	switch c.Reassign.Order {
	case "distance", "list":
	default:
		bad("reassign.order", "want distance or list, got %q", c.Reassign.Order)
	}
	positive("pickup.hold", c.Pickup.Hold)
	positive("pickup.reminder", c.Pickup.Reminder)
	positive("pickup.extension", c.Pickup.Extension)
	if c.Pickup.Reminder >= c.Pickup.Hold && c.Pickup.Hold > 0 {
		bad("pickup.reminder", "must come before the end of the hold (%s), got %s", c.Pickup.Hold, c.Pickup.Reminder)
	}
	positive("returns.window", c.Returns.Window)
	seen := map[string]bool{}
	for i, s := range c.Stores {
		if !storeIDPattern.MatchString(s.ID) {
			bad(fmt.Sprintf("stores[%d].id", i), "want 1-64 letters, digits, '.', '_' or '-', got %q", s.ID)
		}
		if seen[s.ID] {
			bad(fmt.Sprintf("stores[%d].id", i), "duplicate store id %q", s.ID)
		}
		seen[s.ID] = true
		if (s.Lat == nil) != (s.Lon == nil) {
			bad(fmt.Sprintf("stores[%d].lat", i), "lat and lon go together")
		}
		if s.Lat != nil && (*s.Lat < -90 || *s.Lat > 90) {
			bad(fmt.Sprintf("stores[%d].lat", i), "want -90 to 90, got %v", *s.Lat)
		}
		if s.Lon != nil && (*s.Lon < -180 || *s.Lon > 180) {
			bad(fmt.Sprintf("stores[%d].lon", i), "want -180 to 180, got %v", *s.Lon)
		}
	}
	for i, w := range c.Warehouses {
		key := fmt.Sprintf("warehouses[%d]", i)
		if !storeIDPattern.MatchString(w.ID) {
			bad(key+".id", "want 1-64 letters, digits, '.', '_' or '-', got %q", w.ID)
		}
		if seen[w.ID] {
			bad(key+".id", "duplicate location id %q (stores and warehouses share ids)", w.ID)
		}
		seen[w.ID] = true
		if (w.Lat == nil) != (w.Lon == nil) {
			bad(key+".lat", "lat and lon go together")
		}
		if w.SafetyStock < 0 {
			bad(key+".safety_stock", "must not be negative, got %d", w.SafetyStock)
		}
	}
	for i, s := range c.Stores {
		if s.SafetyStock < 0 {
			bad(fmt.Sprintf("stores[%d].safety_stock", i), "must not be negative, got %d", s.SafetyStock)
		}
	}
	if c.Transfers.Enabled {
		positive("transfers.lead_time", c.Transfers.LeadTime)
	}
	c.validateAuth(bad)
	c.validateNotify(bad)
	c.validateWebhooks(bad)
	c.validateCarrier(bad)
	c.validateAdapters(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	return errors.Join(errs...)
}

// ReassignOrder lists the stores an order of storeID may move to when that
// store cannot fulfil it, in order of preference: by great-circle distance
// from storeID when reassign.order is "distance" (stores without coordinates
// come last), else in the order of the stores list.
func (c *Config) ReassignOrder(storeID string) []string {
	var from *Store
	others := make([]Store, 0, len(c.Stores))
	for i, s := range c.Stores {
		if s.ID == storeID {
			from = &c.Stores[i]
		} else {
			others = append(others, s)
		}
	}
	if c.Reassign.Order == "distance" && from != nil && from.Lat != nil {
		dist := func(s Store) float64 {
			if s.Lat == nil {
				return math.Inf(1)
			}
			return haversineKm(*from.Lat, *from.Lon, *s.Lat, *s.Lon)
		}
		slices.SortStableFunc(others, func(a, b Store) int { return cmp.Compare(dist(a), dist(b)) })
	}
	ids := make([]string, len(others))
	for i, s := range others {
		ids[i] = s.ID
	}
	return ids
}

// haversineKm is the great-circle distance between two points, in kilometres.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dLat, dLon := rad(lat2-lat1), rad(lon2-lon1)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(lat1))*math.Cos(rad(lat2))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}
