package storebench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
	"github.com/ticketd/ticketd/store/sqlite"
	"github.com/ticketd/ticketd/web"
)

const due = 1000

var base = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func size(b *testing.B) int {
	n := 20_000
	if v := os.Getenv("TICKETD_BENCH_TICKETS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2*due {
			b.Fatalf("TICKETD_BENCH_TICKETS=%q: want a number of at least %d", v, 2*due)
		}
	}
	return n
}

// words is the generator's vocabulary (each message has 40 of its 50
// words, so "factura" is in about half the messages: a common word);
// "zanahoria" is in one message in a thousand (a rare one).
var words = strings.Fields(`hola cuenta acceso contraseña pedido envío pago tarjeta devolución producto
	cliente gracias problema error aplicación correo dirección teléfono cambio plazo semana ayer hoy mañana
	servicio técnico pantalla móvil ordenador conexión red factura importe cobro precio descuento oferta
	entrega retraso paquete almacén tienda web usuario perfil datos baja alta contrato firma documento`)

// gen holds what the generator decided, for the benchmarks to ask for.
type gen struct {
	n int
}

// dueTickets are the numbers of the tickets due for a reminder.
func (g *gen) dueTickets() []int64 {
	var out []int64
	for i := 0; i < g.n; i++ {
		if g.flowOf(i) == flowDueForReminder {
			out = append(out, int64(i+1))
		}
	}
	return out
}

// recent is how far back tickets are still in play: older tickets are
// closed, as the scheduler would have closed them, except the ones due
// for a reminder. No other pending ticket is due at the pass (base plus a
// day), since pending ones are younger than the reminder delay (23 days).
const recent = 21 * 24 * time.Hour

// flow is what happened to a ticket: which messages it got, in what order,
// and how it ended.
type flow int

const (
	flowNuevo          flow = iota // three customer mails, no answer yet
	flowPendiente                  // customer, follow-up, agent answer
	flowAbierto                    // customer, agent answer, customer reply
	flowClosedByAgent              // as abierto, then the agent closed it
	flowClosedBySweep              // as pendiente, then reminded and closed by the scheduler
	flowDueForReminder             // as pendiente, 22 days ago: the scheduler's due work
)

// flowOf spreads the statuses like a desk: of the last three weeks' tickets
// 10 % nuevo, 20 % pendiente, 10 % abierto, 60 % cerrado; everything older
// is cerrado, but for the 1,000 tickets due for a reminder.
func (g *gen) flowOf(i int) flow {
	switch {
	case i%(g.n/due) == 0:
		return flowDueForReminder
	case g.age(i) > 32*24*time.Hour && i%2 == 1:
		// Answered, reminded 23 days later and closed 30 days later: all
		// of it before base.
		return flowClosedBySweep
	case g.age(i) > recent:
		return flowClosedByAgent
	case i%5 == 1:
		return flowPendiente
	case i%10 == 2:
		return flowAbierto
	case i%10 == 3:
		return flowNuevo
	}
	return flowClosedByAgent
}

// age is how long before base ticket i was opened: one ticket a minute,
// the newest three hours before base, so that its replies are past too.
func (g *gen) age(i int) time.Duration {
	return time.Duration(g.n-i)*time.Minute + 3*time.Hour
}

const b32 = "abcdefghijklmnopqrstuvwxyz234567"

// token is ticket i's reply token, in the form threading issues (24
// characters of lowercase base32).
func token(i int) string {
	out := []byte("tkbench")
	for v, k := uint64(i), 0; k < 17; k++ {
		out = append(out, b32[v%32])
		v /= 32
	}
	return string(out)
}

// randB32 is n random base32 characters (Message-ID parts, address tags).
func randB32(r *rand.Rand, n int) string {
	out := make([]byte, n)
	for k := range out {
		out[k] = b32[r.IntN(32)]
	}
	return string(out)
}

