package storebench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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

// The generator must write what the daemon writes, or the benchmarks
// measure a store no desk has. This test takes one ticket through the real
// daemon (a customer's mail, an agent's answer, the customer's reply, each
// over SMTP) and compares its rows, table by table, with the generator's
// ticket of the same course: the same messages from the same kinds of
// address, the same history, the same outgoing mail, raw bytes kept.
func TestGeneratorWritesWhatTheDaemonWrites(t *testing.T) {
	e := daemontest.StartStore(t, "", config.Store{Driver: config.DriverSQLite})
	e.MustSend("carla@cliente.example", []string{mailbox}, "From: Carla <carla@cliente.example>\r\nTo: soporte@example.com\r\n"+
		"Subject: No puedo entrar\r\nMessage-ID: <a1@cliente.example>\r\n\r\nHola, no puedo entrar en mi cuenta.\r\n")
	agentAddr := replyTo(t, e.Flush(), ana)
	e.MustSend(ana, []string{agentAddr}, "From: Ana <ana@example.com>\r\nTo: "+agentAddr+"\r\n"+
		"Subject: Re: [#1] No puedo entrar\r\nMessage-ID: <a2@example.com>\r\n\r\nYa está restablecida.\r\n")
	custAddr := replyTo(t, e.Flush(), "carla@cliente.example")
	e.MustSend("carla@cliente.example", []string{custAddr}, "From: Carla <carla@cliente.example>\r\nTo: "+custAddr+"\r\n"+
		"Subject: Re: No puedo entrar\r\nMessage-ID: <a3@cliente.example>\r\n\r\nSigue sin funcionar.\r\n")
	e.Flush()
	daemon := ticketShape(t, filepath.Join(e.Dir, "data", "ticketd.db"), 1, "carla@cliente.example")

	g := &gen{n: 10 * due}
	i := 0
	for i < g.n && g.flowOf(i) != flowAbierto {
		i++
	}
	if i == g.n {
		t.Fatal("the generator made no ticket that was answered and replied to")
	}
	path := filepath.Join(t.TempDir(), "gen.db")
	g.fillSQLite(t, path)
	generated := ticketShape(t, path, int64(i+1), fmt.Sprintf("c%d@cliente.example", i%(g.n/3+1)))

	for _, table := range []string{"ticket", "messages", "raw", "events", "outbox"} {
		if daemon[table] != generated[table] {
			t.Errorf("%s: the generator writes\n%s\nthe daemon wrote\n%s", table, generated[table], daemon[table])
		}
	}
}

