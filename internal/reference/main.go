package reference

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/omni-retail/omni/internal/postgres"
)

// DefaultDatabase is the reference server's own database: never Omni's.
const DefaultDatabase = "postgres://postgres@127.0.0.1:5432/omni_reference?sslmode=disable"

// Usage is the subcommand's line in omni's usage.
const Usage = `  omni reference [-addr 127.0.0.1:9090] -token TOKEN [-database URL] [-fail-first]
                serve the adapters' wire contract (inventory, store tasks, payments, prices,
                carrier) from Omni's built-in ledgers in a database of its own: a stand-in
                for the retailer's systems while integrating`

// Main runs `omni reference` until interrupted.
func Main(args []string) error {
	fs := flag.NewFlagSet("omni reference", flag.ContinueOnError)
	addr := fs.String("addr", envOr("OMNI_REFERENCE_ADDR", "127.0.0.1:9090"), "listen address (OMNI_REFERENCE_ADDR)")
	token := fs.String("token", os.Getenv("OMNI_REFERENCE_TOKEN"), "bearer token every request must carry (OMNI_REFERENCE_TOKEN; required)")
	database := fs.String("database", envOr("OMNI_REFERENCE_DATABASE_URL", DefaultDatabase),
		"PostgreSQL URL of the reference server's own database, created and migrated at start (OMNI_REFERENCE_DATABASE_URL)")
	failFirst := fs.Bool("fail-first", false, "answer the first attempt of every step with 503 and Retry-After: 0")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n%s\n\nFlags:\n", Usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("omni reference: unexpected arguments %q", fs.Args())
	}
	if *token == "" {
		return errors.New("omni reference: -token (OMNI_REFERENCE_TOKEN) is required: the token Omni's adapters send")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	pool, err := postgres.Open(ctx, *database, 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	db := postgres.New(pool)
	db.SetLogger(log)
	if err := Migrate(ctx, db); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: NewWithOptions(db, Options{Token: *token, FailFirst: *failFirst, Log: log}),
		ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "Omni reference server http://%s (database %s, fail-first %t)\n", ln.Addr(), redact(*database), *failFirst)
	fmt.Fprintln(os.Stderr, "Press Ctrl-C to stop.")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable url)"
	}
	return p.Redacted()
}