func text(r *rand.Rand, msg int) string {
	var sb strings.Builder
	for j := range 40 {
		if j > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[r.IntN(len(words))])
	}
	if msg%1000 == 7 {
		sb.WriteString(" zanahoria")
	}
	return sb.String()
}

// rows is every generated row, per table, in the order of the table's
// column list (rawCols, ticketCols, ...), for either engine.
type rows struct {
	raw, tickets, messages, events, outbox [][]any
}

const (
	mailbox  = "soporte@example.com"
	ana      = "ana@example.com"
	luis     = "luis@example.com"
	hostname = "tickets.example.com"
)

// ticketWriter builds one ticket's rows the way intake, the scheduler and
// the outbox worker write them (checked against a real ticket's rows:
// customer mail, agent answer, customer reply).
type ticketWriter struct {
	out     *rows
	r       *rand.Rand
	num     int64
	tok     string
	cust    string
	subject string
	refs    []string // Message-IDs of the ticket's customer mails so far
	nextMsg int64
	eventID *int64
	outID   *int64
}

func (w *ticketWriter) event(typ, actor string, at time.Time, detail string) {
	*w.eventID++
	w.out.events = append(w.out.events, []any{*w.eventID, w.num, typ, actor, at, detail})
}

// send queues one outgoing mail, already delivered by the outbox worker.
func (w *ticketWriter) send(kind, rcpt string, ref any, at time.Time, extra string) {
	*w.outID++
	inReplyTo := ""
	if len(w.refs) > 0 {
		inReplyTo = w.refs[len(w.refs)-1]
	}
	params := fmt.Sprintf(`{"lang":"es","in_reply_to":%q,"references":["%s"]%s}`, inReplyTo, strings.Join(w.refs, `","`), extra)
	w.out.outbox = append(w.out.outbox, []any{*w.outID, w.num, kind, rcpt, ref, fmt.Sprintf("tkd.%s.%s@%s", w.tok, randB32(w.r, 10), hostname),
		params, "sent", at, at.Add(30 * time.Second), 1, "", at, "serve@" + hostname})
}

