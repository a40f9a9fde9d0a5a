package devtemporal

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// DatabaseFileName is the SQLite file the server keeps under Options.DataDir.
const DatabaseFileName = "temporal.db"

// clusterName and clusterID identify the single embedded cluster. The ID is fixed so
// that a database file written by one run is recognised by the next.
const (
	clusterName = "active"
	clusterID   = "5d0a8f4e-6c1b-4c57-9b7e-0a6f3c1d2e4b"
)

// Options configures an embedded server.
type Options struct {
	// DataDir holds the SQLite database. Empty keeps everything in memory (tests).
	DataDir string
	// FrontendAddr is the gRPC address clients and workers dial, host:port.
	// Port 0 picks a free port.
	FrontendAddr string
	// UIAddr is where the Temporal Web UI listens, host:port. Empty disables it.
	UIAddr string
	// Namespace is created in the store before the server starts.
	Namespace string
	// Logger receives the server's logs at LogLevel and above.
	Logger   *slog.Logger
	LogLevel slog.Level
	// DynamicConfig overrides or adds to the defaults in DefaultDynamicConfig.
	DynamicConfig map[string]any
}

// DefaultDynamicConfig holds the dynamic-config values every embedded server starts
// with. The first block is the Temporal CLI dev server's; the second lifts the
// history queues' poll rate, which otherwise adds 40-50 ms to every workflow step
// on an unloaded server; the third keeps each task queue in one partition.
func DefaultDynamicConfig() map[string]any {
	return map[string]any{
		"system.forceSearchAttributesCacheRefreshOnRead": true,
		"system.forceNexusEndpointRefreshOnRead":         true,
		"frontend.persistenceMaxQPS":                     10000,
		"history.persistenceMaxQPS":                      45000,
		"history.hostLevelCacheMaxSize":                  2048,
		"frontend.namespaceRPS.visibility":               100,

		"history.transferProcessorMaxPollRPS":   1000,
		"history.timerProcessorMaxPollRPS":      1000,
		"history.visibilityProcessorMaxPollRPS": 1000,

		// An activity scheduled by a workflow task comes back to the worker in
		// the answer to that task, with no trip through matching (the SDK asks
		// for it when the worker has room): an order's durable steps (its
		// handover's first step, its sagas) start at once.
		"system.enableActivityEagerExecution": true,

		// One partition per task queue: with a single worker process, tasks in
		// partitions its pollers are not waiting on sit until forwarded.
		"matching.numTaskqueueReadPartitions":  1,
		"matching.numTaskqueueWritePartitions": 1,
	}
}

// Server is a running embedded Temporal server.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	logLevel     *slog.LevelVar
	frontendAddr string
	uiAddr       string
}

// Start builds and starts the server. It returns once the frontend serves clients.
func Start(opts Options) (*Server, error) {
	if opts.Namespace == "" {
		return nil, errors.New("devtemporal: namespace is required")
	}
	if opts.Logger == nil {
		return nil, errors.New("devtemporal: logger is required")
	}
	host, port, err := splitAddr(opts.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: frontend address: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	httpPort, err := freePort(host)
	if err != nil {
		return nil, err
	}

	sqlConf, err := sqlConfig(opts.DataDir, opts.Namespace)
	if err != nil {
		return nil, err
	}

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(port)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
				ClusterID:              clusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{
		primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService,
	} {
		var s config.Service
		s.RPC.BindOnIP = host
		if svc == primitives.FrontendService {
			s.RPC.GRPCPort = port
			s.RPC.HTTPPort = httpPort
		} else if s.RPC.GRPCPort, err = freePort(host); err != nil {
			return nil, err
		}
		conf.Services[string(svc)] = s
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(s.RPC.GRPCPort)))
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(port))

	level := &slog.LevelVar{}
	level.Set(opts.LogLevel)
	logger := slogLogger{log: opts.Logger, level: level}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: claim mapper: %w", err)
	}

	dc := dynamicconfig.StaticClient{}
	for k, v := range DefaultDynamicConfig() {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	for k, v := range opts.DynamicConfig {
		dc[dynamicconfig.MakeKey(k)] = v
	}

	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: new server: %w", err)
	}

	s := &Server{server: srv, logLevel: level, frontendAddr: conf.PublicClient.HostPort}
	if opts.UIAddr != "" {
		uiHost, uiPort, err := splitAddr(opts.UIAddr)
		if err != nil {
			return nil, fmt.Errorf("devtemporal: UI address: %w", err)
		}
		if uiPort == 0 {
			if uiPort, err = freePort(uiHost); err != nil {
				return nil, err
			}
		}
		s.uiAddr = net.JoinHostPort(uiHost, strconv.Itoa(uiPort))
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true, // no internet: the UI would otherwise fetch release news
		}))
		go func() {
			if err := s.ui.Start(); err != nil {
				opts.Logger.Error("temporal web UI stopped", "error", err)
			}
		}()
	}
	if err := srv.Start(); err != nil {
		if s.ui != nil {
			s.ui.Stop()
		}
		return nil, fmt.Errorf("devtemporal: start: %w", err)
	}
	return s, nil
}

// FrontendAddr is the address clients dial.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is where the Web UI listens, or "" when it is disabled.
func (s *Server) UIAddr() string { return s.uiAddr }

// Stop shuts the server down. It first raises the log level: a stopping server
// logs a warning for every poller it cuts off, which says nothing useful.
func (s *Server) Stop() {
	s.logLevel.Set(slog.LevelError + 4)
	if s.ui != nil {
		s.ui.Stop()
	}
	if err := s.server.Stop(); err != nil {
		_ = err // the process is exiting; nothing useful can be done with it
	}
}

func sqlConfig(dataDir, namespace string) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if dataDir == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("omni-%d", time.Now().UnixNano())
	} else {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("devtemporal: data dir: %w", err)
		}
		// One connection: with more the server logs SQLITE_BUSY and halves its
		// throughput. WAL with synchronous=normal keeps data on disk at nearly
		// in-memory speed.
		conf.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "5000",
		}
		conf.DatabaseName = filepath.Join(dataDir, DatabaseFileName)
		if _, err := os.Stat(conf.DatabaseName); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devtemporal: set up schema: %w", err)
			}
		}
	}
	conf.MaxConns = 1
	conf.MaxIdleConns = 1
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("devtemporal: create namespace: %w", err)
	}
	return conf, nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1" // the server wants an IP
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// freePort asks the kernel for a free port. The listener is closed at once; the
// port stays free long enough for the server that is about to bind it.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("devtemporal: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
