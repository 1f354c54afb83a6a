package storebench

import (
	"context"
	"database/sql"
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
	n          int
	dueTickets []int64
}

func (g *gen) ticket(i int) (status ticketd.Status, pending *time.Time) {
	t := base
	switch {
	case i%(g.n/due) == 0:
		t = base.Add(-30 * 24 * time.Hour)
		return ticketd.StatusPendiente, &t
	case i%5 == 1:
		return ticketd.StatusPendiente, &t
	case i%10 == 2:
		return ticketd.StatusAbierto, nil
	case i%10 == 3:
		return ticketd.StatusNuevo, nil
	}
	return ticketd.StatusCerrado, nil
}

// token is ticket i's reply token, in the form threading issues (24
// characters of base32).
func token(i int) string {
	const b32 = "abcdefghijklmnopqrstuvwxyz234567"
	out := []byte("tkbench")
	for v, k := uint64(i), 0; k < 17; k++ {
		out = append(out, b32[v%32])
		v /= 32
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

// rows produces every generated row in order, for either engine.
type rows struct {
	tickets, messages, events, outbox [][]any
}

// batch generates tickets [from, to).
func (g *gen) batch(from, to int) rows {
	r := rand.New(rand.NewPCG(uint64(from), 7))
	var out rows
	for i := from; i < to; i++ {
		num := int64(i + 1)
		st, pending := g.ticket(i)
		if i%(g.n/due) == 0 {
			g.dueTickets = append(g.dueTickets, num)
		}
		created := base.Add(-time.Duration(g.n-i) * time.Minute)
		var p any
		if pending != nil {
			p = *pending
		}
		cust := fmt.Sprintf("c%d@cliente.example", i%(g.n/3+1))
		subject := "Consulta sobre " + words[r.IntN(len(words))]
		out.tickets = append(out.tickets, []any{num, token(i), "soporte@example.com", cust, "Cliente", subject,
			string(st), "ana@example.com", "media", created, created, p, nil, nil})
		for m := range 3 {
			id := int64(3*i + m + 1)
			author, from := "customer", cust
			if m == 1 {
				author, from = "agent", "ana@example.com"
			}
			out.messages = append(out.messages, []any{id, num, nil, author, from, "", fmt.Sprintf("m%d@cliente.example", id), subject, nil,
				text(r, int(id)), false, false, false, false, "soporte@example.com", "", created.Add(time.Duration(m) * time.Hour)})
		}
		out.events = append(out.events, []any{num, num, "created", cust, created, ""})
		out.outbox = append(out.outbox, []any{num, num, "ack", cust, nil, fmt.Sprintf("a%d@tickets.example.com", num), "{}", "sent", created, created, 1, "", created})
	}
	return out
}

var (
	ticketCols  = []string{"number", "token", "mailbox", "requester_addr", "requester_name", "subject", "status", "assignee", "priority", "created_at", "updated_at", "pending_since", "reminder_sent_at", "closed_at"}
	messageCols = []string{"id", "ticket", "raw_id", "author", "from_addr", "from_name", "message_id", "subject", "text", "new_text", "cut_flagged", "internal", "automatic", "unverified", "participants", "parse_error", "created_at"}
	eventCols   = []string{"id", "ticket", "type", "actor", "at", "detail"}
	outboxCols  = []string{"id", "ticket", "kind", "rcpt", "message_ref", "message_id", "params", "state", "created_at", "next_at", "attempts", "last_error", "sent_at"}
)

const chunk = 10_000

// fillSQLite writes the rows straight into the database file (one
// transaction per chunk), then builds the search index as the daemon would.
func (g *gen) fillSQLite(b *testing.B, path string) {
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	toMS := func(v any) any {
		if t, ok := v.(time.Time); ok {
			return t.UnixMilli()
		}
		if bo, ok := v.(bool); ok {
			if bo {
				return 1
			}
			return 0
		}
		return v
	}
	insert := func(tx *sql.Tx, table string, cols []string, rows [][]any) {
		stmt, err := tx.Prepare(`INSERT INTO ` + table + `(` + strings.Join(cols, ",") + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + `)`)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		for _, r := range rows {
			args := make([]any, len(r))
			for i, v := range r {
				args[i] = toMS(v)
			}
			if _, err := stmt.Exec(args...); err != nil {
				b.Fatal(err)
			}
		}
	}
	for from := 0; from < g.n; from += chunk {
		rs := g.batch(from, min(from+chunk, g.n))
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		insert(tx, "tickets", ticketCols, rs.tickets)
		insert(tx, "messages", messageCols, rs.messages)
		insert(tx, "events", eventCols, rs.events)
		insert(tx, "outbox", outboxCols, rs.outbox)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO message_search(message_search) VALUES ('rebuild'); UPDATE search_state SET indexed_through = (SELECT MAX(id) FROM messages)`); err != nil {
		b.Fatal(err)
	}
}

// fillPostgres copies the rows in (COPY), then indexes every message in
// one statement, the indexer's own expression.
func (g *gen) fillPostgres(b *testing.B, dsn string) {
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		for from := 0; from < g.n; from += chunk {
			rs := g.batch(from, min(from+chunk, g.n))
			for _, c := range []struct {
				table string
				cols  []string
				rows  [][]any
			}{{"tickets", ticketCols, rs.tickets}, {"messages", messageCols, rs.messages}, {"events", eventCols, rs.events}, {"outbox", outboxCols, rs.outbox}} {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
					return fmt.Errorf("%s: %w", c.table, err)
				}
			}
		}
		for _, t := range []string{"tickets:number", "messages:id", "events:id", "outbox:id"} {
			name, col, _ := strings.Cut(t, ":")
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), (SELECT MAX(%s) FROM %s))`, name, col, col, name)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET search = setweight(to_tsvector('ticketd_search', subject), 'A') || to_tsvector('ticketd_search', new_text)`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkScale(b *testing.B) {
	n := size(b)
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
			g.fillSQLite(b, path)
			st, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B, g *gen) ticketd.Store {
			dsn := pgtest.StartWith(b, pgtest.Options{Durable: true}).NewDB(b)
			g.fillPostgres(b, dsn)
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
			b.Logf("%s: generated %d tickets, %d messages in %v", eng.name, n, 3*n, time.Since(start).Round(time.Second))
			benchStore(b, st, cfg, g)
		})
	}
}

func benchStore(b *testing.B, st ticketd.Store, cfg *config.Config, g *gen) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for _, q := range []string{"zanahoria", "factura", "factura cobro", "#12345", "c17@cliente.example"} {
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
				for _, n := range g.dueTickets {
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