// replyTo returns the reply address of the mail sent to rcpt.
func replyTo(t *testing.T, mails []*daemontest.Mail, rcpt string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)\nReply-To:.{0,200}?(soporte\+[a-z0-9-]+@example\.com)`)
	for _, m := range mails {
		if strings.EqualFold(strings.Join(m.Rcpts, ","), rcpt) {
			if sub := re.FindSubmatch(m.Data); sub != nil {
				return string(sub[1])
			}
		}
	}
	t.Fatalf("no mail with a Reply-To to %s among %d", rcpt, len(mails))
	return ""
}

// ticketShape reads one ticket's rows from a SQLite database, with what
// differs between any two tickets (addresses, tokens, ids, times, texts)
// replaced by what it is.
func ticketShape(t *testing.T, path string, num int64, cust string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tok string
	if err := db.QueryRow(`SELECT token FROM tickets WHERE number = ?`, num).Scan(&tok); err != nil {
		t.Fatal(err)
	}
	norm := strings.NewReplacer(cust, "CUSTOMER", "soporte+"+tok+"@", "TOKEN-ADDRESS@", "soporte+"+tok+"-a-", "AGENT-ADDRESS-",
		"tkd."+tok+".", "tkd.TOKEN.")
	agentTag := regexp.MustCompile(`AGENT-ADDRESS-[a-z2-7]+@`)
	msgIndex := map[int64]int{}
	read := func(q string, cols int, show func(v []any) string) string {
		rows, err := db.Query(q, num)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			v := make([]any, cols)
			p := make([]any, cols)
			for k := range v {
				p[k] = &v[k]
			}
			if err := rows.Scan(p...); err != nil {
				t.Fatal(err)
			}
			for k := range v {
				if b, ok := v[k].([]byte); ok {
					v[k] = string(b)
				}
				if s, ok := v[k].(string); ok {
					v[k] = agentTag.ReplaceAllString(norm.Replace(s), "AGENT-ADDRESS@")
				}
			}
			out = append(out, show(v))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	isNil := func(v any) string {
		if v == nil {
			return "NULL"
		}
		return "set"
	}
	shape := map[string]string{}
	shape["ticket"] = read(`SELECT mailbox, requester_addr, status, assignee, priority, pending_since, reminder_sent_at, closed_at,
		updated_at >= created_at FROM tickets WHERE number = ?`, 9, func(v []any) string {
		return fmt.Sprintf("%v %v %v %v %v pending_since=%s reminded=%s closed=%s updated-after-created=%v",
			v[0], v[1], v[2], v[3], v[4], isNil(v[5]), isNil(v[6]), isNil(v[7]), v[8])
	})
	shape["messages"] = read(`SELECT id, author, from_addr, participants, text IS NULL, new_text <> '', message_id <> '', raw_id IS NOT NULL,
		cut_flagged, internal, automatic, unverified, outsider, parse_error, html FROM messages WHERE ticket = ? ORDER BY id`, 15, func(v []any) string {
		msgIndex[v[0].(int64)] = len(msgIndex) + 1
		return fmt.Sprint(v[1:]...)
	})
	shape["raw"] = read(`SELECT r.source, r.envelope_from, r.recipients, r.size = length(r.data), length(r.sha256)
		FROM raw_messages r JOIN messages m ON m.raw_id = r.id WHERE m.ticket = ? ORDER BY m.id`, 5, func(v []any) string { return fmt.Sprint(v...) })
	shape["events"] = read(`SELECT type, actor, detail FROM events WHERE ticket = ? ORDER BY id`, 3, func(v []any) string { return fmt.Sprint(v...) })
	shape["outbox"] = read(`SELECT kind, rcpt, message_ref, state, attempts, last_error, sent_at IS NOT NULL, message_id,
		params FROM outbox WHERE ticket = ? ORDER BY id`, 9, func(v []any) string {
		ref := "none"
		if id, ok := v[2].(int64); ok {
			ref = fmt.Sprintf("message %d", msgIndex[id])
		}
		msgID := regexp.MustCompile(`^tkd\.TOKEN\.[a-z2-7]+@tickets\.example\.com$`).MatchString(v[7].(string))
		params := regexp.MustCompile(`"[^"@]+@[^"]+"`).ReplaceAllString(v[8].(string), `"ADDRESS"`)
		return fmt.Sprint(v[0], " ", v[1], " ", ref, " ", v[3], " ", v[4], " ", v[5], " ", v[6], " message-id-of-the-ticket=", msgID, " ", params)
	})
	return shape
}

// A generated store is one the engines' own code serves as a daemon's:
// the schema is the migrations' (indexes and triggers back after the bulk
// load), the search index is current, statuses are spread as generated,
// the scheduler finds exactly the tickets due, the status page shows a
// ticket, and search finds the rare word in each message that has it.
func TestGeneratedStoreServes(t *testing.T) {
	ctx := context.Background()
	var srv *pgtest.Server
	engines := []struct {
		name string
		// fill generates g's tickets into a new database (nil: only the
		// migrations run) and opens it; schema lists that database's
		// tables, indexes, triggers and constraints.
		fill func(t *testing.T, g *gen) (st ticketd.Store, schema func() []string)
	}{
		{"sqlite", func(t *testing.T, g *gen) (ticketd.Store, func() []string) {
			path := filepath.Join(t.TempDir(), "gen.db")
			if g != nil {
				g.fillSQLite(t, path)
			}
			st, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st, func() []string {
				db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				rows, err := db.Query(`SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
				return out
			}
		}},
		{"postgres", func(t *testing.T, g *gen) (ticketd.Store, func() []string) {
			if srv == nil {
				srv = pgtest.Start(t) // by the engine's test, so it lasts as long
			}
			dsn := srv.NewDB(t)
			if g != nil {
				g.fillPostgres(t, dsn)
			}
			st, err := postgres.Open(ctx, dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st, func() []string {
				rows, err := st.Pool().Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
					UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
					FROM pg_constraint WHERE connamespace = 'public'::regnamespace
					ORDER BY 1`)
				if err != nil {
					t.Fatal(err)
				}
				out, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
		}},
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			g := &gen{n: 10 * due}
			st, schema := eng.fill(t, g)
			defer st.Close()

			if got, want := schema(), migratedSchema(t, eng.fill); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("schema after the bulk load:\n%s\nwant the migrations' own:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			if n, err := st.(interface {
				IndexSearch(context.Context) (int, error)
			}).IndexSearch(ctx); err != nil || n != 0 {
				t.Errorf("IndexSearch after generation indexed %d (%v), want 0: the generator indexes everything", n, err)
			}

			want := map[ticketd.Status]int{}
			for i := range g.n {
				switch g.flowOf(i) {
				case flowNuevo:
					want[ticketd.StatusNuevo]++
				case flowPendiente, flowDueForReminder:
					want[ticketd.StatusPendiente]++
				case flowAbierto:
					want[ticketd.StatusAbierto]++
				default:
					want[ticketd.StatusCerrado]++
				}
			}
			err := st.View(ctx, func(tx ticketd.Tx) error {
				for _, s := range []ticketd.Status{ticketd.StatusNuevo, ticketd.StatusPendiente, ticketd.StatusAbierto, ticketd.StatusCerrado} {
					tks, err := tx.ListTickets(ticketd.TicketFilter{Status: s})
					if err != nil {
						return err
					}
					if len(tks) != want[s] || want[s] == 0 {
						t.Errorf("%s: %d tickets, want %d", s, len(tks), want[s])
					}
				}
				hits, err := tx.Search(ticketd.SearchQuery{Text: "zanahoria"})
				if err != nil {
					return err
				}
				// Message ids 7, 1007, ...: one each in 3n/1000 tickets.
				if len(hits) != 3*g.n/1000 {
					t.Errorf("search zanahoria: %d hits, want %d", len(hits), 3*g.n/1000)
				}
				for _, h := range hits {
					if !strings.Contains(h.Snippet, "[zanahoria]") {
						t.Errorf("search zanahoria: ticket %d's snippet %q", h.Ticket.Number, h.Snippet)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			cfgPath := filepath.Join(t.TempDir(), "ticketd.toml")
			if err := os.WriteFile(cfgPath, []byte(daemontest.BaseConfig(t.TempDir())), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			s := &lifecycle.Scheduler{Store: st, Config: func() *config.Config { return cfg }, Now: func() time.Time { return base.Add(24 * time.Hour) },
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			plan, err := s.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			due := map[int64]bool{}
			for _, n := range g.dueTickets() {
				due[n] = true
			}
			if len(plan) != len(due) {
				t.Errorf("the scheduler plans %d actions, want the %d reminders due", len(plan), len(due))
			}
			for _, a := range plan {
				if a.Kind != lifecycle.Remind || !due[a.Ticket] {
					t.Errorf("planned %s for #%d, which is not due", a.Kind, a.Ticket)
				}
			}

			h := web.New(st, func() *config.Config { return cfg }, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return base })
			var tk *ticketd.Ticket
			var msgs []*ticketd.Message
			if err := st.View(ctx, func(tx ticketd.Tx) error {
				var err error
				if tk, err = tx.TicketByToken(token(1234)); err != nil {
					return err
				}
				msgs, err = tx.Messages(tk.Number)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/t/"+tk.Token, nil))
			if w.Code != 200 || len(msgs) != 3 || !strings.Contains(w.Body.String(), strings.Fields(msgs[2].NewText)[5]) {
				t.Errorf("GET /t/%s: %d, %d messages; the page does not show the last one", tk.Token, w.Code, len(msgs))
			}
		})
	}
}

// migratedSchema is the schema of a store that only ran its migrations.
func migratedSchema(t *testing.T, fill func(*testing.T, *gen) (ticketd.Store, func() []string)) []string {
	t.Helper()
	var out []string
	t.Run("migrated-only", func(t *testing.T) {
		st, schema := fill(t, nil)
		defer st.Close()
		out = schema()
	})
	return out
}