// mail stores one received mail: its raw bytes and its message row.
func (w *ticketWriter) mail(author, from, fromName, rcpt string, at time.Time) int64 {
	id := w.nextMsg
	w.nextMsg++
	dom := "cliente.example"
	if author == "agent" {
		dom = "example.com"
	}
	msgID := fmt.Sprintf("m%d.%s@%s", id, randB32(w.r, 8), dom)
	subject := w.subject
	if len(w.refs) > 0 {
		subject = "Re: [#" + strconv.FormatInt(w.num, 10) + "] " + w.subject
	}
	body := text(w.r, int(id))
	var raw strings.Builder
	fmt.Fprintf(&raw, "Return-Path: <%s>\r\nReceived: from client.example.org by %s with ESMTP; %s\r\nFrom: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n",
		from, hostname, at.Format(time.RFC1123Z), fromName, from, rcpt, subject, at.Format(time.RFC1123Z), msgID)
	if len(w.refs) > 0 {
		fmt.Fprintf(&raw, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", w.refs[len(w.refs)-1], strings.Join(w.refs, "> <"))
	}
	fmt.Fprintf(&raw, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", body)
	data := []byte(raw.String())
	sum := sha256.Sum256(data)
	w.out.raw = append(w.out.raw, []any{id, at, "smtp", from, rcpt, int64(len(data)), hex.EncodeToString(sum[:]), data})
	w.out.messages = append(w.out.messages, []any{id, w.num, id, author, from, fromName, msgID, subject, nil, body,
		false, false, false, false, false, rcpt, "", at, ""})
	if author == "customer" {
		w.refs = append(w.refs, msgID)
	}
	return id
}

// batch generates tickets [from, to). Ticket i has messages 3i+1..3i+3
// (each from a raw mail of the same id); event and outbox ids continue
// from the previous batch's.
func (g *gen) batch(from, to int, eventID, outID *int64) rows {
	r := rand.New(rand.NewPCG(uint64(from), 7))
	var out rows
	for i := from; i < to; i++ {
		num := int64(i + 1)
		fl := g.flowOf(i)
		created := base.Add(-g.age(i))
		if fl == flowDueForReminder {
			// Answered 22 days and an hour before base: the pass, a day
			// after base, is the first one past the reminder delay.
			created = base.Add(-22*24*time.Hour - 3*time.Hour)
		}
		w := &ticketWriter{out: &out, r: r, num: num, tok: token(i), cust: fmt.Sprintf("c%d@cliente.example", i%(g.n/3+1)),
			subject: "Consulta sobre " + words[r.IntN(len(words))], nextMsg: int64(3*i + 1), eventID: eventID, outID: outID}
		custName := "Cliente " + strconv.Itoa(i%(g.n/3+1))
		tokenAddr := "soporte+" + w.tok + "@example.com"
		agentAddr := "soporte+" + w.tok + "-a-" + randB32(r, 16) + "@example.com"
		at := func(h int) time.Time { return created.Add(time.Duration(h) * time.Hour) }

		st, assignee := ticketd.StatusNuevo, ""
		var pendingSince, remindedAt, closedAt any
		updated := created

		// The first mail: a new ticket, acknowledged, announced to both agents.
		m0 := w.mail("customer", w.cust, custName, mailbox, at(0))
		w.event("created", w.cust, at(0), "")
		w.event("message_in", w.cust, at(0), "")
		w.send("ack", w.cust, nil, at(0), "")
		w.send("agent_new", ana, m0, at(0), "")
		w.send("agent_new", luis, m0, at(0), "")
		w.event("delivered", "system", at(0), "ack")
		followUp := func(h int) {
			m := w.mail("customer", w.cust, custName, tokenAddr, at(h))
			w.event("message_in", w.cust, at(h), "threaded by recipient token")
			if assignee == "" {
				w.send("agent_reply", ana, m, at(h), "")
				w.send("agent_reply", luis, m, at(h), "")
			} else {
				w.send("agent_reply", assignee, m, at(h), "")
			}
			if st == ticketd.StatusPendiente {
				w.event("status", w.cust, at(h), "pendiente -> abierto")
				st, pendingSince = ticketd.StatusAbierto, nil
			}
			updated = at(h)
		}
		answer := func(h int) {
			m := w.mail("agent", ana, "Ana Pérez", agentAddr, at(h))
			if assignee == "" {
				assignee = ana
				w.event("assigned", ana, at(h), ana)
				w.send("colleague", luis, nil, at(h), `,"reason":"answered","actor":"ana@example.com"`)
			}
			w.event("status", ana, at(h), string(st)+" -> pendiente")
			w.event("message_out", ana, at(h), "to "+w.cust)
			w.send("relay", w.cust, m, at(h), `,"actor":"ana@example.com"`)
			w.event("delivered", "system", at(h), "relay")
			st, pendingSince, updated = ticketd.StatusPendiente, at(h), at(h)
		}
		switch fl {
		case flowNuevo:
			followUp(1)
			followUp(2)
		case flowPendiente, flowDueForReminder, flowClosedBySweep:
			followUp(1)
			answer(2)
		case flowAbierto, flowClosedByAgent:
			answer(1)
			followUp(2)
		}
		switch fl {
		case flowClosedByAgent:
			end := at(3)
			w.event("status", ana, end, "abierto -> cerrado")
			w.event("closed", ana, end, "desk")
			st, closedAt, updated = ticketd.StatusCerrado, end, end
		case flowClosedBySweep:
			answered := pendingSince.(time.Time)
			remind := answered.Add(23 * 24 * time.Hour)
			end := remind.Add(7 * 24 * time.Hour)
			w.event("reminder", "system", remind, "to "+w.cust+"; closes "+end.Format(time.RFC3339)+" unless they reply")
			w.send("reminder", w.cust, nil, remind, `,"actor":"system","close_at":"`+end.Format(time.RFC3339)+`"`)
			w.event("status", "system", end, "pendiente -> cerrado")
			w.event("closed", "system", end, fmt.Sprintf("no reply since %s (pending 30 days, reminded %s)", answered.Format(time.RFC3339), remind.Format(time.RFC3339)))
			w.send("closed", w.cust, nil, end, `,"actor":"system"`)
			st, pendingSince, remindedAt, closedAt, updated = ticketd.StatusCerrado, nil, nil, end, end
		}
		out.tickets = append(out.tickets, []any{num, w.tok, mailbox, w.cust, custName, w.subject,
			string(st), assignee, "media", created, updated, pendingSince, remindedAt, closedAt})
	}
	return out
}

var (
	rawCols     = []string{"id", "received_at", "source", "envelope_from", "recipients", "size", "sha256", "data"}
	ticketCols  = []string{"number", "token", "mailbox", "requester_addr", "requester_name", "subject", "status", "assignee", "priority", "created_at", "updated_at", "pending_since", "reminder_sent_at", "closed_at"}
	messageCols = []string{"id", "ticket", "raw_id", "author", "from_addr", "from_name", "message_id", "subject", "text", "new_text", "cut_flagged", "internal", "automatic", "unverified", "outsider", "participants", "parse_error", "created_at", "html"}
	eventCols   = []string{"id", "ticket", "type", "actor", "at", "detail"}
	outboxCols  = []string{"id", "ticket", "kind", "rcpt", "message_ref", "message_id", "params", "state", "created_at", "next_at", "attempts", "last_error", "sent_at", "claimed_by"}
)

// tables pairs each table with its columns and its rows in r, in the order
// they are written (a row before the rows that refer to it).
func (r *rows) tables() []table {
	return []table{{"raw_messages", rawCols, r.raw}, {"tickets", ticketCols, r.tickets}, {"messages", messageCols, r.messages},
		{"events", eventCols, r.events}, {"outbox", outboxCols, r.outbox}}
}

type table struct {
	name string
	cols []string
	rows [][]any
}

// chunk is how many tickets the generator writes per round (one
// transaction each on SQLite; one COPY per table on PostgreSQL).
const chunk = 50_000

// generate calls write with every chunk of rows, in order. The next chunk
// is made while the database writes the last one.
func (g *gen) generate(write func(rs rows) error) error {
	next := make(chan rows, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(next)
		var eventID, outID int64
		for from := 0; from < g.n; from += chunk {
			select {
			case next <- g.batch(from, min(from+chunk, g.n), &eventID, &outID):
			case <-stop:
				return
			}
		}
	}()
	for rs := range next {
		if err := write(rs); err != nil {
			return err
		}
	}
	return nil
}

// fillSQLite writes the rows into a database the store created, in large
// transactions of prepared inserts (the store's own triggers, such as the
// desk's UIDs, fire as for the daemon's writes), then fills the search
// index in one step, as the 0004 migration does for a whole database, and
// marks it current as IndexSearch would.
func (g *gen) fillSQLite(b testing.TB, path string) {
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	// synchronous=OFF only while generating: a crash here loses nothing
	// but the benchmark's input. The measurements reopen the file with
	// the store's own settings.
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_cache_size=-262144")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sqlValue := func(v any) any {
		switch v := v.(type) {
		case time.Time:
			return v.UnixMilli()
		case bool:
			if v {
				return 1
			}
			return 0
		}
		return v
	}
	insert := func(tx *sql.Tx, t table) error {
		stmt, err := tx.Prepare(`INSERT INTO ` + t.name + `(` + strings.Join(t.cols, ",") + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?,", len(t.cols)), ",") + `)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		args := make([]any, len(t.cols))
		for _, r := range t.rows {
			for i, v := range r {
				args[i] = sqlValue(v)
			}
			if _, err := stmt.Exec(args...); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		return nil
	}
	// The tables' indexes and the desk's triggers are set aside while the
	// rows go in (their definitions read from the schema, so they come back
	// as the migrations made them): building an index once from all rows
	// is faster than growing it row by row.
	tables := []string{"raw_messages", "tickets", "messages", "events", "outbox"}
	var drops, restores []string
	schema, err := db.Query(`SELECT type, name, sql FROM sqlite_master
		WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN (?, ?, ?, ?, ?)`,
		tables[0], tables[1], tables[2], tables[3], tables[4])
	if err != nil {
		b.Fatal(err)
	}
	for schema.Next() {
		var typ, name, def string
		if err := schema.Scan(&typ, &name, &def); err != nil {
			b.Fatal(err)
		}
		if typ == "trigger" && !strings.HasPrefix(name, "desk_") {
			continue // the search index's: they act on updates and deletes only
		}
		drops, restores = append(drops, "DROP "+strings.ToUpper(typ)+" "+name), append(restores, def)
	}
	if err := schema.Err(); err != nil {
		b.Fatal(err)
	}
	exec := func(sqls ...string) {
		for _, q := range sqls {
			if _, err := db.Exec(q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(drops...)
	t0 := time.Now()
	err = g.generate(func(rs rows) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, t := range rs.tables() {
			if err := insert(tx, t); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("sqlite: rows written in %v", time.Since(t0).Round(time.Second))
	t0 = time.Now()
	// What the desk triggers would have left: one UID per ticket, in the
	// order of the tickets' last change (the 0007 migration's statement).
	exec(`DELETE FROM desk_uids`, `INSERT INTO desk_uids(ticket) SELECT number FROM tickets ORDER BY updated_at, number`)
	exec(restores...)
	b.Logf("sqlite: %d indexes and triggers restored in %v", len(restores), time.Since(t0).Round(time.Second))
	t0 = time.Now()
	if _, err := db.Exec(`INSERT INTO message_fts(message_fts) VALUES ('rebuild');
		UPDATE search_state SET indexed_through = (SELECT MAX(id) FROM messages)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	b.Logf("sqlite: search index built in %v", time.Since(t0).Round(time.Second))
}

// fillPostgres loads a database the store created: its secondary indexes
// and foreign keys are set aside (their definitions read from the
// catalogue, so the schema stays the migrations' own), the rows are copied
// in (COPY), messages through a staging table so that each row is written
// once with its search vector (the indexer's own expression), then the
// indexes are built and the foreign keys checked once, and VACUUM ANALYZE
// does what autovacuum would.
func (g *gen) fillPostgres(b testing.TB, dsn string) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	tables := []string{"raw_messages", "tickets", "messages", "events", "outbox"}
	var indexes, fkeys []string // statements that restore them
	var drops []string
	rs, err := pool.Query(ctx, `SELECT 'DROP INDEX ' || quote_ident(indexname), indexdef FROM pg_indexes
		WHERE schemaname = 'public' AND tablename = ANY($1)
		AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))`, tables)
	if err != nil {
		b.Fatal(err)
	}
	for rs.Next() {
		var drop, def string
		if err := rs.Scan(&drop, &def); err != nil {
			b.Fatal(err)
		}
		drops, indexes = append(drops, drop), append(indexes, def)
	}
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	rs, err = pool.Query(ctx, `SELECT 'ALTER TABLE ' || conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(conname),
		'ALTER TABLE ' || conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY($1)`, tables)
	if err != nil {
		b.Fatal(err)
	}
	for rs.Next() {
		var drop, add string
		if err := rs.Scan(&drop, &add); err != nil {
			b.Fatal(err)
		}
		drops, fkeys = append([]string{drop}, drops...), append(fkeys, add)
	}
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	exec := func(c *pgxpool.Conn, sqls ...string) {
		for _, q := range sqls {
			if _, err := c.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Release()
	t0 := time.Now()
	exec(c, drops...)
	exec(c, `CREATE UNLOGGED TABLE messages_load (LIKE messages INCLUDING DEFAULTS)`)
	err = g.generate(func(rs rows) error {
		for _, t := range rs.tables() {
			name := t.name
			if name == "messages" {
				name = "messages_load"
			}
			if _, err := c.Conn().CopyFrom(ctx, pgx.Identifier{name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("postgres: rows copied in %v", time.Since(t0).Round(time.Second))
	t0 = time.Now()
	cols := strings.Join(messageCols, ", ")
	exec(c, `INSERT INTO messages (`+cols+`, search) SELECT `+cols+`,
		setweight(to_tsvector('ticketd_search', subject), 'A') || to_tsvector('ticketd_search', new_text) FROM messages_load`,
		`DROP TABLE messages_load`)
	b.Logf("postgres: messages moved in with their search vectors in %v", time.Since(t0).Round(time.Second))
	t0 = time.Now()
	exec(c, `SET maintenance_work_mem = '512MB'`)
	exec(c, indexes...)
	exec(c, fkeys...)
	for _, t := range []string{"raw_messages:id", "tickets:number", "messages:id", "events:id", "outbox:id"} {
		name, col, _ := strings.Cut(t, ":")
		exec(c, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), (SELECT MAX(%s) FROM %s))`, name, col, col, name))
	}
	exec(c, `VACUUM ANALYZE`)
	b.Logf("postgres: %d indexes and %d foreign keys built, vacuumed in %v", len(indexes), len(fkeys), time.Since(t0).Round(time.Second))
}

// CacheVar names the environment variable that keeps generated databases
// between runs: a folder that holds sqlite-N.db and a PostgreSQL cluster
// (pg/) with a database scale_N per size N. A run copies the kept
// database and measures the copy, so the kept one stays as generated.
const CacheVar = "TICKETD_BENCH_CACHE"

func BenchmarkScale(b *testing.B) {
	n := size(b)
	cache := os.Getenv(CacheVar)
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(cfgPath, []byte(daemontest.BaseConfig(dir)), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	engines := []struct {
		name string
		open func(b *testing.B, g *gen) ticketd.Store
	}{
		{"sqlite", func(b *testing.B, g *gen) ticketd.Store {
			path := filepath.Join(b.TempDir(), "ticketd.db")
			if cache == "" {
				g.fillSQLite(b, path)
			} else {
				kept := filepath.Join(cache, fmt.Sprintf("sqlite-%d.db", n))
				if _, err := os.Stat(kept); err != nil {
					tmp := kept + ".tmp"
					for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
						os.Remove(f)
					}
					if err := os.MkdirAll(cache, 0o755); err != nil {
						b.Fatal(err)
					}
					g.fillSQLite(b, tmp)
					if err := os.Rename(tmp, kept); err != nil {
						b.Fatal(err)
					}
				}
				t0 := time.Now()
				if err := copyFile(kept, path); err != nil {
					b.Fatal(err)
				}
				b.Logf("sqlite: copied the kept %s in %v", kept, time.Since(t0).Round(time.Second))
			}
			st, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B, g *gen) ticketd.Store {
			opts := pgtest.Options{Durable: true}
			if cache != "" {
				opts.Dir = filepath.Join(cache, "pg")
			}
			srv := pgtest.StartWith(b, opts)
			var dsn string
			if cache == "" {
				dsn = srv.NewDB(b)
				g.fillPostgres(b, dsn)
			} else {
				kept, tmp, run := fmt.Sprintf("scale_%d", n), fmt.Sprintf("scale_%d_tmp", n), fmt.Sprintf("scale_%d_run", n)
				if !hasDatabase(b, srv, kept) {
					admin(b, srv, `DROP DATABASE IF EXISTS `+tmp+` WITH (FORCE)`, `CREATE DATABASE `+tmp)
					g.fillPostgres(b, srv.DSN(tmp))
					admin(b, srv, `ALTER DATABASE `+tmp+` RENAME TO `+kept)
				}
				t0 := time.Now()
				admin(b, srv, `DROP DATABASE IF EXISTS `+run+` WITH (FORCE)`, `CREATE DATABASE `+run+` TEMPLATE `+kept+` STRATEGY FILE_COPY`)
				b.Cleanup(func() { admin(b, srv, `DROP DATABASE IF EXISTS `+run+` WITH (FORCE)`) })
				b.Logf("postgres: copied the kept database %s in %v", kept, time.Since(t0).Round(time.Second))
				dsn = srv.DSN(run)
			}
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, eng := range engines {
		b.Run(fmt.Sprintf("%s/tickets=%d", eng.name, n), func(b *testing.B) {
			g := &gen{n: n}
			start := time.Now()
			st := eng.open(b, g)
			defer st.Close()
			b.Logf("%s: %d tickets, %d messages ready in %v", eng.name, n, 3*n, time.Since(start).Round(time.Second))
			benchStore(b, st, cfg, g)
		})
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// admin runs statements on the maintenance database, without pgtest's
// 30-second bound: copying a database of a million tickets takes longer.
func admin(b *testing.B, srv *pgtest.Server, sqls ...string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range sqls {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
}

func hasDatabase(b *testing.B, srv *pgtest.Server, name string) bool {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	var ok bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		b.Fatal(err)
	}
	return ok
}

func benchStore(b *testing.B, st ticketd.Store, cfg *config.Config, g *gen) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for _, q := range []string{"zanahoria", "factura", "factura cobro", fmt.Sprintf("#%d", g.n/2+345), "c17@cliente.example"} {
		b.Run("search/"+strings.ReplaceAll(q, " ", "+"), func(b *testing.B) {
			timed(b, func() {
				err := st.View(ctx, func(tx ticketd.Tx) error {
					hits, err := tx.Search(ticketd.SearchQuery{Text: q, Limit: 50})
					if err == nil && len(hits) == 0 {
						err = fmt.Errorf("no hit for %q", q)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("list-limit-50", func(b *testing.B) {
		timed(b, func() {
			if err := st.View(ctx, func(tx ticketd.Tx) error {
				tks, err := tx.ListTickets(ticketd.TicketFilter{Limit: 50})
				if err == nil && len(tks) != 50 {
					err = fmt.Errorf("listed %d", len(tks))
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
	h := web.New(st, func() *config.Config { return cfg }, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return base })
	b.Run("status-page-get", func(b *testing.B) {
		timed(b, func() {
			req := httptest.NewRequest("GET", "/t/"+token(r.IntN(g.n)), nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("GET %s: %d", req.URL.Path, w.Code)
			}
		})
	})
	s := &lifecycle.Scheduler{Store: st, Config: func() *config.Config { return cfg }, Now: func() time.Time { return base.Add(24 * time.Hour) },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	dueTickets := g.dueTickets()
	b.Run(fmt.Sprintf("scheduler-pass-%d-due", due), func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			done, err := s.Pass(ctx)
			lat = append(lat, time.Since(t0))
			if err != nil || len(done) != due {
				b.Fatalf("pass did %d (%v), want %d", len(done), err, due)
			}
			b.StopTimer()
			// Un-remind the due tickets for the next pass.
			if err := st.Update(ctx, func(tx ticketd.Tx) error {
				for _, n := range dueTickets {
					tk, err := tx.TicketByNumber(n)
					if err != nil {
						return err
					}
					tk.ReminderSentAt = time.Time{}
					if err := tx.SaveTicket(tk); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		report(b, lat)
	})
}

// timed runs fn b.N times and reports p50 and p99 besides the mean.
func timed(b *testing.B, fn func()) {
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		fn()
		lat = append(lat, time.Since(t0))
	}
	report(b, lat)
}

func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
