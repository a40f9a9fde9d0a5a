// Command omni is Omni's single binary: the embedded default (dev), the API
// (serve), the workers (worker), the migrations (migrate) and the load
// generator (bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only on debug.pprof_addr
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/internal/bench"
	"github.com/omni-retail/omni/internal/reference"
)

const usage = `omni — order-fulfilment orchestrator for omnichannel retail

Usage:
  omni dev      run everything in one process: embedded Temporal server and Web UI, worker, HTTP API
  omni serve    run the HTTP API against an external Temporal (OMNI_TEMPORAL_ADDRESS)
  omni worker   run the order workers against an external Temporal
  omni migrate  create the database if needed and apply migrations
  omni credentials FILE
                write FILE (once: an existing file is kept) with a random key for every
                role and store and a random token secret, for serve and worker (-config FILE)
  omni bench    push orders through a running Omni and report throughput and latency
  omni reference
                serve the adapters' wire contract (ADAPTERS.md) from built-in ledgers in a
                database of its own: a stand-in for the retailer's systems (-help for flags)

Flags (before the command's own):
  -config FILE  YAML file merged over the defaults (config/omni.yaml); OMNI_* variables override both
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "omni:", err)
		os.Exit(1)
	}
}

// refuseDevCredentials stops a production command that would run with any
// development credential of omni.yaml: the API would accept its well-known
// keys, and a worker would sign customer links with its well-known secret.
func refuseDevCredentials(cmd string, cfg *config.Config) error {
	keys := cfg.DevCredentials()
	if len(keys) == 0 {
		return nil
	}
	return fmt.Errorf("omni %s refuses development credentials (values starting %q) in %s: "+
		"configure real ones in a file (omni -config FILE %s; `omni credentials` writes one) or OMNI_* variables",
		cmd, config.DevCredentialPrefix, strings.Join(keys, ", "), cmd)
}

// writeCredentials writes a file of fresh random credentials where none is
// yet, so that a deployment (deployments/compose.yaml) starts with real ones
// and keeps them across restarts.
func writeCredentials(args []string, cfg *config.Config) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: omni credentials FILE")
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		fmt.Fprintf(os.Stderr, "%s exists: kept as it is\n", args[0])
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(config.ProductionCredentials(cfg.Locations())); err != nil {
		f.Close()
		os.Remove(args[0])
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote fresh credentials to %s (mode 0600): start omni with -config %s\n", args[0], args[0])
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("omni", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	file := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("a command is required")
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "bench" {
		return bench.Main(rest)
	}
	if cmd == "reference" {
		return reference.Main(rest)
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	if cmd == "credentials" {
		return writeCredentials(rest, cfg)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var parts app.Parts
	switch cmd {
	case "dev":
		parts = app.Parts{Embedded: true, API: true, Worker: true}
		// A developer's webhook receiver listens on localhost.
		cfg.Webhooks.AllowPrivateNetworksUnlessSet()
	case "serve", "worker":
		if err := refuseDevCredentials(cmd, cfg); err != nil {
			return err
		}
		parts = app.Parts{API: cmd == "serve", Worker: cmd == "worker"}
	case "migrate":
		if err := app.Migrate(ctx, cfg); err != nil {
			return err
		}
		log.Info("migrations applied")
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
	if addr := cfg.Debug.PprofAddr; addr != "" {
		go func() {
			// http.DefaultServeMux carries net/http/pprof's handlers, and nothing else.
			srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
			log.Info("profiler listening", "addr", addr)
			if err := srv.ListenAndServe(); err != nil {
				log.Error("profiler", "error", err)
			}
		}()
	}
	a, err := app.Start(ctx, cfg, parts, log)
	if err != nil {
		return err
	}
	if addr := a.APIAddr(); addr != "" {
		fmt.Fprintf(os.Stderr, "Omni API      http://%s\n", addr)
	}
	fmt.Fprintf(os.Stderr, "Temporal      %s (namespace %s)\n", a.TemporalAddr(), cfg.Temporal.Namespace)
	if ui := a.TemporalUIAddr(); ui != "" {
		fmt.Fprintf(os.Stderr, "Temporal UI   http://%s\n", ui)
	}
	if parts.Embedded {
		fmt.Fprintf(os.Stderr, "Data          %s (embedded Temporal), %s\n", cfg.Data.Dir, redacted(cfg.Database.URL))
	}
	fmt.Fprintln(os.Stderr, "Press Ctrl-C to stop.")
	<-ctx.Done()
	log.Info("stopping")
	a.Stop()
	log.Info("stopped")
	return nil
}
