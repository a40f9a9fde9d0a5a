package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omni-retail/omni/internal/postgres"
)

// The customer view at scale (issue 14, docs/benchmarks.md): `omni bench
// -seed-orders N -seed-customers M -database URL` fills a THROWAWAY
// database's read model with N collect orders of M customers, generated in
// PostgreSQL (generate_series, INSERT … SELECT) rather than through the
// projection, so that a million orders take minutes: orders (doc in the
// shape of order.Order), order_events (the timeline the analytics read),
// customer_orders and customers (as the projection keeps them, guest orders
// joined by their email's guest id), order_analytics (computed from the
// events by the same statement as migration 015's backfill) and a few
// interactions. It then reads a sample back through the real postgres
// functions. `omni bench -customer-reads 20s -url … -database URL` measures
// GET /v1/customers (phone typed with spaces, a name fragment, an email) and
// GET /v1/customers/{id} against a running Omni on that database.

// isCustomerMode reports whether args ask for the customer seeding or reads.
func isCustomerMode(args []string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "seed-") || strings.HasPrefix(a, "customer-") {
			return true
		}
	}
	return false
}

func customerMain(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	dbURL := fs.String("database", "", "PostgreSQL URL of a THROWAWAY database (created and migrated when missing)")
	nOrders := fs.Int("seed-orders", 0, "orders to generate into the read model (0: no seeding)")
	nCustomers := fs.Int("seed-customers", 0, "customers the orders are spread over (one in five a guest, no customer id)")
	reads := fs.Duration("customer-reads", 0, "length of each customer read phase against -url (0 skips)")
	base := fs.String("url", "http://127.0.0.1:8080", "Omni API base URL, for -customer-reads")
	c := fs.Int("concurrency", 8, "concurrent clients of each read phase")
	check := fs.Bool("customer-check", false, "read a sample of the seeded read model back through the real postgres functions")
	explain := fs.Bool("customer-explain", false, "print the plans (EXPLAIN ANALYZE, through auto_explain) of the real "+
		"customer search, customer view and analytics queries, as the postgres package runs them (superuser)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("-database is required")
	}
	ctx := context.Background()
	pool, err := postgres.Open(ctx, *dbURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *nOrders > 0 {
		if *nCustomers <= 0 || *nCustomers > *nOrders {
			return errors.New("-seed-customers must be between 1 and -seed-orders")
		}
		if err := seedCustomers(ctx, pool, *nOrders, *nCustomers); err != nil {
			return err
		}
	}
	if *check {
		if err := checkSeed(ctx, pool); err != nil {
			return err
		}
	}
	if *explain {
		if err := explainCustomerQueries(ctx, *dbURL); err != nil {
			return err
		}
	}
	if *reads > 0 {
		return customerReads(ctx, pool, strings.TrimRight(*base, "/"), *c, *reads)
	}
	return nil
}

var seedNames = struct{ first, last string }{
	first: `{Olivia,Amelia,Isla,Ava,Mia,Ivy,Lily,Isabella,Rosie,Sophia,Grace,Freya,Willow,Florence,Emily,Ella,Poppy,` +
		`Evie,Elsie,Charlotte,Noah,Oliver,George,Arthur,Muhammad,Leo,Harry,Oscar,Archie,Henry,Theodore,Freddie,Jack,` +
		`Charlie,Theo,Alfie,Jacob,Thomas,Finley,Arlo}`,
	last: `{Smith,Jones,Taylor,Brown,Williams,Wilson,Johnson,Davies,Patel,Robinson,Wright,Thompson,Evans,Walker,White,` +
		`Roberts,Green,Hall,Thomas,Clarke,Jackson,Wood,Harris,Edwards,Turner,Martin,Cooper,Hill,Ward,Hughes,Moore,` +
		`Clark,King,Harrison,Lewis,Baker,Lee,Allen,Morris,Khan,Scott,Watson,Davis,Parker,James,Bennett,Young,Phillips,` +
		`Richardson,Mitchell,Bailey,Carter,Cook,Singh,Shaw,Bell,Collins,Morgan,Kelly,Begum,Miller,Cox,Hussain,Marshall,` +
		`Simpson,Price,Anderson,Adams,Wilkinson,Ali,Ahmed,Foster,Ellis,Murphy,Chapman,Mason,Gray,Richards,Webb,Griffiths,` +
		`Hunt,Palmer,Campbell,Holmes,Mills,Rogers,Barnes,Knight,Matthews,Barker,Powell,Stevens,Kaur,Fisher,Butler,Dixon,` +
		`Russell,Harvey,Pearson,Graham,Ashworth,Fairbairn,Quigley,Okonkwo}`,
}

// seedSQL generates the read model. $1 orders, $2 customers. Orders are
// spread evenly over the year before the seeding, order i of customer
// i mod $2; those older than ten days have ended (collected, some returned,
// expired or cancelled), the newer are in every open state.
func seedSQL() []string {
	return []string{
		`set timezone = 'UTC'`,
		// No triggers (the analytics trigger, run per event, would take an
		// hour at this size: order_analytics is computed once below as
		// migration 015 backfills it) and no foreign-key checks.
		`set session_replication_role = replica`,
		`insert into stores (id, name) select format('store-%s', lpad(i::text, 3, '0')), format('Store %s', i)
			from generate_series(1, 500) i on conflict do nothing`,
		`create temp table seed_cu as
			select c, f || ' ' || l as name,
				lower(f || '.' || l || c::text || '@example.com') as email,
				'+4479' || lpad(c::text, 8, '0') as phone,
				c % 5 = 0 as guest,
				format('store-%s', lpad((1 + (hashint4(c) & 2147483647) % 500)::text, 3, '0')) as store_id
			from (select c, ('` + seedNames.first + `'::text[])[1 + (hashint4(c + 17) & 2147483647) % 40] as f,
					('` + seedNames.last + `'::text[])[1 + (hashint4(c + 31) & 2147483647) % 104] as l
				from generate_series(0, $2::int - 1) c) n`,
		`alter table seed_cu add column cid text`,
		`update seed_cu set cid = case when guest then 'guest-' || left(encode(sha256(convert_to(email, 'UTF8')), 'hex'), 16)
			else 'cust-' || lpad(c::text, 7, '0') end`,
		`create unique index on seed_cu (c)`,
		`create temp table seed_o as
			select i, i % $2::int as c, 'ord-seed-' || lpad(i::text, 7, '0') as id, (10000001 + i)::text as number,
				(array['web','app','store','contact_centre'])[1 + (hashint4(i + 5) & 3)] as channel,
				now() - interval '1 hour' - interval '365 days' + i * (interval '365 days' / $1::int) as at,
				(hashint4(i * 7 + 1) & 2147483647) % 1000 as r,
				1999 + (hashint4(i + 3) & 2147483647) % 60 * 100 as p1, 999 + (hashint4(i + 9) & 2147483647) % 30 * 100 as p2
			from generate_series(0, $1::int - 1) i`,
		`alter table seed_o add column status text, add column ready_at timestamptz, add column done_at timestamptz`,
		`update seed_o set status = case
				when at < now() - interval '10 days' then case when r < 43 then 'returned' when r < 860 then 'collected'
					when r < 950 then 'expired' when r < 980 then 'cancelled' else 'collected' end
				else case when r < 150 then 'placed' when r < 400 then 'awaiting_pick' when r < 750 then 'ready_for_collection'
					when r < 980 then 'collected' else 'cancelled' end end,
			ready_at = at + (r % 300 + 10) * interval '1 min'`,
		`update seed_o set ready_at = null where status in ('placed', 'awaiting_pick', 'cancelled')`,
		`update seed_o set done_at = case status when 'collected' then at + interval '1 day' when 'returned' then at + interval '5 days'
			when 'expired' then at + interval '7 days' when 'cancelled' then at + interval '1 hour' else coalesce(ready_at, at + interval '2 s') end`,
		`update seed_o set done_at = least(done_at, now())`,
		`insert into orders (id, number, status, store_id, customer_email, doc, version, workflow_started, created_at, updated_at, placed_by, locations)
			select o.id, o.number, o.status, cu.store_id, cu.email, json_build_object(
				'id', o.id, 'number', o.number, 'status', o.status, 'channel', o.channel,
				'customer', case when cu.guest then json_build_object('email', cu.email, 'phone', cu.phone, 'name', cu.name)
					else json_build_object('id', cu.cid, 'email', cu.email, 'phone', cu.phone, 'name', cu.name) end,
				'currency', 'GBP',
				'fulfilment', json_build_object('type', 'collect', 'store_id', cu.store_id),
				'lines', json_build_array(
					json_build_object('sku', 'TEE-' || (o.p1 / 100), 'quantity', 1, 'unit_price', o.p1, 'name', 'Organic cotton tee',
						'variant', 'Navy, M', 'picked', case when o.ready_at is null then 0 else 1 end,
						'collected', case when o.status in ('collected', 'returned') then 1 else 0 end, 'refused', 0,
						'returned', case when o.status = 'returned' then 1 else 0 end,
						'refunded', case when o.status = 'returned' then o.p1 else 0 end),
					json_build_object('sku', 'MUG-' || (o.p2 / 100), 'quantity', 1, 'unit_price', o.p2, 'name', 'Stoneware mug',
						'picked', case when o.ready_at is null then 0 else 1 end,
						'collected', case when o.status in ('collected', 'returned') then 1 else 0 end, 'refused', 0,
						'returned', 0, 'refunded', 0)),
				'fulfilments', json_build_array(json_build_object('id', o.id || '-f1', 'type', 'collect', 'location_id', cu.store_id,
					'lines', json_build_array(
						json_build_object('sku', 'TEE-' || (o.p1 / 100), 'quantity', 1, 'picked', case when o.ready_at is null then 0 else 1 end),
						json_build_object('sku', 'MUG-' || (o.p2 / 100), 'quantity', 1, 'picked', case when o.ready_at is null then 0 else 1 end)),
					'status', case when o.status = 'cancelled' then 'cancelled' when o.ready_at is null then 'awaiting_pick' else 'picked' end,
					'created_at', o.at)),
				'pickup', json_build_object('store_id', cu.store_id, 'ready_at', o.ready_at, 'expires_at', o.ready_at + interval '7 days'),
				'payments', json_build_array(json_build_object('method', 'card', 'reference', 'psp-' || o.id, 'amount', o.p1 + o.p2,
					'captured', case when o.status in ('collected', 'returned') then o.p1 + o.p2 else 0 end,
					'voided', case when o.status in ('expired', 'cancelled') then o.p1 + o.p2 else 0 end,
					'refunded', case when o.status = 'returned' then o.p1 else 0 end)),
				'returns', '[]'::json, 'exchanges', '[]'::json,
				'version', 10, 'created_at', o.at, 'updated_at', o.done_at),
				10, true, o.at, o.done_at, 'checkout', array[cu.store_id]
			from seed_o o join seed_cu cu using (c)`,
		`insert into order_events (order_id, seq, type, at, channel, actor, data)
			select o.id, 1, 'placed', o.at, o.channel, 'checkout',
				jsonb_build_object('total', o.p1 + o.p2, 'currency', 'GBP', 'fulfilment', 'collect', 'store_id', cu.store_id)
				from seed_o o join seed_cu cu using (c)
			union all select o.id, 2, 'pick_requested', o.at + interval '2 s', 'system', 'omni', jsonb_build_object('store_id', cu.store_id)
				from seed_o o join seed_cu cu using (c) where o.status <> 'placed'
			union all select o.id, 3, 'pick_overdue', o.at + interval '2 h', 'system', 'omni', jsonb_build_object('store_id', cu.store_id)
				from seed_o o join seed_cu cu using (c) where o.r % 100 < 3 and o.status <> 'placed'
			union all select o.id, 4, 'ready_for_collection', o.ready_at, 'store_console', 'staff', jsonb_build_object('store_id', cu.store_id)
				from seed_o o join seed_cu cu using (c) where o.ready_at is not null
			union all select o.id, 5, 'customer_notified', o.ready_at + interval '1 s', 'system', 'omni', '{"template":"ready"}'
				from seed_o o where o.ready_at is not null
			union all select o.id, 6, o.status, o.done_at, case when o.status = 'expired' then 'system' else 'store_console' end,
				case when o.status = 'expired' then 'omni' else 'staff' end, jsonb_build_object('store_id', cu.store_id)
				from seed_o o join seed_cu cu using (c) where o.status in ('collected', 'expired', 'cancelled')
			union all select o.id, 6, 'collected', o.at + interval '1 day', 'store_console', 'staff', jsonb_build_object('store_id', cu.store_id, 'complete', true)
				from seed_o o join seed_cu cu using (c) where o.status = 'returned'
			union all select o.id, 7, 'returned', o.done_at, 'store_console', 'staff', jsonb_build_object('store_id', cu.store_id, 'refund', o.p1)
				from seed_o o join seed_cu cu using (c) where o.status = 'returned'
			union all select o.id, 8, 'payment_refunded', o.done_at + interval '1 s', 'system', 'omni', jsonb_build_object('amount', o.p1, 'currency', 'GBP')
				from seed_o o where o.status = 'returned'`,
		`insert into customer_orders (order_id, customer_id, placed_by, email, phone, name, created_at)
			select o.id, cu.cid, 'checkout', cu.email, cu.phone, cu.name, o.at from seed_o o join seed_cu cu using (c)`,
		// As migration 014's backfill (and the projection's upsert) compute it.
		`select customers_rebuild()`,
		// As migration 015's backfill (and its trigger) compute it.
		`select order_analytics_rebuild()`,
		// One customer in ten called the contact centre about their latest order.
		`insert into customer_interactions (id, customer_id, order_id, channel, summary, outcome, actor, actor_channel, at)
			select 'int-seed-' || cu.c, cu.cid, o.id, 'phone', 'Asked when order ' || o.number || ' will be ready', 'told the pickup window',
				'dev-support', 'contact_centre', o.at + interval '3 h'
			from seed_cu cu join seed_o o on o.c = cu.c and o.i = cu.c + ($1::int / $2::int - 1) * $2::int
			where cu.c % 10 = 0`,
		`set session_replication_role = origin`,
		`select setval('order_number_seq', 10000001 + $1::int)`,
	}
}

func seedCustomers(ctx context.Context, pool *pgxpool.Pool, nOrders, nCustomers int) error {
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	var existing int64
	if err := pool.QueryRow(ctx, "select count(*) from orders").Scan(&existing); err != nil {
		return err
	}
	if existing > 0 {
		return fmt.Errorf("the database already has %d orders: seed a throwaway database", existing)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	start := time.Now()
	for _, q := range seedSQL() {
		t := time.Now()
		var args []any
		if strings.Contains(q, "$1") || strings.Contains(q, "$2") {
			args = []any{nOrders, nCustomers}
		}
		// Statements without $n are sent simply (no prepare), the others with both parameters.
		if strings.Contains(q, "$1") && !strings.Contains(q, "$2") {
			args = []any{nOrders}
		} else if strings.Contains(q, "$2") && !strings.Contains(q, "$1") {
			args = []any{nCustomers}
			q = strings.ReplaceAll(q, "$2", "$1")
		}
		tag, err := conn.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("seed: %w\n%s", err, q)
		}
		fmt.Printf("seed: %-60.60s %10d rows %8.1f s\n", strings.Join(strings.Fields(q), " "), tag.RowsAffected(), time.Since(t).Seconds())
	}
	for _, t := range []string{"orders", "order_events", "customer_orders", "customers", "order_analytics", "customer_interactions"} {
		if _, err := conn.Exec(ctx, "vacuum analyze "+t); err != nil {
			return err
		}
	}
	fmt.Printf("seed: %d orders of %d customers in %.1f s (vacuum analyze included)\n", nOrders, nCustomers, time.Since(start).Seconds())
	return checkSeed(ctx, pool)
}

// checkSeed reads a sample back through the real postgres functions.
func checkSeed(ctx context.Context, pool *pgxpool.Pool) error {
	db := postgres.New(pool)
	var id, email, phone, name, guestID, guestEmail string
	if err := pool.QueryRow(ctx, `select id, email, phone, name from customers where id = 'cust-0000001'`).Scan(&id, &email, &phone, &name); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := pool.QueryRow(ctx, `select id, email from customers where id like 'guest-%' limit 1`).Scan(&guestID, &guestEmail); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if want := postgres.GuestCustomerID(guestEmail); want != guestID {
		return fmt.Errorf("check: guest %s has id %s, the projection would give %s", guestEmail, guestID, want)
	}
	for _, q := range []postgres.CustomerQuery{{Email: strings.ToUpper(email)}, {Phone: phone}, {Q: name}, {Q: "+" + phone[1:], QPhone: phone}} {
		found, err := db.SearchCustomers(ctx, q, 20)
		if err != nil {
			return fmt.Errorf("check: search %+v: %w", q, err)
		}
		hit := false
		for _, c := range found {
			// A whole name is shared by several customers (one in about 4,000
			// names): the search finds the 20 who ordered last, all of that name.
			hit = hit || c.ID == id || (q.Q == name && len(found) == 20 && c.Name == name)
		}
		if !hit {
			return fmt.Errorf("check: search %+v did not find %s (found %d)", q, id, len(found))
		}
	}
	for _, cid := range []string{id, guestID} {
		c, err := db.Customer(ctx, cid)
		if err != nil {
			return fmt.Errorf("check: customer %s: %w", cid, err)
		}
		orders, err := db.CustomerOrders(ctx, cid, "", 100)
		if err != nil {
			return fmt.Errorf("check: orders of %s: %w", cid, err)
		}
		if len(orders) != c.OrderCount || orders[0].Total == 0 || orders[0].StoreID == "" {
			return fmt.Errorf("check: %s: %d orders read, %d counted, first %+v", cid, len(orders), c.OrderCount, orders[0])
		}
		entries, _, err := db.CustomerTimeline(ctx, cid, nil, 50)
		if err != nil || len(entries) == 0 {
			return fmt.Errorf("check: timeline of %s: %d entries, %v", cid, len(entries), err)
		}
		fmt.Printf("check: %s %q: %d orders (%d open), newest %s %s at %s, %d timeline entries on the first page\n",
			cid, c.Name, len(orders), c.OpenOrderCount, orders[0].Number, orders[0].Status, orders[0].StoreID, len(entries))
	}
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, -1, 0)
	t := time.Now()
	rows, err := db.StoreAnalytics(ctx, from, to)
	if err != nil || len(rows) == 0 {
		return fmt.Errorf("check: analytics: %d rows, %v", len(rows), err)
	}
	var orders int64
	for _, r := range rows {
		orders += r.Orders
	}
	fmt.Printf("check: StoreAnalytics %s..%s: %d rows, %d orders, %.0f ms\n", from.Format("2006-01-02"), to.Format("2006-01-02"),
		len(rows), orders, float64(time.Since(t).Microseconds())/1000)
	return nil
}

