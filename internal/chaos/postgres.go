package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBin is where Debian's PostgreSQL 15 keeps its server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// cluster is a private PostgreSQL cluster of the chaos run: its own data
// directory, port and socket directory, so restarting it disturbs nobody
// else. PostgreSQL refuses to run as root: as root, every server program runs
// as the postgres user (runuser) on a directory that user owns.
type cluster struct {
	dir   string // owns data/, the socket and the log
	port  int
	asPG  bool // run the server programs through runuser -u postgres
	owner *user.User
}

// startCluster creates and starts a cluster on a free loopback port.
func startCluster(ctx context.Context, logf func(string, ...any)) (*cluster, error) {
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 server programs not found in %s (apt-get install postgresql-15): %w", pgBin, err)
	}
	dir, err := os.MkdirTemp("", "omni-chaos-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, asPG: os.Geteuid() == 0}
	if c.asPG {
		if c.owner, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user to run PostgreSQL: %w", err)
		}
		// The postgres user must reach the directory: open it up and hand it over.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(c.owner.Uid)
		gid, _ := strconv.Atoi(c.owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	if out, err := c.run(ctx, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	logf("chaos: private PostgreSQL 15 on 127.0.0.1:%d (%s)", c.port, c.dir)
	return c, nil
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// url is the connection URL of database db in the cluster.
func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// run runs one of PostgreSQL's programs, as the postgres user when root.
func (c *cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	path := filepath.Join(pgBin, prog)
	var cmd *exec.Cmd
	if c.asPG {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// start starts the server and waits until it takes connections.
func (c *cluster) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c max_connections=200",
		c.port, c.dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// stop stops the server: "immediate" is a crash (recovery from the WAL at
// the next start), "fast" a clean shutdown that ends every session.
func (c *cluster) stop(ctx context.Context, mode string) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w\n%s", mode, err, out)
	}
	return nil
}

// createDatabase creates database db.
func (c *cluster) createDatabase(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{db}.Sanitize())
	return err
}

// dump writes database db as SQL to the file to, for a failed run's post-mortem.
func (c *cluster) dump(to, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp := filepath.Join(c.dir, "dump.sql") // a file the server's user may write
	if _, err := c.run(ctx, "pg_dump", "-h", c.dir, "-p", strconv.Itoa(c.port), "-U", "postgres", "-f", tmp, db); err != nil {
		return
	}
	if b, err := os.ReadFile(tmp); err == nil {
		_ = os.WriteFile(to, b, 0o644)
	}
}

// destroy stops the server and removes its directory; the log is kept when
// keepLog names a file to copy it to.
func (c *cluster) destroy(keepLog string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = c.stop(ctx, "fast")
	if keepLog != "" {
		if b, err := os.ReadFile(filepath.Join(c.dir, "server.log")); err == nil {
			_ = os.WriteFile(keepLog, b, 0o644)
		}
	}
	_ = os.RemoveAll(c.dir)
}

// freePort is a free TCP port on loopback.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
