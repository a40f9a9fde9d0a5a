package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookupAttempts(t *testing.T, db *DB, kind, value string) int {
	t.Helper()
	var n int
	err := db.pool.QueryRow(context.Background(), "select coalesce(max(attempts), 0) from lookup_attempts where kind = $1 and value = $2",
		kind, value).Scan(&n)
	require.NoError(t, err)
	return n
}

func TestSpendLookup(t *testing.T) {
	t.Parallel()
	db := freshDB(t, "lookups")
	ctx := context.Background()
	addr := func(v string) LookupBudget {
		return LookupBudget{Kind: "address", Value: v, Limit: 2, Window: time.Minute}
	}
	number := LookupBudget{Kind: "number", Value: "100001", Limit: 3, Window: 15 * time.Minute}

	for i := range 2 {
		wait, err := db.SpendLookup(ctx, addr("192.0.2.1"), number)
		require.NoError(t, err)
		require.Zero(t, wait, "attempt %d is within every budget", i+1)
	}
	wait, err := db.SpendLookup(ctx, addr("192.0.2.1"), number)
	require.NoError(t, err)
	require.True(t, wait > 58*time.Second && wait <= time.Minute, "the address waits for its window: %s", wait)
	require.Equal(t, 2, lookupAttempts(t, db, "number", "100001"),
		"an address over its budget does not spend the number's")

	wait, err = db.SpendLookup(ctx, addr("192.0.2.2"), number)
	require.NoError(t, err)
	require.Zero(t, wait, "the number's third attempt, from another address")
	wait, err = db.SpendLookup(ctx, addr("192.0.2.3"), number)
	require.NoError(t, err)
	require.True(t, wait > 14*time.Minute && wait <= 15*time.Minute, "the number waits for its window: %s", wait)

	_, err = db.SpendLookup(ctx, addr("192.0.2.4"), number, number)
	require.Error(t, err, "a kind counted twice in one attempt")
}

// Concurrent attempts on one budget, from any number of processes, never
// spend more than it holds.
func TestSpendLookupConcurrently(t *testing.T) {
	t.Parallel()
	db := freshDB(t, "lookups_race")
	const attempts, limit = 40, 5
	var wg sync.WaitGroup
	admitted := make(chan bool, attempts)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := db.SpendLookup(context.Background(),
				LookupBudget{Kind: "address", Value: fmt.Sprintf("198.51.100.%d", i), Limit: 10, Window: time.Minute},
				LookupBudget{Kind: "number", Value: "100002", Limit: limit, Window: time.Minute},
				LookupBudget{Kind: "email", Value: "ada@example.com", Limit: 1000, Window: time.Minute})
			require.NoError(t, err)
			admitted <- wait == 0
		}()
	}
	wg.Wait()
	close(admitted)
	n := 0
	for ok := range admitted {
		if ok {
			n++
		}
	}
	require.Equal(t, limit, n, "admitted attempts")
	require.Equal(t, attempts, lookupAttempts(t, db, "number", "100002"))
	require.Equal(t, attempts, lookupAttempts(t, db, "email", "ada@example.com"))
}

// A window that has ended starts afresh, and lapsed budgets are forgotten.
func TestLookupWindowLapses(t *testing.T) {
	t.Parallel()
	db := freshDB(t, "lookups_lapse")
	ctx := context.Background()
	short := LookupBudget{Kind: "number", Value: "100003", Limit: 1, Window: 100 * time.Millisecond}
	long := LookupBudget{Kind: "address", Value: "192.0.2.9", Limit: 10, Window: time.Hour}
	wait, err := db.SpendLookup(ctx, long, short)
	require.NoError(t, err)
	require.Zero(t, wait)
	wait, err = db.SpendLookup(ctx, long, short)
	require.NoError(t, err)
	require.Equal(t, time.Second, wait, "a wait is at least a second")

	time.Sleep(200 * time.Millisecond)
	n, err := db.ForgetLapsedLookups(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the number's window ended, the address's did not")
	require.Equal(t, 2, lookupAttempts(t, db, "address", "192.0.2.9"))
	wait, err = db.SpendLookup(ctx, long, short)
	require.NoError(t, err)
	require.Zero(t, wait, "a new window")
	require.Equal(t, 1, lookupAttempts(t, db, "number", "100003"))
}