// customerReads measures the contact centre's reads against a running Omni:
// each phase has c clients asking as fast as they are answered for d.
func customerReads(ctx context.Context, pool *pgxpool.Pool, base string, c int, d time.Duration) error {
	type cust struct{ id, email, phone, name string }
	rows, err := pool.Query(ctx, `select id, email, phone, name from customers tablesample system (2) limit 2000`)
	if err != nil {
		return err
	}
	var cs []cust
	for rows.Next() {
		var x cust
		if err := rows.Scan(&x.id, &x.email, &x.phone, &x.name); err != nil {
			return err
		}
		cs = append(cs, x)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(cs) == 0 {
		return errors.New("no customers: seed first")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	get := func(path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer dev-support-key")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b := make([]byte, 32<<10)
		n := 0
		for {
			k, err := resp.Body.Read(b)
			n += k
			if err != nil {
				break
			}
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if n < 20 {
			return fmt.Errorf("GET %s: %d bytes", path, n)
		}
		return nil
	}
	spaced := func(p string) string { // +447900012345 → +44 7900 012345
		return p[:3] + " " + p[3:7] + " " + p[7:]
	}
	phases := []struct {
		name string
		path func(x cust) string
	}{
		{"GET /v1/customers?phone=<+44 79xx xxxxxx>", func(x cust) string { return "/v1/customers?phone=" + url.QueryEscape(spaced(x.phone)) }},
		{"GET /v1/customers?q=<surname, lower case>", func(x cust) string {
			_, last, _ := strings.Cut(x.name, " ")
			return "/v1/customers?q=" + url.QueryEscape(strings.ToLower(last))
		}},
		{"GET /v1/customers?q=<whole name>", func(x cust) string { return "/v1/customers?q=" + url.QueryEscape(x.name) }},
		{"GET /v1/customers?email=<upper case>", func(x cust) string { return "/v1/customers?email=" + url.QueryEscape(strings.ToUpper(x.email)) }},
		{"GET /v1/customers/{id}", func(x cust) string { return "/v1/customers/" + url.PathEscape(x.id) }},
	}
	fmt.Printf("customer reads: %d customers sampled, %d clients, %s a phase\n", len(cs), c, d)
	for _, ph := range phases {
		var s sample
		var errs atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		start := time.Now()
		for w := 0; w < c; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					x := cs[rand.IntN(len(cs))]
					t := time.Now()
					if err := get(ph.path(x)); err != nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					s.add(time.Since(t))
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		fmt.Printf("%-44s %7d req  %7.0f req/s  p50 %-9s p90 %-9s p99 %-9s max %-9s errors %d\n", ph.name, len(s.d),
			float64(len(s.d))/el.Seconds(), ms(s.pct(0.5)), ms(s.pct(0.9)), ms(s.pct(0.99)), ms(s.pct(1)), errs.Load())
		if e := firstErr.Load(); e != nil {
			fmt.Printf("  first error: %s\n", e)
		}
	}
	return nil
}

// explainCustomerQueries runs the real queries once each on a connection
// with auto_explain sending every plan (EXPLAIN ANALYZE, BUFFERS) back to the
// client, and prints them.
func explainCustomerQueries(ctx context.Context, dbURL string) error {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "plan:") {
			fmt.Println(n.Message)
		}
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on;
			set auto_explain.log_buffers = on; set auto_explain.log_timing = on; set client_min_messages = log`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	var id, email, phone, name string
	if err := pool.QueryRow(ctx, `select id, email, phone, name from customers where id = 'cust-0012346'`).Scan(&id, &email, &phone, &name); err != nil {
		return err
	}
	db := postgres.New(pool)
	_, last, _ := strings.Cut(name, " ")
	for _, q := range []postgres.CustomerQuery{{Phone: phone}, {Q: strings.ToLower(last)}, {Q: name}, {Email: email}} {
		fmt.Printf("\n==== SearchCustomers %+v\n", q)
		if _, err := db.SearchCustomers(ctx, q, 20); err != nil {
			return err
		}
	}
	fmt.Printf("\n==== the customer view of %s: Customer, CustomerOrders, CustomerInteractions\n", id)
	if _, err := db.Customer(ctx, id); err != nil {
		return err
	}
	if _, err := db.CustomerOrders(ctx, id, "", 100); err != nil {
		return err
	}
	if _, err := db.CustomerInteractions(ctx, id, 50); err != nil {
		return err
	}
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, -1, 0)
	fmt.Printf("\n==== StoreAnalytics %s .. %s\n", from.Format(time.RFC3339), to.Format(time.RFC3339))
	_, err = db.StoreAnalytics(ctx, from, to)
	return err
}
