// Package config loads Omni's configuration: the defaults in omni.yaml (embedded,
// so the binary runs with no file beside it), then an optional file, then OMNI_*
// environment variables, and validates the result with errors that name the key.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
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
	Stores   []Store  `mapstructure:"stores"`
	Log      Log      `mapstructure:"log"`
}

// HTTP configures the API listener.
type HTTP struct {
	Addr           string        `mapstructure:"addr"`
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
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
	Address      string `mapstructure:"address"`
	Namespace    string `mapstructure:"namespace"`
	TaskQueue    string `mapstructure:"task_queue"`
	EmbeddedAddr string `mapstructure:"embedded_addr"`
	UIAddr       string `mapstructure:"ui_addr"`
	TLS          TLS    `mapstructure:"tls"`
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
	Deadline time.Duration `mapstructure:"deadline"`
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
		errs = append(errs, fmt.Errorf("config: %s (OMNI_%s): %s", key,
			strings.ToUpper(strings.ReplaceAll(key, ".", "_")), fmt.Sprintf(format, args...)))
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
	if c.Temporal.TaskQueue == "" {
		bad("temporal.task_queue", "must not be empty")
	}
	hostPort("temporal.embedded_addr", c.Temporal.EmbeddedAddr, false)
	hostPort("temporal.ui_addr", c.Temporal.UIAddr, true)
	if (c.Temporal.TLS.CertFile == "") != (c.Temporal.TLS.KeyFile == "") {
		bad("temporal.tls.cert_file", "cert_file and key_file go together")
	}
	positive("pick.deadline", c.Pick.Deadline)
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
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	return errors.Join(errs...)
}
