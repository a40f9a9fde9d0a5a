package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freshDB is a fresh, migrated database of its own, named after prefix and
// dropped when the test ends, with one store, "store-001".
func freshDB(t *testing.T, prefix string) *DB {
	t.Helper()
	base := os.Getenv("OMNI_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pu, err := url.Parse(base)
	require.NoError(t, err)
	pu.Path = fmt.Sprintf("/omni_%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano())
	dbURL := pu.String()
	ctx := context.Background()
	pool, err := Open(ctx, dbURL, 8)
	require.NoError(t, err, "this test needs PostgreSQL at %s (start it with: "+
		"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", base)
	t.Cleanup(func() {
		pool.Close()
		_ = DropDatabase(context.Background(), dbURL)
	})
	require.NoError(t, Migrate(ctx, pool))
	db := New(pool)
	require.NoError(t, db.UpsertStores(ctx, []Store{{ID: "store-001", Name: "One"}, {ID: "store-002", Name: "Two"}}))
	return db
}

// logBuffer collects a logger's lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// errorLines are the lines logged at level ERROR.
func (l *logBuffer) errorLines() []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// capture gives db a logger writing into a new logBuffer.
func capture(db *DB) *logBuffer {
	l := &logBuffer{}
	db.SetLogger(slog.New(slog.NewTextHandler(l, nil)))
	return l
}
