// Command omni is Omni's single binary: the embedded default (dev), the API
// (serve), the workers (worker), the migrations (migrate) and the load
// generator (bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only on debug.pprof_addr
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/internal/bench"
)

const usage = `omni — order-fulfilment orchestrator for omnichannel retail

Usage:
  omni dev      run everything in one process: embedded Temporal server and Web UI, worker, HTTP API
  omni serve    run the HTTP API against an external Temporal (OMNI_TEMPORAL_ADDRESS)
  omni worker   run the order workers against an external Temporal
  omni migrate  create the database if needed and apply migrations
  omni bench    push orders through a running Omni and report throughput and latency

Flags (before the command's own):
  -config FILE  YAML file merged over the defaults (config/omni.yaml); OMNI_* variables override both
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "omni:", err)
		os.Exit(1)
	}
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
	cfg, err := config.Load(*file)
	if err != nil {
		return err
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
	case "serve":
		if cfg.Auth.UsesDevCredentials() {
			return fmt.Errorf("omni serve refuses the development credentials of omni.yaml (keys and secrets starting %q): "+
				"configure auth.token_secret and auth.clients in a file (omni -config FILE serve)", config.DevCredentialPrefix)
		}
		parts = app.Parts{API: true}
	case "worker":
		parts = app.Parts{Worker: true}
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
